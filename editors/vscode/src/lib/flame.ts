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
  children: FlameNode[];
}

export type FlameWeight = 'cpu' | 'memory';

/** `scalene/flameGraph`'s answer. */
export interface FlameResult {
  profileId?: string | null;
  program?: string | null;
  weight: FlameWeight;
  unit: 'samples' | 'MB';
  /** Why there is no tree, with what to do. */
  message?: string | null;
  root?: FlameNode | null;
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

/** The header of the view: `main.py · p2 · CPU samples` (the program's file name, the profile, the weight). */
export function flameTitle(result: FlameResult): string {
  const program = (result.program ?? '').split(/[\\/]/).pop() ?? '';
  const weight = result.unit === 'MB' ? 'memory allocated (MB)' : 'CPU samples';
  return [program, result.profileId ?? '', weight].filter((part) => part !== '').join(' · ');
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

/** The tooltip: name, share, total and self in the profile's unit, and where the function is. */
export function frameTooltip(rect: Pick<FlameRect, 'node' | 'share'>, unit: FlameResult['unit']): string {
  const { node } = rect;
  const lines = [
    `${node.name}: ${formatShare(rect.share)} of the run`,
    `total ${formatAmount(node.total, unit)} · self ${formatAmount(node.self, unit)}`,
  ];
  const location = frameLocation(node);
  if (location) {
    lines.push(location);
  }
  return lines.join('\n');
}

/** Whether a frame matches the search text (case-insensitive, in its name or native library). */
export function matchesQuery(node: FlameNode, query: string): boolean {
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
  | { type: 'error'; message: string }
  | { type: 'loading' }
  | { type: 'cursor'; uri?: string; line?: number };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'open'; uri: string; line?: number }
  | { type: 'weight'; weight: FlameWeight }
  | { type: 'refresh' }
  | { type: 'drawn'; profileId?: string; frames: number; drawMs: number; reason: string };

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
    case 'drawn':
      return {
        type: 'drawn',
        profileId: typeof m.profileId === 'string' ? m.profileId : undefined,
        frames: typeof m.frames === 'number' ? m.frames : 0,
        drawMs: typeof m.drawMs === 'number' ? m.drawMs : 0,
        reason: typeof m.reason === 'string' ? m.reason : '',
      };
    default:
      return undefined;
  }
}
