import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  LiveThrottle,
  changeText,
  layoutTimeline,
  liveLabel,
  timelineTooltip,
  VERDICT_LEGEND,
  findChain,
  flameTitle,
  formatAmount,
  formatShare,
  frameLabel,
  frameLocation,
  frameTooltip,
  framesAtLine,
  layoutFlame,
  mapUris,
  matchedShare,
  nodeKey,
  parseFromWebview,
  searchMatches,
  type FlameNode,
  type Timeline,
} from '../src/lib/flame';

const HELPERS = 'file:///w/helpers.py';
const MAIN = 'file:///w/main.py';

const node = (name: string, total: number, self: number, children: FlameNode[] = [], extra: Partial<FlameNode> = {}): FlameNode => ({
  name,
  total,
  self,
  children,
  uri: null,
  line: null,
  module: null,
  ...extra,
});

/** The call_paths fixture's shape: main calls heavy_batch (3x) and light_batch, both call score. */
function tree(): FlameNode {
  const heavy = node('heavy_batch', 60, 0, [node('score', 60, 60, [], { uri: HELPERS, line: 6 })], { uri: MAIN, line: 10 });
  const light = node('light_batch', 20, 0, [node('score', 20, 20, [], { uri: HELPERS, line: 6 })], { uri: MAIN, line: 6 });
  const sorted = node('sorted', 19.9, 19.9, [], { module: 'libpython3.11.so' });
  const main = node('main', 99.9, 0, [heavy, light, sorted], { uri: MAIN, line: 20 });
  return node('all', 100, 0, [node('<module>', 100, 0.1, [main], { uri: MAIN, line: 27 })]);
}

const byName = (rects: ReturnType<typeof layoutFlame>['rects'], name: string) => rects.filter((r) => r.node.name === name);

test('layout: the root spans the width, children share their parent by totals, costliest first from the left', () => {
  const { rects, depth, focusId } = layoutFlame(tree());
  assert.equal(focusId, nodeKey(tree()));
  assert.equal(depth, 5);
  const [root] = byName(rects, 'all');
  assert.deepEqual([root.x, root.width, root.depth, root.share], [0, 1, 0, 1]);
  const [heavy] = byName(rects, 'heavy_batch');
  const [light] = byName(rects, 'light_batch');
  assert.equal(heavy.depth, 3);
  assert.ok(Math.abs(heavy.width - 0.6) < 1e-9 && Math.abs(light.width - 0.2) < 1e-9);
  assert.ok(Math.abs(light.x - 0.6) < 1e-9, 'light_batch right of heavy_batch');
  const scores = byName(rects, 'score');
  assert.equal(scores.length, 2);
  assert.ok(Math.abs(scores[1].x - light.x) < 1e-9, 'a child starts at its parent');
  assert.ok(rects.every((r) => r.x >= 0 && r.x + r.width <= 1 + 1e-9));
  assert.ok(rects.every((r) => !r.ancestor));
});

test('layout: ids are stable paths, distinct for the same function in two places', () => {
  const { rects } = layoutFlame(tree());
  assert.equal(new Set(rects.map((r) => r.id)).size, rects.length);
  const [a, b] = byName(rects, 'score').map((r) => r.id);
  assert.notEqual(a, b);
  assert.deepEqual(findChain(tree(), a)?.map((n) => n.name), ['all', '<module>', 'main', 'heavy_batch', 'score']);
  assert.equal(findChain(tree(), 'nope'), undefined);
});

test('layout: zooming into a frame gives it the whole width, its ancestors full-width rows above, shares unchanged', () => {
  const whole = layoutFlame(tree());
  const light = byName(whole.rects, 'light_batch')[0];
  const zoomed = layoutFlame(tree(), light.id);
  assert.equal(zoomed.focusId, light.id);
  const ancestors = zoomed.rects.filter((r) => r.ancestor).map((r) => [r.node.name, r.depth, r.width]);
  assert.deepEqual(ancestors, [['all', 0, 1], ['<module>', 1, 1], ['main', 2, 1]]);
  const [focus] = byName(zoomed.rects, 'light_batch');
  assert.deepEqual([focus.x, focus.width, focus.depth], [0, 1, 3]);
  assert.ok(Math.abs(focus.share - 0.2) < 1e-9, 'the label keeps the share of the run');
  const [score] = byName(zoomed.rects, 'score');
  assert.equal(score.width, 1);
  assert.equal(byName(zoomed.rects, 'heavy_batch').length, 0, 'siblings are not drawn');
  assert.equal(zoomed.depth, 5);
});

