// The flame graph webview: draws ../lib/flame's rectangles as absolutely placed <div>s (one per frame),
// with search, zoom, the cpu/memory toggle, and clicks that open the function's file. Bundled by
// esbuild into dist/flame.js; talks to the extension (../vscode/flamePanel.ts) with postMessage only.
import {
  flameTitle,
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

let result: FlameResult | undefined;
let layout: FlameLayout | undefined;
let focusId: string | undefined = saved.focusId;
let cursor: { uri?: string; line?: number } = {};
/** The frame <div>s of the current layout, by id. */
let frames = new Map<string, HTMLDivElement>();

search.value = saved.query;

function save(): void {
  vscode.setState({ focusId, query: search.value });
}

function showMessage(text: string | undefined): void {
  message.textContent = text ?? '';
  message.hidden = !text;
}

/** Draws the current result from scratch (new profile, zoom, resize). */
function draw(reason: string): void {
  const started = performance.now();
  chart.replaceChildren();
  frames = new Map();
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
    frame.className = `frame heat${rect.heat}${rect.ancestor ? ' ancestor' : ''}${rect.node.uri ? ' source' : ''}${rect.node.module ? ' native' : ''}`;
    frame.dataset.id = rect.id;
    frame.dataset.name = rect.node.name;
    frame.style.left = `${rect.x * 100}%`;
    frame.style.width = `${rect.width * 100}%`;
    frame.style.top = `${rect.depth * ROW_HEIGHT}px`;
    frame.title = frameTooltip(rect, result.unit) + (rect.node.uri ? '\nClick: zoom in and open the file' : '\nClick: zoom in');
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
  });
}

/** Search matches and the frames of the editor's selected line. */
function applyHighlights(): void {
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
  resizeTimer = setTimeout(() => draw('resize'), 100);
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
    case 'profile': {
      document.body.classList.remove('loading');
      // The zoom stays when its frame is in the new tree too (layoutFlame falls back to the root).
      result = data.result;
      title.textContent = result.root ? flameTitle(result) : '';
      title.title = result.program ?? '';
      document.body.dataset.profileId = result.profileId ?? '';
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

vscode.postMessage({ type: 'ready' });
