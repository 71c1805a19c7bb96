// `scalene/environment` (docs/lsp.md) -> the language status item and the one message shown when a
// profile cannot run. No `vscode` import.

export interface EnvironmentResult {
  ok: boolean;
  python?: string;
  source?: string;
  pythonVersion?: string;
  scaleneVersion?: string;
  projectRoot?: string;
  kind?: string;
  message?: string;
}

export type ServerState = 'starting' | 'running' | 'stopped' | 'failed';

export interface StatusView {
  text: string;
  detail: string;
  severity: 'information' | 'warning' | 'error';
  busy: boolean;
}

export function languageStatus(state: ServerState, env: EnvironmentResult | undefined, interpreterSource?: string): StatusView {
  if (state === 'starting') {
    return { text: 'Scalene: starting', detail: 'the scalene-lsp server is starting', severity: 'information', busy: true };
  }
  if (state === 'stopped') {
    return { text: 'Scalene: stopped', detail: 'the server is not running (Scalene: Restart Server)', severity: 'warning', busy: false };
  }
  if (state === 'failed') {
    return { text: 'Scalene: not running', detail: 'the server could not start: see the Scalene output', severity: 'error', busy: false };
  }
  if (!env) {
    return { text: 'Scalene', detail: 'checking the interpreter…', severity: 'information', busy: true };
  }
  const via = interpreterSource && interpreterSource !== 'discovery' ? ` (from ${interpreterSource})` : env.source ? ` (${env.source})` : '';
  if (!env.ok) {
    const what = env.kind === 'scalene_missing' ? 'Scalene missing' : env.kind === 'scalene_unsupported' ? 'Scalene too old' : 'no usable Python';
    return {
      text: `Scalene: ${what}`,
      detail: `${env.python ? `${env.python}${via}: ` : ''}${env.message ?? 'cannot profile'}`,
      severity: 'error',
      busy: false,
    };
  }
  return {
    text: `Scalene ${env.scaleneVersion ?? '?'} · Python ${env.pythonVersion ?? '?'}`,
    detail: `${env.python ?? 'interpreter'}${via}`,
    severity: 'information',
    busy: false,
  };
}

/** The exact command in an environment message's fix (what "Copy Install Command" copies), if any. */
export function fixCommand(message: string | undefined): string | undefined {
  if (!message) {
    return undefined;
  }
  const quoted = /Fix: ("[^"]+" -m pip install .+?)\.?\s*$/.exec(message);
  if (quoted) {
    return quoted[1];
  }
  const backticked = /`([^`]*-m pip install[^`]*)`/.exec(message);
  return backticked ? backticked[1] : undefined;
}

/** The key under which an environment problem was already shown (shown once per session). */
export function problemKey(env: EnvironmentResult): string {
  return `${env.kind ?? 'unknown'}|${env.python ?? ''}`;
}
