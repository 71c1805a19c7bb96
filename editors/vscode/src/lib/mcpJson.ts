// Writes or updates a workspace `.mcp.json` (the file terminal agents read) with the scalene entry
// `{"mcpServers": {"scalene": {"command": <server>, "args": ["mcp"]}}}`, keeping every other entry.
// No `vscode` import: unit-tested in plain Node.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export type McpJsonUpdate =
  | { ok: true; text: string; action: 'created' | 'updated' | 'unchanged' }
  | { ok: false; message: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `existing` is the file's text, or undefined when there is no file. */
export function updateMcpJson(existing: string | undefined, serverPath: string): McpJsonUpdate {
  let root: Record<string, unknown> = {};
  if (existing !== undefined && existing.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(existing);
    } catch (err) {
      return {
        ok: false,
        message: `.mcp.json is not valid JSON (${(err as Error).message}); it was left as it is. Fix it, or remove it to have a new one written.`,
      };
    }
    if (!isObject(parsed)) {
      return { ok: false, message: '.mcp.json does not hold a JSON object; it was left as it is. Fix it, or remove it.' };
    }
    root = parsed;
  }
  const servers = root.mcpServers ?? {};
  if (!isObject(servers)) {
    return { ok: false, message: '"mcpServers" in .mcp.json is not an object; it was left as it is. Fix it, or remove it.' };
  }
  const previous = isObject(servers.scalene) ? servers.scalene : {};
  const entry = { ...previous, command: serverPath, args: ['mcp'] };
  const next = { ...root, mcpServers: { ...servers, scalene: entry } };
  const text = JSON.stringify(next, null, 2) + '\n';
  if (existing === undefined || existing.trim() === '') {
    return { ok: true, text, action: 'created' };
  }
  const before = JSON.stringify(root.mcpServers && isObject(servers.scalene) ? servers.scalene : null);
  return { ok: true, text, action: before === JSON.stringify(entry) ? 'unchanged' : 'updated' };
}

/**
 * Writes `text` to `file` whole: into a sibling temporary file first, then renamed over it, so an agent
 * reading `.mcp.json` at that moment sees the old file or the new one, never an empty or half-written one.
 * An existing file keeps its permission bits; the temporary file is removed when anything fails.
 */
export async function writeWhole(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let mode = 0o644;
  try {
    mode = (await fs.stat(file)).mode & 0o7777;
  } catch {
    // no file yet: the usual mode for a config file
  }
  try {
    await fs.writeFile(temp, text, { encoding: 'utf8', mode, flag: 'wx' });
    await fs.chmod(temp, mode);
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}
