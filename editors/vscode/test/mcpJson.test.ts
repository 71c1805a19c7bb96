import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { updateMcpJson } from '../src/lib/mcpJson';

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
