import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { brokenBinaryMessage, commandLine, expandPath, findOnPath, resolveServerBinary, type BinaryQuery } from '../src/lib/binary';

type State = ReturnType<BinaryQuery['probe']>;

function query(files: Record<string, State>, overrides: Partial<BinaryQuery> = {}): BinaryQuery {
  return {
    configuredPath: undefined,
    trusted: true,
    bundledPath: '/ext/bin/scalene-lsp',
    pathEnv: '/usr/local/bin:/home/u/.cargo/bin',
    workspaceFolder: '/ws',
    home: '/home/u',
    platform: 'linux',
    probe: (file) => files[file] ?? 'missing',
    ...overrides,
  };
}

test('the scalene.path setting wins over the bundled binary and PATH', () => {
  const r = resolveServerBinary(
    query({ '/opt/scalene-lsp': 'ok', '/ext/bin/scalene-lsp': 'ok', '/usr/local/bin/scalene-lsp': 'ok' }, { configuredPath: '/opt/scalene-lsp' }),
  );
  assert.deepEqual(r, { ok: true, path: '/opt/scalene-lsp', source: 'setting', notes: [] });
});

test('then the bundled binary, then PATH in order', () => {
  assert.equal(resolveServerBinary(query({ '/ext/bin/scalene-lsp': 'ok', '/usr/local/bin/scalene-lsp': 'ok' })).ok && 'bundled', 'bundled');
  const r = resolveServerBinary(query({ '/home/u/.cargo/bin/scalene-lsp': 'ok' }));
  assert.ok(r.ok);
  assert.equal(r.path, '/home/u/.cargo/bin/scalene-lsp');
  assert.equal(r.source, 'path');
});

test('a PATH entry that is not executable is skipped', () => {
  const r = resolveServerBinary(query({ '/usr/local/bin/scalene-lsp': 'not-executable', '/home/u/.cargo/bin/scalene-lsp': 'ok' }));
  assert.ok(r.ok);
  assert.equal(r.path, '/home/u/.cargo/bin/scalene-lsp');
});

test('scalene.path pointing nowhere is one error that names the setting and the fix, without falling back', () => {
  const r = resolveServerBinary(query({ '/ext/bin/scalene-lsp': 'ok' }, { configuredPath: '/nowhere/scalene-lsp' }));
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.equal(r.fix, 'setting');
  assert.match(r.message, /scalene\.path is "\/nowhere\/scalene-lsp", which does not exist/);
  assert.match(r.message, /Fix: /);
});

test('scalene.path that is not executable says chmod', () => {
  const r = resolveServerBinary(query({ '/opt/s': 'not-executable' }, { configuredPath: '/opt/s' }));
  assert.ok(!r.ok);
  assert.match(r.message, /not executable.*chmod \+x "\/opt\/s"/);
});

test('~ and relative scalene.path values are expanded', () => {
  assert.equal(expandPath('~/bin/scalene-lsp', '/home/u', '/ws'), '/home/u/bin/scalene-lsp');
  assert.equal(expandPath('tools/scalene-lsp', '/home/u', '/ws'), '/ws/tools/scalene-lsp');
  const r = resolveServerBinary(query({ '/home/u/bin/scalene-lsp': 'ok' }, { configuredPath: '~/bin/scalene-lsp' }));
  assert.ok(r.ok);
  assert.equal(r.path, '/home/u/bin/scalene-lsp');
});

test('nothing found: one message with the install fix', () => {
  const r = resolveServerBinary(query({}));
  assert.ok(!r.ok);
  assert.equal(r.fix, 'install');
  assert.match(r.message, /scalene-lsp was not found/);
  assert.match(r.message, /cargo install --path \./);
  assert.match(r.message, /scalene\.path/);
});

test('untrusted workspace: only the bundled binary, the setting and PATH are ignored', () => {
  const files: Record<string, State> = { '/opt/s': 'ok', '/usr/local/bin/scalene-lsp': 'ok' };
  const withoutBundled = resolveServerBinary(query(files, { trusted: false, configuredPath: '/opt/s' }));
  assert.ok(!withoutBundled.ok);
  assert.equal(withoutBundled.fix, 'trust');
  assert.match(withoutBundled.notes[0], /ignored in an untrusted workspace/);
  const withBundled = resolveServerBinary(query({ ...files, '/ext/bin/scalene-lsp': 'ok' }, { trusted: false, configuredPath: '/opt/s' }));
  assert.ok(withBundled.ok);
  assert.equal(withBundled.source, 'bundled');
});

test('findOnPath uses ; and .exe on Windows', () => {
  const found = findOnPath('scalene-lsp', 'C:\\a;C:\\b', 'win32', (f) => (f.endsWith('scalene-lsp.exe') && f.includes('b') ? 'ok' : 'missing'));
  assert.ok(found?.endsWith('scalene-lsp.exe'));
  assert.equal(findOnPath('scalene-lsp', undefined, 'linux', () => 'ok'), undefined);
});

test('a broken binary message keeps to a few lines and says the fix for its source', () => {
  const m = brokenBinaryMessage('/opt/s', 'setting', 'exec format error\nline2\nline3\nline4');
  assert.match(m, /\/opt\/s \(the scalene\.path setting\) does not run: exec format error line2 line3\. Fix: point `scalene\.path`/);
  assert.match(brokenBinaryMessage('/e/bin/scalene-lsp', 'bundled', 'x'), /reinstall the extension/);
});

test('the logged command line quotes what a shell would need', () => {
  assert.equal(commandLine('/usr/bin/scalene-lsp', ['serve']), '/usr/bin/scalene-lsp serve');
  assert.equal(commandLine('/my tools/scalene-lsp', ['serve']), "'/my tools/scalene-lsp' serve");
});
