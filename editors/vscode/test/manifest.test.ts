import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMANDS, SERVER_COMMANDS, processItem } from '../src/lib/commands';
import { EXTENSION_DIR, packageJson, readRepoFile } from './paths';

const pkg = packageJson();
const contributed: string[] = pkg.contributes.commands.map((c: { command: string }) => c.command);

test('every command used in menus and keybindings is contributed', () => {
  const used: string[] = [];
  for (const items of Object.values(pkg.contributes.menus) as { command: string }[][]) {
    used.push(...items.map((item) => item.command));
  }
  used.push(...pkg.contributes.keybindings.map((k: { command: string }) => k.command));
  for (const command of used) {
    assert.ok(contributed.includes(command), `${command} is contributed`);
  }
});

test('the contributed commands are exactly the ones the extension registers, in category Scalene, with distinct titles', () => {
  assert.deepEqual([...contributed].sort(), Object.values(COMMANDS).sort());
  const titles = pkg.contributes.commands.map((c: { title: string }) => c.title);
  assert.equal(new Set(titles).size, titles.length);
  for (const c of pkg.contributes.commands) {
    assert.equal(c.category, 'Scalene', c.command);
  }
});

test("no extension command has a server command's id (the Command Palette shows no duplicates)", () => {
  const documented = [...readRepoFile('docs/lsp.md').matchAll(/^\| `(scalene\.\w+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...SERVER_COMMANDS].sort());
  for (const id of SERVER_COMMANDS) {
    assert.ok(!contributed.includes(id), id);
  }
});

test('the run menu adds to the editor title run menu without replacing the default Run action', () => {
  const run = pkg.contributes.menus['editor/title/run'];
  assert.ok(Array.isArray(run) && run.length > 0);
  for (const item of run) {
    assert.match(item.when, /resourceLangId == python/);
    assert.notEqual(item.group, 'navigation');
  }
  assert.equal(pkg.contributes.menus['editor/title'], undefined);
});

test('the keybinding needs a focused Python editor', () => {
  for (const k of pkg.contributes.keybindings) {
    assert.match(k.when, /editorTextFocus/);
    assert.match(k.when, /editorLangId == python/);
  }
});

test('engine ^1.101 (MCP provider API), @types/vscode at that minimum, exact pins', () => {
  assert.equal(pkg.engines.vscode, '^1.101.0');
  assert.equal(pkg.devDependencies['@types/vscode'], '1.101.0');
  for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    assert.match(version as string, /^\d+\.\d+\.\d+$/, `${name} is pinned exactly`);
  }
  assert.ok(fs.existsSync(path.join(EXTENSION_DIR, 'package-lock.json')), 'package-lock.json is committed');
});

test('activation on Python files; the MCP provider id matches the one the code registers', () => {
  assert.ok(pkg.activationEvents.includes('onLanguage:python'));
  const ids = pkg.contributes.mcpServerDefinitionProviders.map((p: { id: string }) => p.id);
  const source = fs.readFileSync(path.join(EXTENSION_DIR, 'src', 'vscode', 'mcp.ts'), 'utf8');
  const registered = [...source.matchAll(/registerMcpServerDefinitionProvider\('([^']+)'/g)].map((m) => m[1]);
  assert.deepEqual(registered, ids);
});

test('untrusted workspaces: limited, with scalene.path restricted', () => {
  const untrusted = pkg.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, 'limited');
  assert.ok(untrusted.restrictedConfigurations.includes('scalene.path'));
  assert.ok(untrusted.restrictedConfigurations.includes('scalene.python'));
});

test('no module under src/lib imports vscode (they are tested in plain Node)', () => {
  const dir = path.join(EXTENSION_DIR, 'src', 'lib');
  for (const file of fs.readdirSync(dir)) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    assert.doesNotMatch(text, /from 'vscode'|require\('vscode'\)/, file);
  }
});

test('Attach to Process lists a process by pid and command line, the workspace and its age beside it', () => {
  const item = processItem({ pid: 12, command_line: 'python app.py', cwd: '/w', age_s: 125, python_version: '3.11.7', in_workspace: true });
  assert.deepEqual(item, { label: '12  python app.py', description: 'in this workspace · Python 3.11.7 · started 2 min ago', detail: '/w' });
  assert.equal(processItem({ pid: 1, command_line: 'x', age_s: 7200, in_workspace: false }).description, 'started 2 h ago');
});
