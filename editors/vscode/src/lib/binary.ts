// Which scalene-lsp binary the extension starts: the `scalene.path` setting, else the binary bundled in a
// platform-specific .vsix, else `scalene-lsp` on PATH. In an untrusted workspace only the bundled one.
// No `vscode` import: unit-tested in plain Node.
import * as path from 'node:path';

export type BinarySource = 'setting' | 'bundled' | 'path';

export interface BinaryQuery {
  /** The `scalene.path` setting ('' or undefined when unset). */
  configuredPath: string | undefined;
  /** Whether the workspace is trusted. */
  trusted: boolean;
  /** Where a platform-specific .vsix keeps the server (`<extension>/bin/scalene-lsp`). */
  bundledPath: string;
  /** $PATH. */
  pathEnv: string | undefined;
  /** For a relative `scalene.path`: the first workspace folder. */
  workspaceFolder?: string;
  /** For `~` in `scalene.path`. */
  home?: string;
  platform?: NodeJS.Platform;
  /** 'missing' | 'not-executable' | 'ok' for a path (injected so that tests need no files). */
  probe(file: string): 'missing' | 'not-executable' | 'directory' | 'ok';
}

export type BinaryResolution =
  | { ok: true; path: string; source: BinarySource; notes: string[] }
  | { ok: false; message: string; fix: 'setting' | 'install' | 'trust'; notes: string[] };

export const SERVER_NAME = 'scalene-lsp';

export function sourceDescription(source: BinarySource): string {
  switch (source) {
    case 'setting':
      return 'the scalene.path setting';
    case 'bundled':
      return 'bundled with the extension';
    case 'path':
      return 'found on PATH';
  }
}

const INSTALL_HINT =
  'Install it (`cargo install --path .` in a clone of scalene-lsp puts it in ~/.cargo/bin) or use the ' +
  'platform-specific build of this extension that bundles it, or set `scalene.path` to the binary.';

export function expandPath(configured: string, home: string | undefined, workspaceFolder: string | undefined): string {
  let p = configured.trim();
  if (home && (p === '~' || p.startsWith('~/'))) {
    p = path.join(home, p.slice(1));
  }
  if (!path.isAbsolute(p) && workspaceFolder) {
    p = path.join(workspaceFolder, p);
  }
  return p;
}

export function findOnPath(name: string, pathEnv: string | undefined, platform: NodeJS.Platform, probe: BinaryQuery['probe']): string | undefined {
  if (!pathEnv) {
    return undefined;
  }
  const separator = platform === 'win32' ? ';' : ':';
  const names = platform === 'win32' ? [`${name}.exe`, name] : [name];
  for (const dir of pathEnv.split(separator)) {
    if (!dir) {
      continue;
    }
    for (const candidate of names) {
      const file = path.join(dir, candidate);
      if (probe(file) === 'ok') {
        return file;
      }
    }
  }
  return undefined;
}

export function resolveServerBinary(query: BinaryQuery): BinaryResolution {
  const notes: string[] = [];
  const platform = query.platform ?? process.platform;
  const configured = query.configuredPath?.trim();
  if (configured) {
    if (!query.trusted) {
      notes.push(`scalene.path (${configured}) is ignored in an untrusted workspace: only the bundled server runs there.`);
    } else {
      const file = expandPath(configured, query.home, query.workspaceFolder);
      const state = query.probe(file);
      if (state === 'ok') {
        return { ok: true, path: file, source: 'setting', notes };
      }
      const what =
        state === 'missing' ? 'which does not exist' : state === 'directory' ? 'which is a folder' : 'which is not executable';
      const fix =
        state === 'not-executable'
          ? `make it executable (chmod +x "${file}")`
          : 'point `scalene.path` at the scalene-lsp binary, or clear the setting to use the bundled server or scalene-lsp on PATH';
      return {
        ok: false,
        message: `Scalene: the setting scalene.path is "${configured}", ${what}${file !== configured ? ` (${file})` : ''}. Fix: ${fix}.`,
        fix: 'setting',
        notes,
      };
    }
  }
  if (query.probe(query.bundledPath) === 'ok') {
    return { ok: true, path: query.bundledPath, source: 'bundled', notes };
  }
  if (!query.trusted) {
    return {
      ok: false,
      message:
        'Scalene: in an untrusted workspace only the server bundled with the extension runs, and this build of the ' +
        'extension has none. Fix: trust the workspace (then `scalene.path` or scalene-lsp on PATH is used), or install ' +
        'the platform-specific build of the extension.',
      fix: 'trust',
      notes,
    };
  }
  const onPath = findOnPath(SERVER_NAME, query.pathEnv, platform, query.probe);
  if (onPath) {
    return { ok: true, path: onPath, source: 'path', notes };
  }
  return {
    ok: false,
    message: `Scalene: the language server scalene-lsp was not found (no scalene.path setting, none bundled with the extension, none on PATH). Fix: ${INSTALL_HINT}`,
    fix: 'install',
    notes,
  };
}

/** The one message for a binary that exists but does not start (or fails its `--version` check). */
export function brokenBinaryMessage(file: string, source: BinarySource, detail: string): string {
  const fix =
    source === 'setting'
      ? 'point `scalene.path` at a working scalene-lsp binary, or clear it'
      : source === 'bundled'
        ? 'reinstall the extension (its bundled server may be for another platform), or set `scalene.path` to a scalene-lsp binary'
        : `reinstall scalene-lsp, or set \`scalene.path\` to a working binary. ${INSTALL_HINT}`;
  const clean = detail.trim().split('\n').slice(0, 3).join(' ').slice(0, 300);
  return `Scalene: the language server ${file} (${sourceDescription(source)}) does not run: ${clean}. Fix: ${fix}.`;
}

/** The command line as it is logged (quoted where needed), e.g. `/x/scalene-lsp serve`. */
export function commandLine(command: string, args: string[]): string {
  const quote = (part: string) => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part.replace(/'/g, `'\\''`)}'`);
  return [command, ...args].map(quote).join(' ');
}
