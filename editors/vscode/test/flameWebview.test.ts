import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXTENSION_DIR } from './paths';

test('the webview loads only bundled files, under a strict Content-Security-Policy with a nonce', () => {
  const panel = fs.readFileSync(path.join(EXTENSION_DIR, 'src', 'vscode', 'flamePanel.ts'), 'utf8');
  assert.match(panel, /default-src 'none'/);
  assert.match(panel, /script-src 'nonce-\$\{nonce\}'/);
  assert.doesNotMatch(panel, /unsafe-inline|unsafe-eval|https?:\/\//);
  const ignore = fs.readFileSync(path.join(EXTENSION_DIR, '.vscodeignore'), 'utf8');
  for (const file of ['flame.js', 'flame.css']) {
    assert.match(panel, new RegExp(`joinPath\\(dist, '${file.replace('.', '\\.')}'\\)`));
    assert.match(ignore, new RegExp(`^!dist/${file.replace('.', '\\.')}$`, 'm'), `${file} goes into the .vsix`);
  }
  const webview = fs.readFileSync(path.join(EXTENSION_DIR, 'src', 'webview', 'flame.ts'), 'utf8');
  assert.doesNotMatch(webview, /https?:\/\/|innerHTML|eval\(/);
});
