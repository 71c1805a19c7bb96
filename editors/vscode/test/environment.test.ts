import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fixCommand, languageStatus, problemKey } from '../src/lib/environment';

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
