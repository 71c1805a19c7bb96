// The scalene-lsp language client: finds the binary, starts it, restarts it, and routes the server's
// custom notifications. Everything that decides something lives in ../lib (unit-tested).
import type { TestsResult } from '../lib/tests';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type ClientCapabilities,
  type Executable,
  type FeatureState,
  type LanguageClientOptions,
  type StaticFeature,
} from 'vscode-languageclient/node';

import {
  brokenBinaryMessage,
  commandLine,
  resolveServerBinary,
  sourceDescription,
  SERVER_NAME,
  type BinaryResolution,
  type BinarySource,
} from '../lib/binary';
import type { EnvironmentResult, ServerState } from '../lib/environment';
import type { FlameResult, FlameView, FlameWeight } from '../lib/flame';
import type { LineHeatParams } from '../lib/heat';
import { runIdFromToken, type RunStatusParams } from '../lib/progress';
import { redactSecrets } from '../lib/redact';
import { explicitValue, serverSettings, type ServerSettingKey } from '../lib/settings';
import type { PythonInterpreter } from './interpreter';

export interface McpEndpoint {
  url: string;
  token: string;
}

/** A LanguageClient that never shows its own notifications: the extension shows one message itself. */
class QuietLanguageClient extends LanguageClient {
  onClientError: ((message: string) => void) | undefined;

  override error(message: string, data?: unknown, _showNotification?: boolean | 'force'): void {
    super.error(message, data, false);
    this.onClientError?.(message);
  }
}

/** Announces `experimental.scaleneLineHeat` and `experimental.scaleneRunStatus`, so that the server
 * sends `scalene/lineHeat` and `scalene/runStatus`. */
class ScaleneNotificationsFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.experimental = { ...(capabilities.experimental as object | undefined), scaleneLineHeat: true, scaleneRunStatus: true };
  }
  initialize(): void {}
  getState(): FeatureState {
    return { kind: 'static' };
  }
  clear(): void {}
}

/** The output channel as the language client writes to it (traces included), without the MCP token. */
function redacting(channel: vscode.OutputChannel): vscode.OutputChannel {
  return {
    name: channel.name,
    append: (value) => channel.append(redactSecrets(value)),
    appendLine: (value) => channel.appendLine(redactSecrets(value)),
    replace: (value) => channel.replace(redactSecrets(value)),
    clear: () => channel.clear(),
    show: (column?: unknown, preserveFocus?: boolean) =>
      typeof column === 'boolean' ? channel.show(column) : channel.show(column as vscode.ViewColumn | undefined, preserveFocus),
    hide: () => channel.hide(),
    dispose: () => undefined, // the extension owns the channel
  };
}

function probe(file: string): 'missing' | 'not-executable' | 'directory' | 'ok' {
  try {
    const stat = fs.statSync(file);
    if (stat.isDirectory()) {
      return 'directory';
    }
    fs.accessSync(file, fs.constants.X_OK);
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR'
      ? 'missing'
      : 'not-executable';
  }
}

/** Runs `<binary> --version`: a binary that cannot even print its version is reported before LSP starts. */
function checkRuns(file: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, ['--version'], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (!err && /scalene-lsp/.test(stdout)) {
        resolve(undefined);
      } else if (!err) {
        resolve(`\`${path.basename(file)} --version\` printed ${JSON.stringify(stdout.trim().slice(0, 80))}, not scalene-lsp's version`);
      } else {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
        resolve(e.killed ? '`--version` did not answer within 15 s' : (stderr.trim() || e.message).slice(0, 300));
      }
    });
  });
}

export class ServerManager implements vscode.Disposable {
  client: QuietLanguageClient | undefined;
  state: ServerState = 'stopped';
  binary: { path: string; source: BinarySource } | undefined;
  endpoint: McpEndpoint | undefined;

  readonly onDidChangeState = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeEndpoint = new vscode.EventEmitter<McpEndpoint | undefined>();
  readonly onLineHeat = new vscode.EventEmitter<LineHeatParams>();
  readonly onRunStatus = new vscode.EventEmitter<RunStatusParams>();
  /** The profiles shown changed: a run ended (its file's URI), a JSON was loaded, profiles were cleared. */
  readonly onProfilesChanged = new vscode.EventEmitter<string | undefined>();

