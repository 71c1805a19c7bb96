import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatArgs, parseArgs } from '../src/lib/args';
import { fixCommand, languageStatus, problemKey } from '../src/lib/environment';
import { endedView, outcomeOf, parseReport, parseTitle, recordingText, runIdFromToken, runningView } from '../src/lib/progress';

test('arguments split like a shell, with quotes and escapes', () => {
  assert.deepEqual(parseArgs(`--input "my data.csv" -v 'it''s' a\\ b`), { ok: true, args: ['--input', 'my data.csv', '-v', 'its', 'a b'] });
  assert.deepEqual(parseArgs('  '), { ok: true, args: [] });
  assert.deepEqual(parseArgs(`""`), { ok: true, args: [''] });
  assert.deepEqual(parseArgs(`"a \\"q\\" b"`), { ok: true, args: ['a "q" b'] });
});

test('an unclosed quote and a bare -- are refused with the reason', () => {
  const unclosed = parseArgs('"abc');
  assert.ok(!unclosed.ok && /unclosed/.test(unclosed.message));
  const dashes = parseArgs('a -- b');
  assert.ok(!dashes.ok && /--name=value/.test(dashes.message));
  assert.equal(parseArgs('--x=--').ok, true);
});

test('formatted arguments parse back to the same list', () => {
  for (const args of [['a', 'b c', "it's", ''], ['--n=1', '-v'], []]) {
    assert.deepEqual(parseArgs(formatArgs(args)), { ok: true, args });
  }
});

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

test('the language status shows Scalene and Python versions, or the problem', () => {
  const ok = languageStatus('running', { ok: true, python: '/w/.venv/bin/python', source: "the project's .venv/ virtual environment", pythonVersion: '3.11.7', scaleneVersion: '2.4.0' }, 'discovery');
  assert.equal(ok.text, 'Scalene 2.4.0 · Python 3.11.7');
  assert.match(ok.detail, /\/w\/\.venv\/bin\/python \(the project's \.venv/);
  assert.equal(ok.severity, 'information');
  const viaExt = languageStatus('running', { ok: true, python: '/p', pythonVersion: '3.12', scaleneVersion: '2.4.0' }, 'Python extension');
  assert.match(viaExt.detail, /from Python extension/);
  const missing = languageStatus('running', { ok: false, kind: 'scalene_missing', python: '/p', message: 'Scalene is not installed' });
  assert.equal(missing.text, 'Scalene: Scalene missing');
  assert.equal(missing.severity, 'error');
  assert.equal(languageStatus('failed', undefined).severity, 'error');
  assert.equal(languageStatus('starting', undefined).busy, true);
});

test('the fix command is taken from the server message', () => {
  const msg = 'Scalene is not installed for "/w/.venv/bin/python" (`import scalene` failed: No module named scalene). Fix: "/w/.venv/bin/python" -m pip install scalene';
  assert.equal(fixCommand(msg), '"/w/.venv/bin/python" -m pip install scalene');
  const upgrade = 'x has Scalene 1.5, but ... Fix: "/p" -m pip install --upgrade "scalene>=2,<3"';
  assert.equal(fixCommand(upgrade), '"/p" -m pip install --upgrade "scalene>=2,<3"');
  const none = 'no Python interpreter found. Tried: x. Fix: create a virtual environment with Scalene in the project (`python3 -m venv .venv && .venv/bin/python -m pip install scalene`), or name one';
  assert.equal(fixCommand(none), 'python3 -m venv .venv && .venv/bin/python -m pip install scalene');
  assert.equal(fixCommand('something else'), undefined);
  assert.notEqual(problemKey({ ok: false, kind: 'scalene_missing', python: '/a' }), problemKey({ ok: false, kind: 'scalene_missing', python: '/b' }));
});

test('the MCP token is redacted from logged text, in plain, pretty and escaped JSON and Bearer headers', async () => {
  const { redactSecrets } = await import('../src/lib/redact');
  const token = 'a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuV_-xyz';
  for (const text of [
    `{"url":"http://127.0.0.1:4000/mcp","token":"${token}"}`,
    `{\n    "url": "http://127.0.0.1:4000/mcp",\n    "token": "${token}"\n}`,
    `"{\\"token\\":\\"${token}\\"}"`,
    `Authorization: Bearer ${token}`,
  ]) {
    const redacted = redactSecrets(text);
    assert.ok(!redacted.includes(token), redacted);
    assert.match(redacted, /<redacted>/);
  }
  assert.equal(redactSecrets('"url": "http://127.0.0.1:4000/mcp"'), '"url": "http://127.0.0.1:4000/mcp"');
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
