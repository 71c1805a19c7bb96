import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
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
