// The "Slowest Tests" view's data: the server's `scalene/tests` answer (docs/lsp.md) and how an entry
// reads. No vscode import: unit tested.

/** A hot line of a test (0-based `line`, as profiled). */
export interface TestHotLine {
  uri?: string | null;
  line: number;
  seconds: number;
  source: string;
}

/** One test of a suite run, slowest first. */
export interface TestItem {
  nodeId: string;
  uri?: string | null;
  line: number;
  outcome: string;
  seconds: number;
  share: number;
  hottest: TestHotLine[];
}

export interface TestsResult {
  profileId?: string | null;
  status?: string | null;
  total: number;
  items: TestItem[];
}

/** `test_parse[big]` with `0.84 s · 12% · failed` (the outcome only when it did not pass). */
export function testEntry(item: TestItem): { label: string; description: string; tooltip: string } {
  const name = item.nodeId.includes('::') ? item.nodeId.slice(item.nodeId.indexOf('::') + 2) : item.nodeId;
  const parts = [`${item.seconds.toFixed(2)} s`, `${Math.round(item.share * 100)}%`];
  if (item.outcome !== 'passed') {
    parts.push(item.outcome);
  }
  return { label: name, description: parts.join(' · '), tooltip: `${item.nodeId}\n${parts.join(' · ')} of the suite's samples` };
}

/** `parser.py:88  0.412 s` with the line's text. */
export function hotLineEntry(hot: TestHotLine): { label: string; description: string } {
  const file = hot.uri ? decodeURIComponent(hot.uri.slice(hot.uri.lastIndexOf('/') + 1)) : '?';
  return { label: `${file}:${hot.line + 1}`, description: `${hot.seconds.toFixed(3)} s  ${hot.source}` };
}
