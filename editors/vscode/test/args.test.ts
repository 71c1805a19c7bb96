import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatArgs, parseArgs } from '../src/lib/args';

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