test('layout: a zoom target missing from a new profile falls back to the root', () => {
  const { focusId, rects } = layoutFlame(tree(), `${nodeKey(tree())}\ngone@`);
  assert.equal(focusId, nodeKey(tree()));
  assert.equal(rects[0].node.name, 'all');
});

test('layout: frames narrower than the minimum width are left out with their children', () => {
  const root = node('all', 1000, 0, [node('big', 999, 0, [node('leaf', 999, 999)]), node('tiny', 1, 0, [node('under', 1, 1)])]);
  const names = layoutFlame(root, undefined, 0.01).rects.map((r) => r.node.name);
  assert.deepEqual(names, ['all', 'big', 'leaf']);
});

test('layout: heat follows self cost relative to the largest; zero totals do not give NaN', () => {
  const { rects } = layoutFlame(tree());
  assert.equal(byName(rects, 'score')[0].heat, 5);
  assert.equal(byName(rects, 'main')[0].heat, 1);
  const empty = layoutFlame(node('all', 0, 0, [node('f', 0, 0)]));
  assert.ok(empty.rects.every((r) => Number.isFinite(r.x) && Number.isFinite(r.width) && Number.isFinite(r.share)));
});

test('a deep chain (recursion) lays out without overflowing the stack', () => {
  let leaf = node('f', 1, 1);
  for (let i = 0; i < 20_000; i++) {
    leaf = node('f', 1, 0, [leaf]);
  }
  const { rects, depth } = layoutFlame(node('all', 1, 0, [leaf]));
  assert.equal(rects.length, 20_002);
  assert.equal(depth, 20_002);
});

test('labels, shares, amounts and tooltips', () => {
  assert.equal(frameLabel({ node: node('score', 1, 1), share: 0.742 }), 'score 74.2%');
  assert.equal(formatShare(1), '100%');
  assert.equal(formatShare(0.0004), '<0.1%');
  assert.equal(formatShare(0), '0.0%');
  assert.equal(formatAmount(1234, 'samples'), '1,234 samples');
  assert.equal(formatAmount(1, 'samples'), '1 sample');
  assert.equal(formatAmount(12.345, 'MB'), '12.3 MB');
  const score = node('score', 60, 58, [], { uri: 'file:///w/my%20dir/helpers.py', line: 6 });
  assert.equal(frameLocation(score), 'helpers.py:7');
  assert.equal(frameLocation(node('sorted', 1, 1, [], { module: 'libpython3.11.so' })), 'native, libpython3.11.so');
  assert.equal(frameLocation(node('all', 1, 0)), undefined);
  assert.equal(frameTooltip({ node: score, share: 0.6 }, 'samples'), 'score: 60.0% of the run\ntotal 60 samples · self 58 samples\nhelpers.py:7');
});

test('the title names the program file, the profile and the weight', () => {
  assert.equal(flameTitle({ program: '/w/app/main.py', profileId: 'p2', weight: 'cpu', unit: 'samples' }), 'main.py · p2 · CPU samples');
  assert.equal(flameTitle({ program: 'C:\\w\\main.py', profileId: 'p3', weight: 'memory', unit: 'MB' }), 'main.py · p3 · memory allocated (MB)');
  assert.equal(flameTitle({ program: null, profileId: null, weight: 'cpu', unit: 'samples' }), 'CPU samples');
});

test('search: case-insensitive in names and native libraries; the matched share counts nested matches once', () => {
  const { rects } = layoutFlame(tree());
  assert.deepEqual([...searchMatches(rects, 'BATCH')].map((id) => findChain(tree(), id)!.at(-1)!.name).sort(), ['heavy_batch', 'light_batch']);
  assert.equal(searchMatches(rects, 'libpython').size, 1);
  assert.equal(searchMatches(rects, '   ').size, 0);
  assert.ok(Math.abs(matchedShare(tree(), 'batch') - 0.8) < 1e-9);
  assert.ok(Math.abs(matchedShare(tree(), 'score') - 0.8) < 1e-9);
  assert.ok(Math.abs(matchedShare(tree(), 'main') - 0.999) < 1e-9, 'by name: main, not <module>');
  assert.equal(matchedShare(tree(), ''), 0);
});

