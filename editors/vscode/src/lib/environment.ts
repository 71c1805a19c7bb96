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
  /** The exact command that fixes the problem, when one does (e.g. the pip install command). */
  fixCommand?: string;
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

/** The one message shown for an environment problem (`Scalene: ` in front unless it names Scalene
 * already), and the command a button copies: the server's `fixCommand`. */
export function problemMessage(env: EnvironmentResult): { message: string; command: string | undefined } {
  const text = env.message ?? 'the interpreter cannot run Scalene.';
  return { message: /^Scalene\b/.test(text) ? text : `Scalene: ${text}`, command: env.fixCommand || undefined };
}

/** The key under which an environment problem was already shown (shown once per session). */
export function problemKey(env: EnvironmentResult): string {
  return `${env.kind ?? 'unknown'}|${env.python ?? ''}`;
}
