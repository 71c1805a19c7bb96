import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { hotLineEntry, testEntry } from '../src/lib/tests';

test('a test reads as its name in the file, its seconds and share, and its outcome unless it passed', () => {
  const item = { nodeId: 'tests/test_p.py::TestA::test_parse[big]', uri: 'file:///p/tests/test_p.py', line: 11, outcome: 'passed', seconds: 0.8412, share: 0.1234, hottest: [] };
  assert.deepEqual(testEntry(item), {
    label: 'TestA::test_parse[big]',
    description: '0.84 s · 12%',
    tooltip: "tests/test_p.py::TestA::test_parse[big]\n0.84 s · 12% of the suite's samples",
  });
  assert.equal(testEntry({ ...item, outcome: 'failed' }).description, '0.84 s · 12% · failed');
});

test('a hot line reads as file:line (1-based) with its seconds and text', () => {
  assert.deepEqual(hotLineEntry({ uri: 'file:///p/src/my%20parser.py', line: 87, seconds: 0.4123, source: 'total += x' }), {
    label: 'my parser.py:88',
    description: '0.412 s  total += x',
  });
});
