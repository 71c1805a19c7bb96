import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { languageStatus, problemKey, problemMessage } from '../src/lib/environment';

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

test("the problem's message is shown once per interpreter, and its button copies the server's fix command", () => {
  const missing = {
    ok: false,
    kind: 'scalene_missing',
    python: '/w/.venv/bin/python',
    message: 'Scalene is not installed for "/w/.venv/bin/python" (`import scalene` failed: No module named scalene). Fix: "/w/.venv/bin/python" -m pip install scalene',
    fixCommand: '"/w/.venv/bin/python" -m pip install scalene',
  };
  assert.deepEqual(problemMessage(missing), { message: missing.message, command: missing.fixCommand });
  // No command from the server: nothing to copy, whatever the message says.
  const broken = { ok: false, kind: 'interpreter_broken', message: 'the Python interpreter "/p" does not run: exit code 1. Fix: check that it is a working Python 3 executable' };
  assert.deepEqual(problemMessage(broken), { message: `Scalene: ${broken.message}`, command: undefined });
  assert.equal(problemMessage({ ok: false }).message, 'Scalene: the interpreter cannot run Scalene.');
  assert.notEqual(problemKey({ ok: false, kind: 'scalene_missing', python: '/a' }), problemKey({ ok: false, kind: 'scalene_missing', python: '/b' }));
  assert.equal(problemKey({ ok: false, kind: 'scalene_missing', python: '/a' }), problemKey({ ...missing, python: '/a' }));
});
