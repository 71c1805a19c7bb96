// The flame graph webview: draws ../lib/flame's rectangles as absolutely placed <div>s (one per frame),
// with search, zoom, the cpu/memory toggle, compare mode's verdict colours with a legend, and clicks that
// open the function's file; a second tab draws the CPU timeline (a flame chart over time, per thread). Bundled by
// esbuild into dist/flame.js; talks to the extension (../vscode/flamePanel.ts) with postMessage only.
import {
  VERDICT_LEGEND,
  flameTitle,
  layoutTimeline,
  matchesQuery,
  timelineTooltip,
  type FlameView,
  type TimelineLayout,
  frameLabel,
  frameTooltip,
  framesAtLine,
  formatShare,
  layoutFlame,
  matchedShare,
  searchMatches,
  type FlameLayout,
  type FlameRect,
  type FlameResult,
  type FlameWeight,
  type FromWebview,
  type ToWebview,
} from '../lib/flame';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): unknown;
  setState(state: SavedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** What survives the webview being hidden and shown again. */
interface SavedState {
  focusId?: string;
  query: string;
  view?: FlameView;
}

const ROW_HEIGHT = 22;
/** Labels need this many pixels to be worth drawing. */
const MIN_LABEL_PX = 28;

const vscode = acquireVsCodeApi();
const saved = (vscode.getState() as SavedState | undefined) ?? { query: '' };

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const chart = byId<HTMLDivElement>('chart');
const message = byId<HTMLDivElement>('message');
const search = byId<HTMLInputElement>('search');
const matched = byId<HTMLSpanElement>('matched');
const reset = byId<HTMLButtonElement>('reset');
const title = byId<HTMLSpanElement>('title');
const cpuButton = byId<HTMLButtonElement>('weight-cpu');
const memoryButton = byId<HTMLButtonElement>('weight-memory');
const refresh = byId<HTMLButtonElement>('refresh');
const legend = byId<HTMLDivElement>('legend');
const treeTab = byId<HTMLButtonElement>('tab-tree');
const timelineTab = byId<HTMLButtonElement>('tab-timeline');

let result: FlameResult | undefined;
let layout: FlameLayout | undefined;
let focusId: string | undefined = saved.focusId;
let cursor: { uri?: string; line?: number } = {};
/** The frame <div>s of the current layout, by id. */
let frames = new Map<string, HTMLDivElement>();
/** The tab shown, and the timeline's answer and layout. */
let view: FlameView = saved.view ?? 'tree';
let timelineResult: FlameResult | undefined;
let timelineLayout: TimelineLayout | undefined;
/** The timeline's frame <div>s, by index into timelineLayout.rects. */
let timelineFrames: HTMLDivElement[] = [];

search.value = saved.query;

function save(): void {
  vscode.setState({ focusId, query: search.value, view });
}

/** Tells the extension which tab is shown and how wide the view is (the timeline's columns). */
function announceView(): void {
  vscode.postMessage({ type: 'view', view, width: Math.max(chart.clientWidth, 1) });
}

function setView(next: FlameView): void {
  view = next;
  treeTab.setAttribute('aria-selected', String(view === 'tree'));
  timelineTab.setAttribute('aria-selected', String(view === 'timeline'));
  document.body.dataset.view = view;
  save();
}

/** The legend of compare mode's colours (only while the tree shows a comparison). */
function drawLegend(): void {
  const compare = view === 'tree' ? result?.compare : undefined;
  legend.replaceChildren();
  legend.hidden = !compare;
  if (!compare) {
    return;
  }
  const head = document.createElement('span');
  head.textContent = `vs baseline \`${compare.baseline}\` (${compare.verdict}):`;
  head.title = compare.summary ?? '';
  legend.append(head);
  for (const entry of VERDICT_LEGEND) {
    const item = document.createElement('span');
    item.className = `legend-item verdict-${entry.verdict}`;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    item.append(swatch, entry.label);
    legend.append(item);
  }
}

function showMessage(text: string | undefined): void {
  message.textContent = text ?? '';
  message.hidden = !text;
}

/** Draws the current tab from scratch (new profile, zoom, resize). */
function draw(reason: string): void {
  drawLegend();
  if (view === 'timeline') {
    drawTimeline(reason);
    return;
  }
  const started = performance.now();
  chart.replaceChildren();
  frames = new Map();
  timelineFrames = [];
  const root = result?.root;
  if (!result || !root) {
    layout = undefined;
    reset.disabled = true;
    chart.style.height = '0px';
    applyHighlights();
    return;
  }
  const width = Math.max(chart.clientWidth, 1);
  layout = layoutFlame(root, focusId, 1 / width);
  focusId = layout.focusId;
  reset.disabled = layout.rects[0]?.depth === 0 && !layout.rects[0].ancestor;
  chart.style.height = `${layout.depth * ROW_HEIGHT}px`;
  const fragment = document.createDocumentFragment();
  for (const rect of layout.rects) {
    const frame = document.createElement('div');
    // In compare mode every frame shows a verdict; frames the comparison does not judge (the root, native
    // functions, files it does not cover) are neutral rather than heat-coloured.
    const verdict = result.compare ? (rect.node.change ? ` verdict-${rect.node.change.verdict}` : ' no-verdict') : '';
    frame.className = `frame heat${rect.heat}${rect.ancestor ? ' ancestor' : ''}${rect.node.uri ? ' source' : ''}${rect.node.module ? ' native' : ''}${verdict}`;
    frame.dataset.id = rect.id;
    frame.dataset.name = rect.node.name;
    frame.style.left = `${rect.x * 100}%`;
    frame.style.width = `${rect.width * 100}%`;
    frame.style.top = `${rect.depth * ROW_HEIGHT}px`;
    frame.title = frameTooltip(rect, result.unit, result.compare) + (rect.node.uri ? '\nClick: zoom in and open the file' : '\nClick: zoom in');
    if (rect.width * width >= MIN_LABEL_PX) {
      const label = document.createElement('span');
      label.textContent = frameLabel(rect);
      frame.append(label);
    }
    frames.set(rect.id, frame);
    fragment.append(frame);
  }
  chart.append(fragment);
  applyHighlights();
  save();
  vscode.postMessage({
    type: 'drawn',
    profileId: result.profileId ?? undefined,
    frames: layout.rects.length,
    drawMs: Math.round((performance.now() - started) * 10) / 10,
    reason,
    view: 'tree',
  });
}

/** Draws the timeline tab: a header row per thread, then its frames, x = time since the first sample. */
function drawTimeline(reason: string): void {
  const started = performance.now();
  chart.replaceChildren();
  frames = new Map();
  timelineFrames = [];
  layout = undefined;
  reset.disabled = true;
  const timeline = timelineResult?.timeline;
  if (!timelineResult || !timeline) {
    timelineLayout = undefined;
    chart.style.height = '0px';
    applyHighlights();
    return;
  }
  const width = Math.max(chart.clientWidth, 1);
  timelineLayout = layoutTimeline(timeline, 1 / width);
  chart.style.height = `${timelineLayout.rows * ROW_HEIGHT}px`;
  const fragment = document.createDocumentFragment();
  for (const lane of timelineLayout.lanes) {
    const header = document.createElement('div');
    header.className = 'lane';
    header.style.top = `${lane.row * ROW_HEIGHT}px`;
    header.textContent = lane.label;
    fragment.append(header);
  }
  timelineLayout.rects.forEach((rect, index) => {
    const frame = document.createElement('div');
    frame.className = `frame timeline heat${Math.min(5, rect.frame.depth + 1)}${rect.frame.uri ? ' source' : ''}${rect.frame.module ? ' native' : ''}`;
    frame.dataset.index = String(index);
    frame.dataset.name = rect.frame.name;
    frame.style.left = `${rect.x * 100}%`;
    frame.style.width = `${rect.width * 100}%`;
    frame.style.top = `${rect.row * ROW_HEIGHT}px`;
    frame.title = timelineTooltip(rect.frame) + (rect.frame.uri ? '\nClick: open the line' : '');
    if (rect.width * width >= MIN_LABEL_PX) {
      const label = document.createElement('span');
      label.textContent = rect.frame.name;
      frame.append(label);
    }
    timelineFrames.push(frame);
    fragment.append(frame);
  });
  chart.append(fragment);
  applyHighlights();
  save();
  vscode.postMessage({
    type: 'drawn',
    profileId: timelineResult.profileId ?? undefined,
    frames: timelineLayout.rects.length,
    drawMs: Math.round((performance.now() - started) * 10) / 10,
    reason,
    view: 'timeline',
  });
}

/** Search matches and the frames of the editor's selected line. */
function applyHighlights(): void {
  if (view === 'timeline') {
    const query = search.value;
    let any = false;
    timelineFrames.forEach((frame, index) => {
      const rect = timelineLayout?.rects[index];
      const match = rect !== undefined && matchesQuery(rect.frame, query);
      const atCursor = rect !== undefined && cursor.uri !== undefined && rect.frame.uri === cursor.uri && rect.frame.line === cursor.line;
      any ||= match;
      frame.classList.toggle('match', match);
      frame.classList.toggle('cursor', atCursor);
    });
    chart.classList.toggle('searching', any);
    matched.textContent = '';
    return;
  }
  const rects = layout?.rects ?? [];
  const query = search.value;
  const matches = searchMatches(rects, query);
  const atCursor = cursor.uri !== undefined && cursor.line !== undefined ? framesAtLine(rects, cursor.uri, cursor.line) : new Set<string>();
  chart.classList.toggle('searching', matches.size > 0);
  for (const [id, frame] of frames) {
    frame.classList.toggle('match', matches.has(id));
    frame.classList.toggle('cursor', atCursor.has(id));
  }
  matched.textContent = query.trim() && result?.root ? `${formatShare(matchedShare(result.root, query))} matched` : '';
}

function zoom(id: string | undefined): void {
  focusId = id;
  draw('zoom');
}

function setWeightButtons(weight: FlameWeight, memoryAvailable: boolean): void {
  cpuButton.hidden = memoryButton.hidden = !memoryAvailable;
  cpuButton.setAttribute('aria-pressed', String(weight === 'cpu'));
  memoryButton.setAttribute('aria-pressed', String(weight === 'memory'));
}

chart.addEventListener('click', (event) => {
  const frame = (event.target as HTMLElement).closest<HTMLDivElement>('.frame');
  if (view === 'timeline') {
    const rect = frame?.dataset.index !== undefined ? timelineLayout?.rects[Number(frame.dataset.index)] : undefined;
    if (rect?.frame.uri) {
      vscode.postMessage({ type: 'open', uri: rect.frame.uri, line: rect.frame.line ?? undefined });
    }
    return;
  }
  const rect = frame?.dataset.id ? layout?.rects.find((r) => r.id === frame.dataset.id) : undefined;
  if (!rect) {
    return;
  }
  zoom(rect.depth === 0 ? undefined : rect.id);
  openSource(rect);
});

function openSource(rect: FlameRect): void {
  if (rect.node.uri) {
    vscode.postMessage({ type: 'open', uri: rect.node.uri, line: rect.node.line ?? undefined });
  }
}

reset.addEventListener('click', () => zoom(undefined));
treeTab.addEventListener('click', () => {
  if (view !== 'tree') {
    setView('tree');
    title.textContent = result?.root ? flameTitle(result) : '';
    showMessage(result?.root ? undefined : result?.message ?? undefined);
    draw('the tab');
    announceView();
  }
});
timelineTab.addEventListener('click', () => {
  if (view !== 'timeline') {
    setView('timeline');
    // The timeline is asked for at the view's width; what was drawn before goes away at once.
    timelineResult = undefined;
    title.textContent = '';
    showMessage(undefined);
    draw('the tab');
    announceView();
  }
});
refresh.addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));
cpuButton.addEventListener('click', () => vscode.postMessage({ type: 'weight', weight: 'cpu' }));
memoryButton.addEventListener('click', () => vscode.postMessage({ type: 'weight', weight: 'memory' }));
search.addEventListener('input', () => {
  applyHighlights();
  save();
});
search.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    search.value = '';
    applyHighlights();
    save();
  }
});

