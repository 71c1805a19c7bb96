import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { endedView, outcomeOf, recordingText, runIdFromToken, runName, runningView, type RunStatusParams } from '../src/lib/progress';

/** A `scalene/runStatus` report of `/w/<file>` with `extra` over it. */
function status(file: string, extra: Partial<RunStatusParams> = {}): RunStatusParams {
  return {
    runId: 'run-3',
    uri: `file:///w/${file}`,
    phase: 'report',
    kind: 'profile',
    live: false,
    recording: true,
    recordingRequested: true,
    elapsedS: 12.7,
    ...extra,
  };
}

test("the server's progress tokens map to run ids; other tokens are not ours", () => {
  assert.equal(runIdFromToken('scalene-run-3'), 'run-3');
  assert.equal(runIdFromToken('scalene-run-x'), undefined);
  assert.equal(runIdFromToken('other-1'), undefined);
  assert.equal(runIdFromToken(7), undefined);
});

test('a run is named by its file (decoded from the uri), and a test run by file::test', () => {
  assert.equal(runName(status('cpu_bound.py')), 'cpu_bound.py');
  assert.equal(runName(status('my%20app%C3%A9.py')), 'my appé.py');
  assert.equal(runName(status('test_app.py', { kind: 'test', test: 'TestA::test_b' })), 'test_app.py::TestA::test_b');
  assert.equal(runName(status('proj', { kind: 'test', test: '(the pytest suite)' })), 'the pytest suite in proj');
});

test('status bar texts while running: spinner, file and whole seconds', () => {
  assert.equal(runningView(status('cpu_bound.py')).text, '$(sync~spin) Scalene: cpu_bound.py 12 s');
  assert.equal(runningView(status('cpu_bound.py', { phase: 'begin', elapsedS: 0 })).text, '$(sync~spin) Scalene: cpu_bound.py 0 s');
  assert.match(runningView(status('a.py')).tooltip, /^Profiling a\.py with Scalene \(12 s\)\.\nClick to cancel/);
  assert.equal(runningView(status('t.py', { kind: 'test', test: 'test_x', live: true })).text, '$(sync~spin) Scalene: t.py::test_x (live) 12 s');
});

test('live and repeated runs: the status bar keeps the elapsed seconds and says when recording is paused', () => {
  const hottest = { uri: 'file:///w/server.py', file: 'server.py', line: 41, cpu: 31.04 };
  const live = runningView(status('server.py', { kind: 'live', live: true, elapsedS: 7.2, hottest }));
  assert.equal(live.text, '$(sync~spin) Scalene: server.py (live) 7 s');
  assert.match(live.tooltip, /Hottest so far: server\.py:42 \(31\.0% CPU\)\./);
  const paused = runningView(status('server.py', { kind: 'live', live: true, elapsedS: 3, recording: false, recordingRequested: false }));
  assert.equal(paused.text, '$(debug-pause) Scalene: server.py (live) 3 s · paused');
  assert.match(paused.tooltip, /Resume Recording/);
  // A pause on its way is not a pause yet; a resume on its way still is paused.
  assert.doesNotMatch(runningView(status('a.py', { recordingRequested: false })).text, /paused/);
  assert.match(runningView(status('a.py', { recording: false })).text, /· paused$/);
  const repeat = runningView(status('app.py', { kind: 'repeat', elapsedS: 5.9, series: { current: 2, total: 3 } }));
  assert.equal(repeat.text, '$(sync~spin) Scalene: app.py run 2/3 5 s');
  assert.match(repeat.tooltip, /\(5 s, run 2\/3\)/);
});

test('status bar texts at the end: the outcome and its seconds, the summary in the tooltip', () => {
  const summary = 'ok in 1.3 s · hottest: a.py:15 (32.2% CPU)';
  const ok = endedView(status('a.py', { phase: 'end', status: 'ok', elapsedS: 1.27, summary }));
  assert.deepEqual(ok, { text: '$(check) Scalene: ok in 1.3 s', tooltip: `a.py: ${summary}` });
  assert.equal(endedView(status('a.py', { phase: 'end', status: 'cancelled', elapsedS: 3 })).text, '$(debug-stop) Scalene: cancelled in 3.0 s');
  assert.equal(endedView(status('a.py', { phase: 'end', status: 'timed_out', elapsedS: 600 })).text, '$(warning) Scalene: timed_out in 600.0 s');
  const failed = endedView(status('a.py', { phase: 'end', status: 'failed', error: 'scalene_missing', summary: 'failed: scalene missing' }));
  assert.deepEqual(failed, { text: '$(warning) Scalene: failed: scalene missing', tooltip: 'a.py: failed: scalene missing' });
  assert.equal(outcomeOf('program_failed'), 'failed');
  assert.equal(outcomeOf('too_short'), 'failed');
  assert.equal(outcomeOf('something_new'), 'unknown');
  assert.equal(endedView(status('a.py', { phase: 'end', status: 'something_new', elapsedS: 1 })).text, '$(info) Scalene: something_new in 1.0 s');
});

test('a pause or resume says whether it is on its way, in place, or was already so', () => {
  const answer = { run_id: 'run-3', requested: false, recording: true, changed: true, pending: true };
  assert.equal(recordingText(false, answer), 'pausing recording');
  assert.equal(recordingText(false, { ...answer, recording: false, pending: false }), 'recording paused');
  assert.equal(recordingText(false, { ...answer, recording: false, changed: false, pending: false }), 'was already paused');
  assert.equal(recordingText(true, { ...answer, requested: true, recording: false }), 'resuming recording');
  assert.equal(recordingText(true, { ...answer, requested: true, changed: false, pending: false }), 'was already recording');
});

test('an attach run: the status bar names the process and offers to detach', () => {
  const attached = status('split.py', { kind: 'attach', pid: 4242, live: true, elapsedS: 3.4 });
  assert.equal(runningView(attached).text, '$(debug-disconnect) Scalene: attached to 4242 3 s · Detach');
  assert.match(runningView(attached).tooltip, /py-spy is sampling process 4242 .*\nClick to detach: the process runs on/);
});
