// Entry point: wires the pieces together. The decisions live in ./lib (no `vscode` import,
// unit-tested); ./vscode holds the thin VS Code glue.
import * as vscode from 'vscode';
import { chooseInterpreter, RESTART_SETTINGS } from './lib/settings';
import { COMMANDS } from './lib/commands';
import { registerCommands } from './vscode/commands';
import { SlowestTests } from './vscode/testsTree';
import { FlameGraphPanel } from './vscode/flamePanel';
import { HeatDecorations } from './vscode/heatDecorations';
import { PythonInterpreter } from './vscode/interpreter';
import { registerMcpProvider } from './vscode/mcp';
import { ServerManager } from './vscode/server';
import { EnvironmentStatus, RunStatus } from './vscode/status';

let server: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Scalene', { log: true });
  const interpreter = new PythonInterpreter(output);
  server = new ServerManager(context, output, interpreter);
  const heat = new HeatDecorations();
  const runStatus = new RunStatus();
  const envStatus = new EnvironmentStatus();
  const manager = server;
  const slowestTests = new SlowestTests(manager);
  const flame = new FlameGraphPanel(context, manager);
  context.subscriptions.push(output, interpreter, manager, heat, runStatus, envStatus, flame);

  let envRequest = 0;
  /** Asks the server which interpreter and Scalene a profile of the active file would use. */
  const refreshEnvironment = async () => {
    if (!vscode.workspace.isTrusted) {
      envStatus.setRestricted(); // the check runs the workspace's interpreter
      return;
    }
    const editor = vscode.window.activeTextEditor;
    const uri = editor?.document.languageId === 'python' && editor.document.uri.scheme === 'file' ? editor.document.uri : undefined;
    const request = ++envRequest;
    try {
      // The interpreter a profile of this file would get: scalene.python, else the Python extension's
      // for this very file, else the server's own discovery.
      const userPython = vscode.workspace.getConfiguration('scalene', uri).get<string>('python');
      const fileInterpreter = (await interpreter.forResource(uri)) ?? interpreter.workspaceInterpreter;
      const choice = chooseInterpreter(userPython, fileInterpreter);
      const env = await manager.environment(uri, choice.python);
      if (request === envRequest && env) {
        envStatus.setEnvironment(env, choice.source);
      }
    } catch (err) {
      output.warn(`scalene/environment failed: ${(err as Error).message}`);
    }
  };

  context.subscriptions.push(
    manager.onDidChangeState.event((state) => {
      envStatus.setServerState(state);
      if (state === 'running') {
        void refreshEnvironment();
      } else {
        heat.clear();
        runStatus.reset();
      }
    }),
    manager.onLineHeat.event((params) => heat.update(params)),
    manager.onRunStatus.event((status) => runStatus.update(status)),
    manager.onProfilesChanged.event((uri) => flame.profilesChanged(uri)),
    vscode.commands.registerCommand(COMMANDS.flameGraph, (arg?: unknown) => {
      const editor = vscode.window.activeTextEditor;
      const uri = arg instanceof vscode.Uri ? arg : editor?.document.languageId === 'python' ? editor.document.uri : undefined;
      flame.show(uri);
    }),
    interpreter.onDidChange.event(async () => {
      await manager.sendSettings();
      void refreshEnvironment();
    }),
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      if (editor?.document.languageId === 'python') {
        void refreshEnvironment();
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration('scalene')) {
        return;
      }
      if (event.affectsConfiguration('scalene.path')) {
        await manager.restart();
        return;
      }
      await manager.sendSettings();
      if (event.affectsConfiguration('scalene.python')) {
        void refreshEnvironment();
      }
      if (RESTART_SETTINGS.some((key) => event.affectsConfiguration(`scalene.${key}`))) {
        const choice = await vscode.window.showInformationMessage('Scalene: the MCP settings take effect when the server restarts.', 'Restart Server');
        if (choice) {
          await manager.restart();
        }
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => manager.restart()),
    ...registerCommands(context, manager, interpreter),
    slowestTests,
    vscode.window.registerTreeDataProvider('scaleneSlowestTests', slowestTests),
    manager.onProfilesChanged.event(() => slowestTests.refresh()),
    registerMcpProvider(manager, String(context.extension.packageJSON.version ?? '')),
  );

  // The interpreter first (when the Python extension is there), so that initializationOptions carry it.
  await interpreter.init().catch((err) => output.warn(`Python extension: ${(err as Error).message}`));
  void manager.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
