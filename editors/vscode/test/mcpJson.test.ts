import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { updateMcpJson, writeWhole } from '../src/lib/mcpJson';

const entry = { command: '/opt/scalene-lsp', args: ['mcp'] };

test('no file: a new one with just the scalene entry', () => {
  const r = updateMcpJson(undefined, '/opt/scalene-lsp');
  assert.ok(r.ok);
  assert.equal(r.action, 'created');
  assert.deepEqual(JSON.parse(r.text), { mcpServers: { scalene: entry } });
  assert.ok(r.text.endsWith('\n'));
});

test('other servers and top-level keys are kept, in order', () => {
  const existing = JSON.stringify({ mcpServers: { other: { command: 'x', args: ['y'] } }, extra: 1 });
  const r = updateMcpJson(existing, '/opt/scalene-lsp');
  assert.ok(r.ok);
  assert.equal(r.action, 'updated');
  const parsed = JSON.parse(r.text);
  assert.deepEqual(parsed, { mcpServers: { other: { command: 'x', args: ['y'] }, scalene: entry }, extra: 1 });
  assert.deepEqual(Object.keys(parsed), ['mcpServers', 'extra']);
});

test('an existing scalene entry gets the new command and keeps its other fields (env)', () => {
  const existing = JSON.stringify({ mcpServers: { scalene: { command: '/old', args: ['mcp', '--standalone'], env: { A: '1' } } } });
  const r = updateMcpJson(existing, '/opt/scalene-lsp');
  assert.ok(r.ok);
  assert.deepEqual(JSON.parse(r.text).mcpServers.scalene, { command: '/opt/scalene-lsp', args: ['mcp'], env: { A: '1' } });
});

test('the same entry again is "unchanged"', () => {
  const first = updateMcpJson(undefined, '/opt/scalene-lsp');
  assert.ok(first.ok);
  const again = updateMcpJson(first.text, '/opt/scalene-lsp');
  assert.ok(again.ok);
  assert.equal(again.action, 'unchanged');
});

test('a file that is not valid JSON, or not an object, is left alone with a message', () => {
  for (const bad of ['{ "mcpServers": ', '[1, 2]', '{"mcpServers": []}', '"text"']) {
    const r = updateMcpJson(bad, '/opt/scalene-lsp');
    assert.equal(r.ok, false, bad);
    assert.ok(!r.ok && /left as it is/.test(r.message), bad);
  }
});

test('an empty file counts as no file', () => {
  const r = updateMcpJson('  \n', '/opt/scalene-lsp');
  assert.ok(r.ok);
  assert.equal(r.action, 'created');
});

test('writeWhole replaces the file by renaming, keeps its mode, and leaves no temporary file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpjson-'));
  try {
    const file = path.join(dir, '.mcp.json');
    fs.writeFileSync(file, '{"mcpServers": {}}\n', { mode: 0o600 });
    const before = fs.statSync(file).ino;
    await writeWhole(file, '{"mcpServers": {"scalene": {}}}\n');
    assert.equal(fs.readFileSync(file, 'utf8'), '{"mcpServers": {"scalene": {}}}\n');
    assert.notEqual(fs.statSync(file).ino, before, 'a new file renamed over the old one, not the old one truncated');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir), ['.mcp.json']);
    await writeWhole(path.join(dir, 'new.json'), '{}\n');
    assert.equal(fs.statSync(path.join(dir, 'new.json')).mode & 0o777, 0o644);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writeWhole into a folder that cannot be written: the error, the old file intact, no temporary file', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('root writes into read-only folders');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpjson-'));
  const file = path.join(dir, '.mcp.json');
  fs.writeFileSync(file, 'old\n');
  fs.chmodSync(dir, 0o500);
  try {
    await assert.rejects(writeWhole(file, 'new\n'));
    assert.equal(fs.readFileSync(file, 'utf8'), 'old\n');
    assert.deepEqual(fs.readdirSync(dir), ['.mcp.json']);
  } finally {
    fs.chmodSync(dir, 0o700);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
