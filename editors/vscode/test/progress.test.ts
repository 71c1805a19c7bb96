import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { endedView, outcomeOf, parseReport, parseTitle, recordingText, runIdFromToken, runningView } from '../src/lib/progress';

test('progress tokens map to run ids; other tokens are not ours', () => {
  assert.equal(runIdFromToken('scalene-run-3'), 'run-3');
  assert.equal(runIdFromToken('scalene-run-x'), undefined);
  assert.equal(runIdFromToken('other-1'), undefined);
  assert.equal(runIdFromToken(7), undefined);
  assert.equal(parseTitle('Scalene: profiling cpu_bound.py').file, 'cpu_bound.py');
  assert.deepEqual(parseTitle('Scalene: profiling server.py live'), { file: 'server.py', live: true });
  assert.deepEqual(parseTitle('Scalene: profiling test test_app.py::TestA::test_b'), { file: 'test_app.py::TestA::test_b', live: false });
  assert.deepEqual(parseTitle('something else'), { file: undefined, live: false });
});

test('live and repeated runs: the status bar keeps the elapsed seconds and says when recording is paused', () => {
  assert.equal(
    runningView('server.py', '7 s · hottest so far: server.py:42 (31.0% CPU)', true).text,
    '$(sync~spin) Scalene: server.py (live) 7 s',
  );
  assert.match(runningView('server.py', '7 s · hottest so far: server.py:42 (31.0% CPU)', true).tooltip, /Hottest so far: server\.py:42 \(31\.0% CPU\)/);
  const paused = runningView('server.py', '3 s · recording paused', true);
  assert.equal(paused.text, '$(debug-pause) Scalene: server.py (live) 3 s · paused');
  assert.match(paused.tooltip, /Resume Recording/);
  assert.equal(runningView('app.py', 'run 2/3 · 5 s').text, '$(sync~spin) Scalene: app.py run 2/3 5 s');
  assert.deepEqual(parseReport('12 s · recording paused · hottest so far: a.py:3 (9.0% CPU)'), {
    elapsed: '12 s',
    series: undefined,
    paused: true,
    hottest: 'a.py:3 (9.0% CPU)',
  });
});

test('status bar texts: spinner with elapsed seconds, then the summary by outcome', () => {
  assert.equal(runningView('cpu_bound.py', '12 s').text, '$(sync~spin) Scalene: cpu_bound.py 12 s');
  assert.equal(runningView('cpu_bound.py', 'starting').text, '$(sync~spin) Scalene: cpu_bound.py 0 s');
  assert.match(runningView('a.py', '1 s').tooltip, /Click to cancel/);
  assert.equal(endedView('a.py', 'ok in 1.3 s · hottest: a.py:15 (32.2% CPU)').text, '$(check) Scalene: ok in 1.3 s');
  assert.equal(endedView('a.py', 'cancelled in 3.0 s').text, '$(debug-stop) Scalene: cancelled in 3.0 s');
  assert.equal(outcomeOf('failed: scalene missing'), 'failed');
  assert.equal(outcomeOf('program_failed in 0.4 s'), 'failed');
  assert.equal(outcomeOf('timed_out in 600.0 s'), 'timed_out');
  assert.equal(outcomeOf('too_short in 0.0 s'), 'failed');
});

test('a pause or resume says whether it is on its way, in place, or was already so', () => {
  const answer = { run_id: 'run-3', requested: false, recording: true, changed: true, pending: true };
  assert.equal(recordingText(false, answer), 'pausing recording');
  assert.equal(recordingText(false, { ...answer, recording: false, pending: false }), 'recording paused');
  assert.equal(recordingText(false, { ...answer, recording: false, changed: false, pending: false }), 'was already paused');
  assert.equal(recordingText(true, { ...answer, requested: true, recording: false }), 'resuming recording');
  assert.equal(recordingText(true, { ...answer, requested: true, changed: false, pending: false }), 'was already recording');
});

test('a report says when a pause or resume is on its way, and still reads as paused while paused', () => {
  assert.equal(parseReport('4 s · pausing recording').paused, false);
  assert.equal(parseReport('4 s · recording paused · resuming recording').paused, true);
  assert.equal(parseReport('4 s · recording paused · resuming recording · hottest so far: a.py:3 (9.0% CPU)').hottest, 'a.py:3 (9.0% CPU)');
});
