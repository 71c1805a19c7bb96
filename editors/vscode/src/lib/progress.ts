// A run as the status bar shows it, from the server's work-done progress (token `scalene-run-N`: begin
// with title `Scalene: profiling <file>[ live]`, reports `<N> s[ · recording paused][ · hottest so far:
// …]`, end with a one-line summary). No `vscode` import.

export const RUN_TOKEN_PREFIX = 'scalene-run-';

/** `scalene-run-3` -> `run-3` (the id scalene.cancel takes); undefined for other tokens. */
export function runIdFromToken(token: string | number): string | undefined {
  if (typeof token !== 'string' || !token.startsWith(RUN_TOKEN_PREFIX)) {
    return undefined;
  }
  const n = token.slice(RUN_TOKEN_PREFIX.length);
  return /^\d+$/.test(n) ? `run-${n}` : undefined;
}

/** What the begin title names: `Scalene: profiling app.py`, `… app.py live`, `… test t.py::test_x live`. */
export interface RunTitle {
  /** The file name, or `file::test` for one test. */
  file: string | undefined;
  live: boolean;
}

export function parseTitle(title: string | undefined): RunTitle {
  const match = /profiling (?:test )?(.+?)( live)?$/.exec((title ?? '').trim());
  return match ? { file: match[1].trim(), live: match[2] !== undefined } : { file: undefined, live: false };
}

/** A progress report: `12 s`, with `run 2/3 · ` before it and ` · recording paused`, ` · hottest so far:
 * app.py:42 (31.0% CPU)` after it when they apply (docs/lsp.md, Progress). */
export interface RunReport {
  elapsed: string;
  series: string | undefined;
  paused: boolean;
  hottest: string | undefined;
}

export function parseReport(message: string | undefined): RunReport {
  const match = /^(?:run (\d+\/\d+) · )?(\d+(?:\.\d+)?) ?s((?: · .*)?)$/.exec((message ?? '').trim());
  if (!match) {
    return { elapsed: '0 s', series: undefined, paused: false, hottest: undefined };
  }
  const extras = match[3]
    .split(' · ')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  const hottest = extras.find((part) => part.startsWith('hottest so far: '));
  return {
    elapsed: `${match[2]} s`,
    series: match[1],
    paused: extras.includes('recording paused'),
    hottest: hottest?.slice('hottest so far: '.length),
  };
}

export interface RunView {
  text: string;
  tooltip: string;
}

export function runningView(file: string | undefined, message: string | undefined, live = false): RunView {
  const report = parseReport(message);
  const icon = report.paused ? '$(debug-pause)' : '$(sync~spin)';
  const series = report.series ? ` run ${report.series}` : '';
  const paused = report.paused ? ' · paused' : '';
  const lines = [
    `Profiling${file ? ` ${file}` : ''} with Scalene${live ? ', live' : ''} (${report.elapsed}${report.series ? `, run ${report.series}` : ''}).`,
  ];
  if (report.paused) {
    lines.push('Recording is paused: "Scalene: Resume Recording" switches it on.');
  }
  if (report.hottest) {
    lines.push(`Hottest so far: ${report.hottest}.`);
  }
  lines.push('Click to cancel: the partial profile is kept.');
  return {
    text: `${icon} Scalene: ${file ?? 'profiling'}${live ? ' (live)' : ''}${series} ${report.elapsed}${paused}`,
    tooltip: lines.join('\n'),
  };
}

export type RunOutcome = 'ok' | 'cancelled' | 'timed_out' | 'failed' | 'unknown';

/** The outcome named at the start of the end summary (e.g. `ok in 1.3 s · hottest: ...`). */
export function outcomeOf(summary: string | undefined): RunOutcome {
  const first = (summary ?? '').trim().split(/\s/)[0]?.toLowerCase() ?? '';
  if (first === 'ok') {
    return 'ok';
  }
  if (first.startsWith('cancel')) {
    return 'cancelled';
  }
  if (first.startsWith('timed_out') || first.startsWith('timed')) {
    return 'timed_out';
  }
  if (/fail|error|too_short|program_failed/.test(first)) {
    return 'failed';
  }
  return 'unknown';
}

export function endedView(file: string | undefined, summary: string | undefined): RunView {
  const outcome = outcomeOf(summary);
  const icon = outcome === 'ok' ? '$(check)' : outcome === 'cancelled' ? '$(debug-stop)' : outcome === 'unknown' ? '$(info)' : '$(warning)';
  const short = (summary ?? 'done').split(' · ')[0];
  return {
    text: `${icon} Scalene: ${short}`,
    tooltip: `${file ? `${file}: ` : ''}${summary ?? 'done'}`,
  };
}

/** The answer of `scalene.pause` / `scalene.resume` (docs/lsp.md): what was asked and what Scalene confirmed. */
export interface RecordingAnswer {
  run_id: string;
  requested: boolean;
  recording: boolean;
  changed: boolean;
  /** Scalene has not confirmed the newest wish yet; the run's progress reports when it has. */
  pending: boolean;
}

/** `resuming recording` while on its way, `recording paused` once in place, `was already paused` when nothing changed. */
export function recordingText(on: boolean, answer: RecordingAnswer): string {
  if (answer.pending) {
    return on ? 'resuming recording' : 'pausing recording';
  }
  if (answer.changed) {
    return on ? 'recording' : 'recording paused';
  }
  return on ? 'was already recording' : 'was already paused';
}
