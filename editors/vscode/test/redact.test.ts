import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { redactSecrets } from '../src/lib/redact';

test('the MCP token is redacted from logged text, in plain, pretty and escaped JSON and Bearer headers', () => {
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