let resizeTimer: ReturnType<typeof setTimeout> | undefined;
let lastWidth = 0;
new ResizeObserver(() => {
  if (chart.clientWidth === lastWidth) {
    return;
  }
  lastWidth = chart.clientWidth;
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    draw('resize');
    if (view === 'timeline') {
      announceView(); // the timeline's columns follow the width
    }
  }, 100);
}).observe(chart);

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const data = event.data;
  switch (data.type) {
    case 'loading':
      document.body.classList.add('loading');
      break;
    case 'error':
      document.body.classList.remove('loading');
      result = undefined;
      title.textContent = '';
      showMessage(data.message);
      draw('error');
      break;
    case 'timeline': {
      document.body.classList.remove('loading');
      if (view !== 'timeline') {
        break;
      }
      timelineResult = data.result;
      title.textContent = timelineResult.timeline ? flameTitle(timelineResult) : '';
      title.title = timelineResult.program ?? '';
      document.body.dataset.profileId = timelineResult.profileId ?? '';
      document.body.dataset.live = String(timelineResult.status === 'running');
      cpuButton.hidden = memoryButton.hidden = true;
      showMessage(timelineResult.timeline ? undefined : (timelineResult.message ?? 'No timeline in this profile.'));
      draw(data.reason);
      break;
    }
    case 'profile': {
      document.body.classList.remove('loading');
      if (view !== 'tree') {
        break;
      }
      // The zoom stays when its frame is in the new tree too (layoutFlame falls back to the root).
      result = data.result;
      title.textContent = result.root ? flameTitle(result) : '';
      title.title = result.program ?? '';
      document.body.dataset.profileId = result.profileId ?? '';
      document.body.dataset.live = String(result.status === 'running');
      setWeightButtons(result.weight, data.memoryAvailable);
      showMessage(result.root ? undefined : (result.message ?? 'No call tree in this profile.'));
      draw(data.reason);
      break;
    }
    case 'cursor':
      cursor = { uri: data.uri, line: data.line };
      applyHighlights();
      break;
  }
});

setView(view);
vscode.postMessage({ type: 'ready' });
if (view === 'timeline') {
  announceView();
}
