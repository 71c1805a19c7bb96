// A run as the status bar shows it, from the server's work-done progress (token `scalene-run-N`: begin
// with title `Scalene: profiling <file>`, report `<N> s`, end with a one-line summary). No `vscode` import.

export const RUN_TOKEN_PREFIX = 'scalene-run-';

/** `scalene-run-3` -> `run-3` (the id scalene.cancel takes); undefined for other tokens. */
export function runIdFromToken(token: string | number): string | undefined {
  if (typeof token !== 'string' || !token.startsWith(RUN_TOKEN_PREFIX)) {
    return undefined;
  }
  const n = token.slice(RUN_TOKEN_PREFIX.length);
  return /^\d+$/.test(n) ? `run-${n}` : undefined;
}

/** The file name from the begin title. */
export function fileFromTitle(title: string | undefined): string | undefined {
  const match = /profiling (.+)$/.exec(title ?? '');
  return match ? match[1].trim() : undefined;
}

export interface RunView {
  text: string;
  tooltip: string;
}

export function runningView(file: string | undefined, message: string | undefined): RunView {
  const elapsed = message && /^\d+(\.\d+)? ?s$/.test(message.trim()) ? message.trim() : '0 s';
  return {
    text: `$(sync~spin) Scalene: ${file ?? 'profiling'} ${elapsed}`,
    tooltip: `Profiling${file ? ` ${file}` : ''} with Scalene (${elapsed}). Click to cancel: the partial profile is kept.`,
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
