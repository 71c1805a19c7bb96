import * as path from 'node:path';
import * as fs from 'node:fs';

/** editors/vscode (tests run from out/test/). */
export const EXTENSION_DIR = path.resolve(__dirname, '..', '..');
export const REPO_ROOT = path.resolve(EXTENSION_DIR, '..', '..');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function packageJson(): any {
  return JSON.parse(fs.readFileSync(path.join(EXTENSION_DIR, 'package.json'), 'utf8'));
}

export function readRepoFile(relative: string): string {
  return fs.readFileSync(path.join(REPO_ROOT, relative), 'utf8');
}