test("the selected line's frames: uri and line both match", () => {
  const { rects } = layoutFlame(tree());
  const names = (ids: Set<string>) => rects.filter((r) => ids.has(r.id)).map((r) => r.node.name);
  assert.deepEqual(names(framesAtLine(rects, HELPERS, 6)), ['score', 'score']);
  assert.deepEqual(names(framesAtLine(rects, MAIN, 10)), ['heavy_batch']);
  assert.deepEqual(names(framesAtLine(rects, MAIN, 11)), []);
});

test('mapUris rewrites every uri and leaves the rest', () => {
  const mapped = mapUris(tree(), (u) => u.toUpperCase());
  const chain = findChain(mapped, layoutFlame(mapped).rects.find((r) => r.node.name === 'heavy_batch')!.id)!;
  assert.equal(chain.at(-1)!.uri, MAIN.toUpperCase());
  assert.equal(mapped.uri, null);
});

test('messages from the webview are checked before use', () => {
  assert.deepEqual(parseFromWebview({ type: 'open', uri: HELPERS, line: 6 }), { type: 'open', uri: HELPERS, line: 6 });
  assert.deepEqual(parseFromWebview({ type: 'open', uri: HELPERS, line: -1 }), { type: 'open', uri: HELPERS, line: undefined });
  assert.equal(parseFromWebview({ type: 'open', uri: 'command:workbench.action.quit' }), undefined);
  assert.equal(parseFromWebview({ type: 'weight', weight: 'wall' }), undefined);
  assert.deepEqual(parseFromWebview({ type: 'weight', weight: 'memory' }), { type: 'weight', weight: 'memory' });
  assert.equal(parseFromWebview('ready'), undefined);
  assert.equal(parseFromWebview(null), undefined);
  assert.equal(parseFromWebview({ type: 'eval' }), undefined);
});

test('a live snapshot is named in the title with the seconds it covers', () => {
  assert.equal(liveLabel({ status: 'running', elapsedS: 3.24 }), 'live · 3.2 s');
  assert.equal(liveLabel({ status: 'running' }), 'live');
  assert.equal(liveLabel({ status: 'ok', elapsedS: 3 }), undefined);
  assert.equal(
    flameTitle({ program: '/w/main.py', profileId: 'p4', weight: 'cpu', unit: 'samples', status: 'running', elapsedS: 1.96 }),
    'live · 2.0 s · main.py · p4 · CPU samples',
  );
  assert.equal(flameTitle({ program: '/w/main.py', profileId: 'p4', weight: 'cpu', unit: 'samples', view: 'timeline' }), 'main.py · p4 · CPU timeline');
});

test('compare mode tooltips give before → after and the verdict of the function', () => {
  const regressed = { verdict: 'regressed' as const, function: 'slow', before: 0.3, after: 0.95, changePercent: 216.7 };
  assert.equal(changeText(regressed, 'cpu', 'baseline'), 'vs baseline `baseline`: slow 0.30 s → 0.95 s CPU (+217%) · regressed');
  assert.equal(
    changeText({ verdict: 'improved', function: 'keep', before: 40, after: 10, changePercent: -75 }, 'memory', 'v1'),
    'vs baseline `v1`: keep 40.0 MB → 10.0 MB allocated (−75%) · improved',
  );
  assert.match(changeText({ verdict: 'unchanged', function: 'same', before: 1, after: 1.02, changePercent: 2, detectablePercent: 18.4 }, 'cpu', 'b'), /unchanged \(changes under ±18% cannot be seen\)$/);
  assert.match(changeText({ verdict: 'below', function: 'tiny' }, 'cpu', 'b'), /^vs baseline `b`: tiny · too small to judge/);
  assert.match(changeText({ verdict: 'new', function: 'fresh', after: 0.5 }, 'cpu', 'b'), /fresh new: 0\.50 s CPU · new$/);
  // The tooltip adds it only in compare mode.
  const changed: FlameNode = node('slow', 5, 5, [], { change: regressed });
  assert.doesNotMatch(frameTooltip({ node: changed, share: 0.5 }, 'samples'), /baseline/);
  assert.match(frameTooltip({ node: changed, share: 0.5 }, 'samples', { baseline: 'baseline', verdict: 'regressed' }), /0\.30 s → 0\.95 s CPU/);
  assert.deepEqual(
    VERDICT_LEGEND.map((entry) => entry.verdict),
    ['regressed', 'improved', 'unchanged', 'new', 'below'],
  );
});