  private starting: Promise<void> | undefined;
  private queue: Promise<void> = Promise.resolve();
  private crashes: number[] = [];
  private shownError: string | undefined;
  private stopping = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
    private readonly interpreter: PythonInterpreter,
  ) {}

  dispose(): void {
    void this.stop();
    this.onDidChangeState.dispose();
    this.onDidChangeEndpoint.dispose();
    this.onLineHeat.dispose();
    this.onRunStatus.dispose();
    this.onProfilesChanged.dispose();
  }

  /** The server settings object as sent to the server (only the values the user set). */
  settings(): Record<string, unknown> {
    const config = vscode.workspace.getConfiguration('scalene', vscode.workspace.workspaceFolders?.[0]?.uri);
    return serverSettings((key: ServerSettingKey) => explicitValue(config.inspect(key)), {
      pythonExtensionInterpreter: this.interpreter.workspaceInterpreter,
      trusted: vscode.workspace.isTrusted,
    });
  }

  private setState(state: ServerState): void {
    this.state = state;
    this.onDidChangeState.fire(state);
  }

  /**
   * Shows one error message with its fix (not again for the same text until a successful start or an
   * explicit restart). Never waits for the user: activation and restarts go on.
   */
  private showFailure(message: string, fix: 'setting' | 'install' | 'trust' | 'output'): void {
    this.output.error(message);
    if (this.shownError === message) {
      return;
    }
    this.shownError = message;
    const buttons = fix === 'setting' || fix === 'install' ? ['Open Settings', 'Show Output'] : fix === 'trust' ? ['Manage Workspace Trust'] : ['Show Output'];
    void vscode.window.showErrorMessage(message, ...buttons).then(async (choice) => {
      if (choice === 'Open Settings') {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'scalene.path');
      } else if (choice === 'Show Output') {
        this.output.show(true);
      } else if (choice === 'Manage Workspace Trust') {
        await vscode.commands.executeCommand('workbench.trust.manage');
      }
    });
  }

  resolveBinary(): BinaryResolution {
    const configured = vscode.workspace.getConfiguration('scalene').get<string>('path');
    return resolveServerBinary({
      configuredPath: configured,
      trusted: vscode.workspace.isTrusted,
      bundledPath: path.join(this.context.extensionPath, 'bin', process.platform === 'win32' ? `${SERVER_NAME}.exe` : SERVER_NAME),
      pathEnv: process.env.PATH,
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      home: os.homedir(),
      probe,
    });
  }

  /**
   * Start, stop and restart run one after another (a restart asked for while the server is starting,
   * e.g. because the settings arrived late, must start again with the new settings afterwards).
   */
  private serialize(operation: () => Promise<void>): Promise<void> {
    const next = this.queue.then(operation, operation);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Starts the server unless it runs (or a start is already queued). */
  start(): Promise<void> {
    if (!this.starting) {
      this.starting = this.serialize(() => this.doStart()).finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  stop(): Promise<void> {
    return this.serialize(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.serialize(async () => {
      await this.doStop();
      this.crashes = [];
      this.shownError = undefined;
      await this.doStart();
    });
  }

  private async doStart(): Promise<void> {
    if (this.client) {
      return;
    }
    this.setState('starting');
    const resolution = this.resolveBinary();
    for (const note of resolution.notes) {
      this.output.warn(note);
    }
    if (!resolution.ok) {
      this.setState('failed');
      this.showFailure(resolution.message, resolution.fix);
      return;
    }
    const problem = await checkRuns(resolution.path);
    if (problem) {
      this.setState('failed');
      this.showFailure(brokenBinaryMessage(resolution.path, resolution.source, problem), resolution.source === 'setting' ? 'setting' : 'install');
      return;
    }
    this.binary = { path: resolution.path, source: resolution.source };
    const args = ['serve'];
    this.output.info(`Starting the server (${sourceDescription(resolution.source)}): ${commandLine(resolution.path, args)}`);
    const executable: Executable = { command: resolution.path, args, options: { env: process.env } };
    const client = new QuietLanguageClient('scalene', 'Scalene', { run: executable, debug: executable }, this.clientOptions());
    client.registerFeature(new ScaleneNotificationsFeature());
    let startError: string | undefined;
    client.onClientError = (message) => {
      startError ??= message;
    };
    client.onDidChangeState((event) => {
      if (event.newState === State.Stopped && this.client === client && !this.stopping) {
        this.setState('stopped');
      } else if (event.newState === State.Running && this.client === client) {
        this.setState('running');
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.client = undefined;
      this.setState('failed');
      const detail = startError ?? (err as Error)?.message ?? String(err);
      this.showFailure(
        `Scalene: the language server ${resolution.path} (${sourceDescription(resolution.source)}) did not start: ${detail}. Fix: check the Scalene output; Scalene: Restart Server tries again.`,
        'output',
      );
      return;
    }
    client.onClientError = undefined;
    this.shownError = undefined;
    client.onNotification('scalene/lineHeat', (params: LineHeatParams) => this.onLineHeat.fire(params));
    client.onNotification('scalene/runStatus', (params: RunStatusParams) => {
      this.onRunStatus.fire(params);
      if (params.phase === 'end') {
        this.onProfilesChanged.fire(params.uri);
      }
    });
    client.onNotification('scalene/mcpEndpoint', (params: McpEndpoint) => {
      // The token is a secret: log the URL only.
      this.output.info(`MCP endpoint for agents: ${params.url}`);
      this.endpoint = params;
      this.onDidChangeEndpoint.fire(params);
    });
    this.setState('running');
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: [{ language: 'python', scheme: 'file' }],
      outputChannel: redacting(this.output),
      traceOutputChannel: redacting(this.output),
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: () => this.settings(),
      initializationFailedHandler: (error) => {
        this.output.error(`initialize failed: ${error instanceof Error ? error.message : String(error)}`);
        return false;
      },
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => {
          if (this.stopping) {
            return { action: CloseAction.DoNotRestart, handled: true };
          }
          const now = Date.now();
          this.crashes = this.crashes.filter((t) => now - t < 180_000);
          this.crashes.push(now);
          this.endpoint = undefined;
          this.onDidChangeEndpoint.fire(undefined);
          if (this.crashes.length <= 3) {
            this.output.warn(`The server stopped unexpectedly; restarting it (${this.crashes.length} of 3 within 3 minutes).`);
            return { action: CloseAction.Restart, handled: true };
          }
          this.showFailure(
            'Scalene: the language server stopped unexpectedly 4 times within 3 minutes and was not restarted again. Fix: see the Scalene output for the reason, then run Scalene: Restart Server.',
            'output',
          );
          this.setState('failed');
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
      middleware: {
        workspace: {
          // The server pulls section `scalene`: answer with the settings the user set (plus the interpreter).
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) {
              return result;
            }
            return params.items.map((item, i) => (item.section === 'scalene' ? this.settings() : result[i]));
          },
        },
        // Runs show in our status bar item (from scalene/runStatus, with elapsed seconds and
        // click-to-cancel), not as a second window progress; `end` still goes to the client so that it
        // forgets the progress part.
        handleWorkDoneProgress: (token, params, next) => {
          if (runIdFromToken(token) === undefined || params.kind === 'end') {
            next(token, params);
          }
        },
        // A profile runs the program: never in an untrusted workspace (code lenses and code actions
        // carry scalene.profile too).
        executeCommand: async (command, args, next) => {
          if (command === 'scalene.profile' && !vscode.workspace.isTrusted) {
            void vscode.window.showWarningMessage('Scalene: profiling runs the program, so it is off in an untrusted workspace. Trust the workspace to profile.', 'Manage Workspace Trust').then((choice) => {
              if (choice) {
                void vscode.commands.executeCommand('workbench.trust.manage');
              }
            });
            return undefined;
          }
          return next(command, args);
        },
      },
    };
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.binary = undefined;
    if (this.endpoint) {
      this.endpoint = undefined;
      this.onDidChangeEndpoint.fire(undefined);
    }
    if (client) {
      this.stopping = true;
      try {
        await client.stop(5000);
      } catch (err) {
        this.output.warn(`stopping the server: ${(err as Error).message ?? err}`);
      } finally {
        this.stopping = false;
      }
    }
    this.setState('stopped');
  }

  /** Sends the current settings (after a change of settings or of the interpreter). */
  async sendSettings(): Promise<void> {
    if (this.client && this.state === 'running') {
      await this.client.sendNotification('workspace/didChangeConfiguration', { settings: { scalene: this.settings() } });
    }
  }

  /** workspace/executeCommand of one of the server's commands (docs/lsp.md). */
  async execute<T>(command: string, argument?: unknown): Promise<T | undefined> {
    await this.start();
    const client = this.client;
    if (!client) {
      return undefined;
    }
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: argument === undefined ? [] : [argument] })) as T;
  }

  /** `scalene/environment` for a file; `python` checks that interpreter instead of the server's setting. */
  async environment(uri: vscode.Uri | undefined, python?: string): Promise<EnvironmentResult | undefined> {
    const client = this.client;
    if (!client || this.state !== 'running') {
      return undefined;
    }
    const params: { uri?: string; python?: string } = {};
    if (uri) {
      params.uri = client.code2ProtocolConverter.asUri(uri);
    }
    if (python) {
      params.python = python;
    }
    return client.sendRequest<EnvironmentResult>('scalene/environment', params);
  }

  /** `scalene/flameGraph` (docs/lsp.md); undefined when the server does not run. */
  async flameGraph(uri: vscode.Uri | undefined, weight: FlameWeight, view: FlameView = 'tree', width?: number): Promise<FlameResult | undefined> {
    await this.start();
    const client = this.client;
    if (!client || this.state !== 'running') {
      return undefined;
    }
    const params: { uri?: string; weight: FlameWeight; view?: FlameView; width?: number } = { weight };
    if (view === 'timeline') {
      params.view = view;
      params.width = width;
    }
    if (uri) {
      params.uri = client.code2ProtocolConverter.asUri(uri);
    }
    return client.sendRequest<FlameResult>('scalene/flameGraph', params);
  }

  /** `scalene/tests`: the newest suite run's tests, slowest first (undefined while the server is not running). */
  async tests(limit: number): Promise<TestsResult | undefined> {
    const client = this.client;
    if (!client || this.state !== 'running') {
      return undefined;
    }
    return client.sendRequest<TestsResult>('scalene/tests', { limit });
  }
}
