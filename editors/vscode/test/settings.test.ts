import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CLIENT_SETTINGS, chooseInterpreter, explicitValue, serverSettings, SERVER_SETTINGS } from '../src/lib/settings';
import { packageJson, readRepoFile } from './paths';

test('only the values the user set are sent, nested as the server expects', () => {
  const user: Record<string, unknown> = { mode: 'cpu', 'hints.format': 'cpu', 'diagnostics.cpuPercent': 20, 'mcp.port': 0, timeout: 30 };
  const settings = serverSettings((key) => user[key], { trusted: true });
  assert.deepEqual(settings, { mode: 'cpu', timeout: 30, hints: { format: 'cpu' }, diagnostics: { cpuPercent: 20 }, mcp: { port: 0 } });
});

test('empty strings for cwd and python mean "not set"', () => {
  const user: Record<string, unknown> = { cwd: '', python: '  ' };
  assert.deepEqual(serverSettings((key) => user[key], { trusted: true }), {});
});

test('python: scalene.python, else the Python extension interpreter, else discovery', () => {
  assert.deepEqual(chooseInterpreter('/u/py', '/ext/py'), { python: '/u/py', source: 'scalene.python' });
  assert.deepEqual(chooseInterpreter('', '/ext/py'), { python: '/ext/py', source: 'Python extension' });
  assert.deepEqual(chooseInterpreter(undefined, undefined), { python: undefined, source: 'discovery' });
  assert.equal(serverSettings(() => undefined, { trusted: true, pythonExtensionInterpreter: '/ext/py' }).python, '/ext/py');
  assert.equal(
    serverSettings((key) => (key === 'python' ? '/u/py' : undefined), { trusted: true, pythonExtensionInterpreter: '/ext/py' }).python,
    '/u/py',
  );
  assert.equal('python' in serverSettings(() => undefined, { trusted: true }), false);
});

test('an untrusted workspace turns the MCP endpoint off whatever the settings say', () => {
  const user: Record<string, unknown> = { 'mcp.enabled': true, 'mcp.allowCode': true };
  assert.deepEqual(serverSettings((key) => user[key], { trusted: false }).mcp, { enabled: false, allowCode: false });
});

test('explicitValue takes the most specific scope and ignores defaults', () => {
  assert.equal(explicitValue({ defaultValue: 1 }), undefined);
  assert.equal(explicitValue({ defaultValue: 1, globalValue: 2 }), 2);
  assert.equal(explicitValue({ globalValue: 2, workspaceValue: 3 }), 3);
  assert.equal(explicitValue({ globalValue: 2, workspaceValue: 3, workspaceFolderValue: 4 }), 4);
  assert.equal(explicitValue({ workspaceFolderValue: 4, globalLanguageValue: 5 }), 5);
  assert.equal(explicitValue({ globalValue: false }), false);
  assert.equal(explicitValue(undefined), undefined);
});

function flatten(value: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      Object.assign(out, flatten(v as Record<string, unknown>, `${prefix}${key}.`));
    } else {
      out[`${prefix}${key}`] = v;
    }
  }
  return out;
}

function documentedDefaults(): Record<string, unknown> {
  const doc = readRepoFile('docs/lsp.md');
  const section = doc.slice(doc.indexOf('## Settings'));
  const match = /```json\n([\s\S]*?)```/.exec(section);
  assert.ok(match, 'docs/lsp.md has a JSON block under "## Settings"');
  return flatten(JSON.parse(match[1]));
}

test('SERVER_SETTINGS is exactly the settings documented in docs/lsp.md', () => {
  assert.deepEqual([...SERVER_SETTINGS].sort(), Object.keys(documentedDefaults()).sort());
});

test('package.json contributes every server setting and the client settings, each with type, default and description', () => {
  const properties = packageJson().contributes.configuration.properties as Record<string, Record<string, unknown>>;
  const expected = [...SERVER_SETTINGS, ...CLIENT_SETTINGS].map((key) => `scalene.${key}`).sort();
  assert.deepEqual(Object.keys(properties).sort(), expected);
  for (const [key, property] of Object.entries(properties)) {
    assert.ok(property.type, `${key} has a type`);
    assert.ok('default' in property, `${key} has a default`);
    assert.ok(typeof property.description === 'string' && property.description.length > 10, `${key} has a description`);
    if (Array.isArray(property.enum)) {
      assert.ok((property.enum as unknown[]).includes(property.default), `${key}: the default is one of its values`);
    }
  }
});

test("package.json defaults are the server's documented defaults (docs/lsp.md)", () => {
  const properties = packageJson().contributes.configuration.properties as Record<string, { default: unknown }>;
  for (const [key, documented] of Object.entries(documentedDefaults())) {
    const contributed = properties[`scalene.${key}`].default;
    // The server documents "not set" as null; VS Code shows it as an empty string.
    assert.deepEqual(contributed, documented === null ? '' : documented, `scalene.${key}`);
  }
});
