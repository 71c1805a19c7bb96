// A run as the status bar shows it, from the server's `scalene/runStatus` notifications (docs/lsp.md:
// begin, a report about every second and on each pause or resume, end with the outcome). No `vscode`
// import.

export const RUN_TOKEN_PREFIX = 'scalene-run-';

/** `scalene-run-3` -> `run-3`: the server's work-done progress of a run (which the status bar replaces);
 * undefined for other tokens. */
export function runIdFromToken(token: string | number): string | undefined {
  if (typeof token !== 'string' || !token.startsWith(RUN_TOKEN_PREFIX)) {
    return undefined;
  }
  const n = token.slice(RUN_TOKEN_PREFIX.length);
  return /^\d+$/.test(n) ? `run-${n}` : undefined;
}

/** The hottest line so far (a live run's newest snapshot), or of the final profile. */
export interface HottestLine {
  uri?: string;
  /** The file name. */
  file: string;
  /** 0-based line of the profiled text. */
  line: number;
  /** CPU percent of the run. */
  cpu: number;
}

/** `scalene/runStatus` (docs/lsp.md). */
export interface RunStatusParams {
  runId: string;
  uri: string;
  phase: 'begin' | 'report' | 'end';
  kind: 'profile' | 'live' | 'test' | 'compare' | 'repeat' | 'attach';
  live: boolean;
  test?: string;
  /** The process an `attach` run samples. */
  pid?: number;
  recording: boolean;
  recordingRequested: boolean;
  elapsedS: number;
  series?: { current: number; total: number };
  hottest?: HottestLine;
  /** The profile shown for the run: its newest snapshot (reports), the final profile (end). */
  profileId?: string;
  /** At the end: `ok`, `program_failed`, `too_short`, `cancelled`, `timed_out`, or `failed` (no profile). */
  status?: string;
  /** With `failed`: the error's kind (`scalene_missing`, ...). */
  error?: string;
  /** At the end: the one-line summary. */
  summary?: string;
}

/** The `test` of a whole suite's run (`scalene.profileTests`; its `uri` is the folder). */
export const SUITE_TEST = '(the pytest suite)';

/** What the run is of: `app.py`, `test_app.py::TestA::test_b` for one test, `the pytest suite in proj`. */
export function runName(status: Pick<RunStatusParams, 'uri' | 'test'>): string {
  const last = status.uri.replace(/[?#].*$/, '').split('/').pop() ?? '';
  let file: string;
  try {
    file = decodeURIComponent(last);
  } catch {
    file = last;
  }
  if (status.test === SUITE_TEST) {
    return `the pytest suite in ${file}`;
  }
  return status.test ? `${file}::${status.test}` : file;
}

/** `app.py:42 (31.0% CPU)`. */
export function hottestText(hottest: HottestLine): string {
  return `${hottest.file}:${hottest.line + 1} (${hottest.cpu.toFixed(1)}% CPU)`;
}

export interface RunView {
  text: string;
  tooltip: string;
}

/** The status bar while a run goes on: spinner (pause icon while paused), file, seconds. */
export function runningView(status: RunStatusParams): RunView {
  if (status.kind === 'attach') {
    const lines = [`py-spy is sampling process ${status.pid ?? '?'} (attached, not started by Scalene) for ${Math.floor(status.elapsedS)} s.`];
    if (status.hottest) {
      lines.push(`Hottest so far: ${hottestText(status.hottest)}.`);
    }
    lines.push('Click to detach: the process runs on, its profile is kept.');
    return { text: `$(debug-disconnect) Scalene: attached to ${status.pid ?? '?'} ${Math.floor(status.elapsedS)} s · Detach`, tooltip: lines.join('\n') };
  }
  const file = runName(status);
  const paused = !status.recording;
  const elapsed = `${Math.floor(status.elapsedS)} s`;
  const series = status.series ? `run ${status.series.current}/${status.series.total}` : undefined;
  const icon = paused ? '$(debug-pause)' : '$(sync~spin)';
  const lines = [`Profiling ${file} with Scalene${status.live ? ', live' : ''} (${elapsed}${series ? `, ${series}` : ''}).`];
  if (paused) {
    lines.push('Recording is paused: "Scalene: Resume Recording" switches it on.');
  }
  if (status.hottest) {
    lines.push(`Hottest so far: ${hottestText(status.hottest)}.`);
  }
  lines.push('Click to cancel: the partial profile is kept.');
  return {
    text: `${icon} Scalene: ${file}${status.live ? ' (live)' : ''}${series ? ` ${series}` : ''} ${elapsed}${paused ? ' · paused' : ''}`,
    tooltip: lines.join('\n'),
  };
}

export type RunOutcome = 'ok' | 'cancelled' | 'timed_out' | 'failed' | 'unknown';

/** How a run ended, from the end's `status`. */
export function outcomeOf(status: string | undefined): RunOutcome {
  switch (status) {
    case 'ok':
      return 'ok';
    case 'cancelled':
      return 'cancelled';
    case 'timed_out':
      return 'timed_out';
    case 'failed':
    case 'program_failed':
    case 'too_short':
      return 'failed';
    default:
      return 'unknown';
  }
}

/** The status bar once a run ended: `ok in 1.3 s`, `cancelled in 3.2 s`, `failed: scalene missing`;
 * the summary in the tooltip. */
export function endedView(end: RunStatusParams): RunView {
  const outcome = outcomeOf(end.status);
  const icon = outcome === 'ok' ? '$(check)' : outcome === 'cancelled' ? '$(debug-stop)' : outcome === 'unknown' ? '$(info)' : '$(warning)';
  const short = end.error !== undefined ? `failed: ${end.error.replace(/_/g, ' ')}` : `${end.status ?? 'done'} in ${end.elapsedS.toFixed(1)} s`;
  return {
    text: `${icon} Scalene: ${short}`,
    tooltip: `${runName(end)}: ${end.summary ?? short}`,
  };
}

/** The answer of `scalene.pause` / `scalene.resume` (docs/lsp.md): what was asked and what Scalene confirmed. */
export interface RecordingAnswer {
  run_id: string;
  requested: boolean;
  recording: boolean;
  changed: boolean;
  /** Scalene has not confirmed the newest wish yet; the run's status reports when it has. */
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
