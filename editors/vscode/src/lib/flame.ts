// The flame graph's model: the server's `scalene/flameGraph` answer (docs/lsp.md) turned into rectangles
// (x and width as fractions of the view, depth as the row), labels, tooltips, search and line matching.
// Pure: no `vscode` and no DOM import; the webview (../webview/flame.ts) draws what this computes.

/** A node of `scalene/flameGraph`'s tree. The server sends `null` for absent fields. */
export interface FlameNode {
  name: string;
  /** File URI of a Python function. */
  uri?: string | null;
  /** 0-based line in the current text. */
  line?: number | null;
  /** A native function's library. */
  module?: string | null;
  total: number;
  self: number;
  /** In compare mode: the comparison's verdict of the function. */
  change?: FlameChange | null;
  children: FlameNode[];
}

export type FlameWeight = 'cpu' | 'memory';
export type FlameView = 'tree' | 'timeline';

/** The comparison's verdicts a frame can show (docs/lsp.md, scalene/flameGraph, compare mode). */
export type ChangeVerdict = 'regressed' | 'improved' | 'unchanged' | 'new' | 'below';

/** A function's change in compare mode: before/after in CPU seconds (cpu) or MB allocated (memory). */
export interface FlameChange {
  verdict: ChangeVerdict;
  function: string;
  before?: number | null;
  after?: number | null;
  changePercent?: number | null;
  detectablePercent?: number | null;
}

/** The comparison a compare-mode graph is coloured by. */
export interface FlameCompare {
  baseline: string;
  savedAt?: string | null;
  verdict: string;
  summary?: string | null;
}

/** A frame of the timeline view: seconds since the first sample. */
export interface TimelineFrame {
  name: string;
  uri?: string | null;
  line?: number | null;
  module?: string | null;
  depth: number;
  start: number;
  end: number;
  samples: number;
}

export interface TimelineThread {
  thread?: number | null;
  label: string;
  samples: number;
  depth: number;
  frames: TimelineFrame[];
}

export interface Timeline {
  durationS: number;
  runs: number;
  columns: number;
  threads: TimelineThread[];
  notes?: string[];
}

/** `scalene/flameGraph`'s answer. */
export interface FlameResult {
  profileId?: string | null;
  program?: string | null;
  weight: FlameWeight;
  unit: 'samples' | 'MB';
  /** Why there is no tree, with what to do. */
  message?: string | null;
  view?: FlameView;
  /** `running` for a live run's snapshot. */
  status?: string | null;
  /** Seconds the profile covers. */
  elapsedS?: number | null;
  compare?: FlameCompare | null;
  root?: FlameNode | null;
  timeline?: Timeline | null;
}

/** One frame as drawn. */
export interface FlameRect {
  /** Stable across profiles: the keys of the chain from the root (see nodeKey). */
  id: string;
  node: FlameNode;
  /** Row, 0 at the top (the root). */
  depth: number;
  /** Left edge and width as fractions of the view (0..1). */
  x: number;
  width: number;
  /** The node's total as a fraction of the whole run (unchanged by zooming). */
  share: number;
  /** An ancestor of the zoomed-in frame (drawn full width above it; a click zooms out to it). */
  ancestor: boolean;
  /** 1..5: the node's self cost relative to the largest self cost of the tree. */
  heat: number;
}

export interface FlameLayout {
  rects: FlameRect[];
  /** The frame zoomed into (the root when not zoomed). */
  focusId: string;
  /** Rows drawn. */
  depth: number;
}

const ID_SEPARATOR = '\n';

/** A node's key among its siblings: the name, and the file or library it belongs to. */
export function nodeKey(node: FlameNode): string {
  return `${node.name}@${node.uri ?? node.module ?? ''}`;
}