const TIMELINE: Timeline = {
  durationS: 2,
  runs: 10,
  columns: 100,
  threads: [
    {
      thread: 1,
      label: 'main thread',
      samples: 90,
      depth: 2,
      frames: [
        { name: 'main', uri: MAIN, line: 3, depth: 0, start: 0, end: 2, samples: 90 },
        { name: 'a', uri: MAIN, line: 7, depth: 1, start: 0, end: 0.5, samples: 20 },
        { name: 'sliver', uri: MAIN, line: 9, depth: 1, start: 0.5, end: 0.5001, samples: 1 },
        { name: 'b', uri: HELPERS, line: 1, depth: 1, start: 0.6, end: 2, samples: 69 },
      ],
    },
    { thread: 2, label: 'thread 2', samples: 5, depth: 1, frames: [{ name: 'worker', uri: MAIN, line: 20, depth: 0, start: 1, end: 1.5, samples: 5 }] },
  ],
};

test('the timeline lays out each thread as a lane, x by time, narrow frames left out', () => {
  const layout = layoutTimeline(TIMELINE, 0.001);
  assert.deepEqual(layout.lanes, [
    { row: 0, label: 'main thread · 90 samples' },
    { row: 3, label: 'thread 2 · 5 samples' },
  ]);
  assert.equal(layout.rows, 5);
  const byFrame = (name: string) => layout.rects.find((rect) => rect.frame.name === name)!;
  assert.deepEqual([byFrame('main').x, byFrame('main').width, byFrame('main').row], [0, 1, 1]);
  assert.deepEqual([byFrame('b').x, byFrame('b').width, byFrame('b').row], [0.3, 0.7, 2]);
  assert.deepEqual([byFrame('worker').x, byFrame('worker').row], [0.5, 4]);
  assert.equal(layout.rects.some((rect) => rect.frame.name === 'sliver'), false, 'under the minimum width');
  assert.equal(layoutTimeline(TIMELINE).rects.length, 5);
  assert.equal(timelineTooltip(TIMELINE.threads[0].frames[3]), 'b: 600 ms → 2.00 s (1.40 s)\n69 samples\nhelpers.py:2');
});

test('live redraws wait for the previous one and for twice its cost, then draw the newest snapshot', () => {
  const throttle = new LiveThrottle(500, 10_000);
  assert.equal(throttle.offer(0), true, 'the first snapshot at once');
  assert.equal(throttle.offer(100), false, 'not while the first is drawn');
  assert.equal(throttle.dueIn(150), undefined, 'busy: nothing due');
  throttle.done(400); // it cost 400 ms: the next waits 800 ms from the start
  assert.equal(throttle.dueIn(400), 400);
  assert.equal(throttle.offer(600), false);
  assert.equal(throttle.offer(800), true);
  throttle.done(850);
  assert.equal(throttle.dueIn(900), undefined, 'nothing waiting');
  assert.equal(throttle.offer(1000), false, 'at least 500 ms apart');
  assert.equal(throttle.offer(1300), true);
  // A draw never reported (a hidden view) stops blocking after maxBusyMs.
  assert.equal(throttle.offer(5000), false);
  assert.equal(throttle.offer(11_400), true);
});

test('the webview may ask for a view at its width (bounded)', () => {
  assert.deepEqual(parseFromWebview({ type: 'view', view: 'timeline', width: 1234.4 }), { type: 'view', view: 'timeline', width: 1234 });
  assert.deepEqual(parseFromWebview({ type: 'view', view: 'tree', width: 99_999 }), { type: 'view', view: 'tree', width: 8000 });
  assert.equal(parseFromWebview({ type: 'view', view: 'chart', width: 10 }), undefined);
  assert.equal(parseFromWebview({ type: 'view', view: 'tree' }), undefined);
  assert.equal((parseFromWebview({ type: 'drawn', view: 'timeline', frames: 3 }) as { view: string }).view, 'timeline');
});
