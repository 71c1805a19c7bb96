// VS Code settings (section `scalene`) -> the server's settings object (docs/lsp.md "Settings"), sent as
// initializationOptions, on workspace/didChangeConfiguration and as the answer to workspace/configuration.
// Only the values the user set are sent, so the server's own defaults apply to the rest (the defaults in
// package.json document them). No `vscode` import: unit-tested in plain Node.

/** Every server setting, as dotted keys under `scalene.` (package.json contributes each one). */
export const SERVER_SETTINGS = [
  'python',
  'args',
  'mode',
  'timeout',
  'cwd',
  'hints.enabled',
  'hints.format',
  'hints.minCpuPercent',
  'hints.minPeakMb',
  'diagnostics.enabled',
  'diagnostics.cpuPercent',
  'diagnostics.cpuWarningPercent',
  'diagnostics.memoryMb',
  'diagnostics.leakLikelihood',
  'diagnostics.cpuSeverity',
  'diagnostics.cpuWarningSeverity',
  'diagnostics.memorySeverity',
  'diagnostics.leakSeverity',
  'lenses.enabled',
  'mcp.enabled',
  'mcp.port',
  'mcp.allowCode',
  'maxProfileMb',
  'store.dir',
  'store.maxProfiles',
  'store.maxMb',
  'compare.minChangePercent',
  'compare.minCpuPercent',
  'compare.minMb',
  'compare.errorRatePercent',
  'live.interval',
  'shortcut',
  'callPaths',
] as const;

export type ServerSettingKey = (typeof SERVER_SETTINGS)[number];

/** Settings only the extension reads. */
export const CLIENT_SETTINGS = ['path', 'trace.server'] as const;

/** Settings read by the server at initialize only: a change needs a restart. */
export const RESTART_SETTINGS: readonly ServerSettingKey[] = ['mcp.enabled', 'mcp.port', 'mcp.allowCode'];

/** What `WorkspaceConfiguration.inspect` returns (the parts used here). */
export interface Inspected<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
  defaultLanguageValue?: T;
  globalLanguageValue?: T;
  workspaceLanguageValue?: T;
  workspaceFolderLanguageValue?: T;
}

/** The value the user set (most specific scope first), or undefined when only the default applies. */
export function explicitValue<T>(inspected: Inspected<T> | undefined): T | undefined {
  if (!inspected) {
    return undefined;
  }
  return (
    inspected.workspaceFolderLanguageValue ??
    inspected.workspaceLanguageValue ??
    inspected.globalLanguageValue ??
    inspected.workspaceFolderValue ??
    inspected.workspaceValue ??
    inspected.globalValue
  );
}

export type InterpreterSource = 'scalene.python' | 'Python extension' | 'discovery';

export interface InterpreterChoice {
  /** The interpreter to send as `python`, or undefined: the server discovers one. */
  python: string | undefined;
  source: InterpreterSource;
}

/**
 * `scalene.python` when the user set it; else the Python extension's active interpreter for the file;
 * else none (the server's discovery: $VIRTUAL_ENV, .venv/venv/env in the project, python3 on PATH).
 */
export function chooseInterpreter(userPython: unknown, pythonExtension: string | undefined): InterpreterChoice {
  if (typeof userPython === 'string' && userPython.trim() !== '') {
    return { python: userPython.trim(), source: 'scalene.python' };
  }
  if (pythonExtension && pythonExtension.trim() !== '') {
    return { python: pythonExtension, source: 'Python extension' };
  }
  return { python: undefined, source: 'discovery' };
}

function setDotted(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      node[part] = {};
    }
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

export interface SettingsContext {
  /** The Python extension's interpreter for the workspace (undefined when absent). */
  pythonExtensionInterpreter?: string;
  /** Untrusted workspace: the MCP endpoint stays off (agents could run workspace code through it). */
  trusted: boolean;
}

/**
 * The server settings object from the values the user set. `explicit(key)` returns the user's value for
 * `scalene.<key>` or undefined.
 */
export function serverSettings(explicit: (key: ServerSettingKey) => unknown, context: SettingsContext): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const key of SERVER_SETTINGS) {
    if (key === 'python') {
      continue;
    }
    const value = explicit(key);
    if (value === undefined || value === null) {
      continue;
    }
    if ((key === 'cwd' || key === 'mode' || key === 'store.dir') && value === '') {
      continue;
    }
    setDotted(settings, key, value);
  }
  const interpreter = chooseInterpreter(explicit('python'), context.pythonExtensionInterpreter);
  if (interpreter.python !== undefined) {
    settings.python = interpreter.python;
  }
  if (!context.trusted) {
    setDotted(settings, 'mcp.enabled', false);
    setDotted(settings, 'mcp.allowCode', false);
  }
  return settings;
}