/** The chain of nodes from the root to the node with this id; undefined when the tree has no such node. */
export function findChain(root: FlameNode, id: string): FlameNode[] | undefined {
  const keys = id.split(ID_SEPARATOR);
  if (keys[0] !== nodeKey(root)) {
    return undefined;
  }
  const chain = [root];
  for (const key of keys.slice(1)) {
    const next = chain[chain.length - 1].children.find((child) => nodeKey(child) === key);
    if (!next) {
      return undefined;
    }
    chain.push(next);
  }
  return chain;
}

function largestSelf(root: FlameNode): number {
  let largest = 0;
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    largest = Math.max(largest, node.self);
    stack.push(...node.children);
  }
  return largest;
}

function heatLevel(self: number, largest: number): number {
  return largest > 0 ? Math.min(5, Math.max(1, Math.ceil((self / largest) * 5))) : 1;
}

/**
 * Rectangles of an icicle graph (root on top, callees below), zoomed into `focusId` (the root when absent
 * or no longer in the tree): the focus spans the whole width, its ancestors are full-width rows above
 * it, its descendants share its width by their totals. Frames narrower than `minWidth` (a fraction of
 * the view, e.g. one pixel) are left out with everything below them.
 */
export function layoutFlame(root: FlameNode, focusId?: string, minWidth = 0): FlameLayout {
  const chain = (focusId !== undefined ? findChain(root, focusId) : undefined) ?? [root];
  const runTotal = root.total > 0 ? root.total : 1;
  const largest = largestSelf(root);
  const rects: FlameRect[] = [];
  let id = '';
  chain.forEach((node, depth) => {
    id = depth === 0 ? nodeKey(node) : `${id}${ID_SEPARATOR}${nodeKey(node)}`;
    if (depth < chain.length - 1) {
      rects.push({ id, node, depth, x: 0, width: 1, share: node.total / runTotal, ancestor: true, heat: heatLevel(node.self, largest) });
    }
  });
  const focus = chain[chain.length - 1];
  const scale = focus.total > 0 ? focus.total : 1;
  let depth = chain.length;
  // Depth first with an explicit stack (deep recursion in a program gives deep trees).
  const stack: { node: FlameNode; id: string; depth: number; x: number }[] = [{ node: focus, id, depth: chain.length - 1, x: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const width = item.node.total / scale;
    if (width < minWidth && item.node !== focus) {
      continue;
    }
    rects.push({
      id: item.id,
      node: item.node,
      depth: item.depth,
      x: item.x,
      width: item.node === focus ? 1 : width,
      share: item.node.total / runTotal,
      ancestor: false,
      heat: heatLevel(item.node.self, largest),
    });
    depth = Math.max(depth, item.depth + 1);
    let x = item.x;
    const children = item.node.children.map((child) => {
      const placed = { node: child, id: `${item.id}${ID_SEPARATOR}${nodeKey(child)}`, depth: item.depth + 1, x };
      x += child.total / scale;
      return placed;
    });
    stack.push(...children.reverse());
  }
  return { rects, focusId: id, depth };
}

/** `74.2%`, `<0.1%` for a sliver, `100%` for the whole run. */
export function formatShare(share: number): string {
  const percent = share * 100;
  if (percent >= 99.95) {
    return '100%';
  }
  if (percent > 0 && percent < 0.1) {
    return '<0.1%';
  }
  return `${percent.toFixed(1)}%`;
}

/** The header of the view: `main.py · p2 · CPU samples` (the program's file name, the profile, the weight),
 * `main.py · p2 · CPU timeline` for the timeline, with `live · 3.2 s` in front for a live run's snapshot. */
export function flameTitle(result: FlameResult): string {
  const program = (result.program ?? '').split(/[\\/]/).pop() ?? '';
  const weight = result.view === 'timeline' ? 'CPU timeline' : result.unit === 'MB' ? 'memory allocated (MB)' : 'CPU samples';
  return [liveLabel(result) ?? '', program, result.profileId ?? '', weight].filter((part) => part !== '').join(' · ');
}

/** `live · 3.2 s` for a live run's snapshot (the run so far), else undefined. */
export function liveLabel(result: Pick<FlameResult, 'status' | 'elapsedS'>): string | undefined {
  if (result.status !== 'running') {
    return undefined;
  }
  return typeof result.elapsedS === 'number' ? `live · ${result.elapsedS.toFixed(1)} s` : 'live';
}

/** `1,234 samples`, `12.3 MB`. */
export function formatAmount(value: number, unit: FlameResult['unit']): string {
  if (unit === 'MB') {
    return `${value.toFixed(1)} MB`;
  }
  const rounded = Math.round(value);
  return `${rounded.toLocaleString('en-US')} ${rounded === 1 ? 'sample' : 'samples'}`;
}

/** The text in a frame: `score 74.2%`. */
export function frameLabel(rect: Pick<FlameRect, 'node' | 'share'>): string {
  return `${rect.node.name} ${formatShare(rect.share)}`;
}

/** `helpers.py:7` (1-based line) for a Python function, the library for a native one, else undefined. */
export function frameLocation(node: FlameNode): string | undefined {
  if (node.uri) {
    const last = node.uri.replace(/[?#].*$/, '').split('/').pop() ?? node.uri;
    let file: string;
    try {
      file = decodeURIComponent(last);
    } catch {
      file = last;
    }
    return typeof node.line === 'number' ? `${file}:${node.line + 1}` : file;
  }
  return node.module ? `native, ${node.module}` : undefined;
}

/** The tooltip: name, share, total and self in the profile's unit, where the function is, and in compare
 * mode the function's change against the baseline. */
export function frameTooltip(rect: Pick<FlameRect, 'node' | 'share'>, unit: FlameResult['unit'], compare?: FlameCompare | null): string {
  const { node } = rect;
  const lines = [
    `${node.name}: ${formatShare(rect.share)} of the run`,
    `total ${formatAmount(node.total, unit)} · self ${formatAmount(node.self, unit)}`,
  ];
  const location = frameLocation(node);
  if (location) {
    lines.push(location);
  }
  if (compare && node.change) {
    lines.push(changeText(node.change, unit === 'MB' ? 'memory' : 'cpu', compare.baseline));
  }
  return lines.join('\n');
}

/** The legend of compare mode's colours, in order. */
export const VERDICT_LEGEND: readonly { verdict: ChangeVerdict; label: string }[] = [
  { verdict: 'regressed', label: 'regressed' },
  { verdict: 'improved', label: 'improved' },
  { verdict: 'unchanged', label: 'unchanged' },
  { verdict: 'new', label: 'new' },
  { verdict: 'below', label: 'too small to judge' },
];

function signedPercent(percent: number): string {
  const rounded = Math.round(percent);
  return rounded > 0 ? `+${rounded}%` : rounded < 0 ? `\u2212${Math.abs(rounded)}%` : '0%';
}

/**
 * A function's change for a tooltip: `vs baseline \`baseline\`: score 0.30 s → 0.95 s CPU (+217%) · regressed`
 * (MB allocated for memory); `below` says the function costs too little to judge.
 */
export function changeText(change: FlameChange, weight: FlameWeight, baseline: string): string {
  const amount = (value: number) => (weight === 'memory' ? `${value.toFixed(1)} MB` : `${value.toFixed(2)} s`);
  const what = weight === 'memory' ? 'allocated' : 'CPU';
  let numbers: string;
  if (typeof change.before === 'number' && typeof change.after === 'number') {
    numbers = `${amount(change.before)} \u2192 ${amount(change.after)} ${what}`;
    if (typeof change.changePercent === 'number') {
      numbers += ` (${signedPercent(change.changePercent)})`;
    }
  } else if (typeof change.after === 'number') {
    numbers = `new: ${amount(change.after)} ${what}`;
  } else {
    numbers = '';
  }
  const verdict =
    change.verdict === 'below'
      ? 'too small to judge (under the comparison\'s floors on both sides)'
      : change.verdict === 'unchanged' && typeof change.detectablePercent === 'number'
        ? `unchanged (changes under \u00b1${Math.round(change.detectablePercent)}% cannot be seen)`
        : change.verdict;
  return `vs baseline \`${baseline}\`: ${change.function}${numbers ? ` ${numbers}` : ''} \u00b7 ${verdict}`;
}

/** One frame of the timeline as drawn. */
export interface TimelineRect {
  frame: TimelineFrame;
  /** Left edge and width as fractions of the view. */
  x: number;
  width: number;
  /** Row from the top, lane headers included. */
  row: number;
}

export interface TimelineLayout {
  rects: TimelineRect[];
  /** Each thread's header row and label. */
  lanes: { row: number; label: string }[];
  rows: number;
}

/**
 * The timeline's rectangles: x is time over the run's duration; each thread a lane (a header row, then
 * its frames' rows). Frames narrower than `minWidth` (a fraction of the view) are left out.
 */
export function layoutTimeline(timeline: Timeline, minWidth = 0): TimelineLayout {
  const duration = timeline.durationS > 0 ? timeline.durationS : 1;
  const rects: TimelineRect[] = [];
  const lanes: { row: number; label: string }[] = [];
  let row = 0;
  for (const thread of timeline.threads) {
    lanes.push({ row, label: `${thread.label} · ${formatAmount(thread.samples, 'samples')}` });
    const top = row + 1;
    for (const frame of thread.frames) {
      const width = (frame.end - frame.start) / duration;
      if (width < minWidth) {
        continue;
      }
      rects.push({ frame, x: frame.start / duration, width, row: top + frame.depth });
    }
    row = top + Math.max(thread.depth, 1);
  }
  return { rects, lanes, rows: row };
}

/** `0.25 s`, `1.2 s`, `12 s`, `250 ms`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  return seconds < 10 ? `${seconds.toFixed(2)} s` : `${seconds.toFixed(1)} s`;
}

/** A timeline frame's tooltip: name, when and how long, its samples, where it is. */
export function timelineTooltip(frame: TimelineFrame): string {
  const lines = [
    `${frame.name}: ${formatSeconds(frame.start)} \u2192 ${formatSeconds(frame.end)} (${formatSeconds(Math.max(frame.end - frame.start, 0))})`,
    formatAmount(frame.samples, 'samples'),
  ];
  const location = frameLocation({ name: frame.name, uri: frame.uri, line: frame.line, module: frame.module, total: 0, self: 0, children: [] });
  if (location) {
    lines.push(location);
  }
  return lines.join('\n');
}

/**
 * When to redraw a live run's snapshots: never while the previous request or draw is under way, and at
 * most once per `max(minIntervalMs, 2 × the last draw's cost)`, so a big profile never keeps the view busy;
 * the newest snapshot asked for while waiting is drawn when the wait is over.
 */
export class LiveThrottle {
  private busy = false;
  private lastStart = -Infinity;
  private lastCostMs = 0;
  private pending = false;

  /** `maxBusyMs`: a refresh whose draw was never reported (a hidden view) stops counting after this. */
  constructor(
    private readonly minIntervalMs = 500,
    private readonly maxBusyMs = 10_000,
  ) {}

  /** A new snapshot is there at `now`: true to refresh now; else it is remembered. */
  offer(now: number): boolean {
    if (this.busy && now - this.lastStart >= this.maxBusyMs) {
      this.busy = false;
    }
    if (this.busy || now - this.lastStart < this.waitMs()) {
      this.pending = true;
      return false;
    }
    this.busy = true;
    this.pending = false;
    this.lastStart = now;
    return true;
  }

  /** The refresh started at the last `offer` is drawn (or failed) at `now`. */
  done(now: number): void {
    if (this.busy) {
      this.lastCostMs = Math.max(0, now - this.lastStart);
    }
    this.busy = false;
  }

  /** Milliseconds from `now` until a remembered snapshot may be drawn; undefined when none is waiting. */
  dueIn(now: number): number | undefined {
    if (!this.pending || this.busy) {
      return undefined;
    }
    return Math.max(0, this.lastStart + this.waitMs() - now);
  }

  private waitMs(): number {
    return Math.max(this.minIntervalMs, 2 * this.lastCostMs);
  }
}

/** Whether a frame matches the search text (case-insensitive, in its name or native library). */
export function matchesQuery(node: Pick<FlameNode, 'name' | 'module'>, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (q === '') {
    return false;
  }
  return node.name.toLowerCase().includes(q) || (node.module ?? '').toLowerCase().includes(q);
}

/** The ids of the frames matching the search text. */
export function searchMatches(rects: readonly FlameRect[], query: string): Set<string> {
  return new Set(rects.filter((rect) => matchesQuery(rect.node, query)).map((rect) => rect.id));
}

/** The share of the run spent in matching frames (a match inside a match counts once). */
export function matchedShare(root: FlameNode, query: string): number {
  if (root.total <= 0) {
    return 0;
  }
  let matched = 0;
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (matchesQuery(node, query)) {
      matched += node.total;
    } else {
      stack.push(...node.children);
    }
  }
  return matched / root.total;
}

/** The ids of the frames of the function line `uri`:`line` (0-based), e.g. the editor's selected line. */
export function framesAtLine(rects: readonly FlameRect[], uri: string, line: number): Set<string> {
  return new Set(rects.filter((rect) => rect.node.uri === uri && rect.node.line === line).map((rect) => rect.id));
}

/** Every node of the tree with `map` applied to its uri (e.g. to the editor's spelling of URIs). */
export function mapUris(node: FlameNode, map: (uri: string) => string): FlameNode {
  return { ...node, uri: node.uri ? map(node.uri) : node.uri, children: node.children.map((child) => mapUris(child, map)) };
}

/** Messages between the extension and the flame graph webview. */
export type ToWebview =
  | { type: 'profile'; result: FlameResult; memoryAvailable: boolean; reason: string }
  | { type: 'timeline'; result: FlameResult; reason: string }
  | { type: 'error'; message: string }
  | { type: 'loading' }
  | { type: 'cursor'; uri?: string; line?: number };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'open'; uri: string; line?: number }
  | { type: 'weight'; weight: FlameWeight }
  | { type: 'refresh' }
  | { type: 'view'; view: FlameView; width: number }
  | { type: 'drawn'; profileId?: string; frames: number; drawMs: number; reason: string; view: FlameView };

/** Checks a message from the webview (it is untrusted input: only these shapes are acted on). */
export function parseFromWebview(message: unknown): FromWebview | undefined {
  if (typeof message !== 'object' || message === null) {
    return undefined;
  }
  const m = message as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'refresh':
      return { type: m.type };
    case 'open':
      if (typeof m.uri === 'string' && /^file:/.test(m.uri)) {
        return { type: 'open', uri: m.uri, line: typeof m.line === 'number' && Number.isInteger(m.line) && m.line >= 0 ? m.line : undefined };
      }
      return undefined;
    case 'weight':
      return m.weight === 'cpu' || m.weight === 'memory' ? { type: 'weight', weight: m.weight } : undefined;
    case 'view':
      if ((m.view === 'tree' || m.view === 'timeline') && typeof m.width === 'number' && Number.isFinite(m.width)) {
        return { type: 'view', view: m.view, width: Math.min(8000, Math.max(1, Math.round(m.width))) };
      }
      return undefined;
    case 'drawn':
      return {
        type: 'drawn',
        profileId: typeof m.profileId === 'string' ? m.profileId : undefined,
        frames: typeof m.frames === 'number' ? m.frames : 0,
        drawMs: typeof m.drawMs === 'number' ? m.drawMs : 0,
        reason: typeof m.reason === 'string' ? m.reason : '',
        view: m.view === 'timeline' ? 'timeline' : 'tree',
      };
    default:
      return undefined;
  }
}
