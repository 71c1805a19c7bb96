// The extension's commands (Command Palette category "Scalene"); ids in ../lib/commands. Each calls one
// of the server's workspace/executeCommand ids (docs/lsp.md).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatArgs, parseArgs } from '../lib/args';
import { COMMANDS, EXPORT_FORMATS, processItem, type PythonProcess } from '../lib/commands';
import { updateMcpJson, writeWhole } from '../lib/mcpJson';
import { type RecordingAnswer, recordingText } from '../lib/progress';
import type { PythonInterpreter } from './interpreter';
import type { ServerManager } from './server';


function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function registerCommands(
  context: vscode.ExtensionContext,
  server: ServerManager,
  interpreter: PythonInterpreter,
): vscode.Disposable[] {
  /** The Python file a command acts on: the explorer's selection, else the active editor's file. */
  async function targetFile(arg: unknown): Promise<vscode.Uri | undefined> {
    let uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
    if (!uri) {
      void vscode.window.showWarningMessage('Scalene: open a Python file to profile it.');
      return undefined;
    }
    if (uri.scheme !== 'file') {
      void vscode.window.showWarningMessage(`Scalene: only files on disk can be profiled (${uri.toString()}).`);
      return undefined;
    }
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri!.toString());
    if (open?.isDirty) {
      // Scalene runs the file on disk: save what the user sees.
      await open.save();
      uri = open.uri;
    }
    return uri;
  }

  /** A server command (docs/lsp.md); its failure is shown as an error message, and gives `undefined`. */
  async function call<T>(command: string, argument?: unknown): Promise<T | undefined> {
    try {
      return await server.execute<T>(command, argument);
    } catch (err) {
      void vscode.window.showErrorMessage(`Scalene: ${errorText(err)}`);
      return undefined;
    }
  }

  async function profile(arg: unknown, options: { mode?: string; args?: string[]; live?: boolean; paused?: boolean }): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('Scalene: profiling runs the program, so it is off in an untrusted workspace. Trust the workspace to profile.');
      return;
    }
    const uri = await targetFile(arg);
    if (!uri) {
      return;
    }
    const request: Record<string, unknown> = { uri: uri.toString() };
    if (options.mode) {
      request.mode = options.mode;
    }
    if (options.args) {
      request.args = options.args;
    }
    if (options.live) {
      request.live = true;
    }
    if (options.paused) {
      request.paused = true;
    }
    const userPython = vscode.workspace.getConfiguration('scalene', uri).get<string>('python');
    if (!userPython) {
      const python = await interpreter.forResource(uri);
      if (python) {
        request.python = python;
      }
    }
    const result = await call<{ run_id?: string }>('scalene.profile', request);
    if (result?.run_id) {
      const how = [options.live ? 'live' : '', options.paused ? 'recording paused' : ''].filter((s) => s).join(', ');
      server.output.info(
        `${result.run_id}: profiling ${uri.fsPath}${how ? ` (${how})` : ''}${options.args ? ` with arguments ${formatArgs(options.args)}` : ''}`,
      );
    }
  }

  const argsKey = (uri: vscode.Uri) => `scalene.args:${uri.toString()}`;

  /** Pause or resume recording of the newest run (docs/lsp.md: scalene.pause / scalene.resume). */
  async function setRecording(on: boolean): Promise<void> {
    const result = await call<RecordingAnswer>(on ? 'scalene.resume' : 'scalene.pause', {});
    if (result) {
      vscode.window.setStatusBarMessage(`Scalene: ${result.run_id} ${recordingText(on, result)}`, 5000);
    }
  }

  /** The file of the active Python editor, for Save Profile as Baseline (it saves the newest profile). */
  function activeFile(): vscode.Uri | undefined {
    const uri = vscode.window.activeTextEditor?.document.uri;
    if (!uri || uri.scheme !== 'file') {
      void vscode.window.showWarningMessage('Scalene: open the profiled Python file first.');
      return undefined;
    }
    return uri;
  }

  return [
    vscode.commands.registerCommand(COMMANDS.profile, (arg?: unknown) => profile(arg, {})),
    vscode.commands.registerCommand(COMMANDS.profileCpu, (arg?: unknown) => profile(arg, { mode: 'cpu' })),
    vscode.commands.registerCommand(COMMANDS.profileLive, (arg?: unknown) => profile(arg, { live: true })),
    vscode.commands.registerCommand(COMMANDS.profileLivePaused, (arg?: unknown) => profile(arg, { live: true, paused: true })),
    vscode.commands.registerCommand(COMMANDS.pauseRecording, () => setRecording(false)),
    vscode.commands.registerCommand(COMMANDS.resumeRecording, () => setRecording(true)),
    vscode.commands.registerCommand(COMMANDS.exportProfile, async () => {
      // The profile of the active Python file (else the newest), in a format picked, to a file chosen.
      const active = vscode.window.activeTextEditor?.document.uri;
      const uri = active?.scheme === 'file' ? active : undefined;
      const picked = await vscode.window.showQuickPick(
        EXPORT_FORMATS.map((entry) => ({ label: entry.label, detail: entry.detail, entry })),
        { title: 'Scalene: Export Profile', placeHolder: 'Export the call paths of the newest profile as…' },
      );
      if (!picked) {
        return;
      }
      const folder = uri ? vscode.Uri.file(path.dirname(uri.fsPath)) : vscode.workspace.workspaceFolders?.[0]?.uri;
      const stem = uri ? path.basename(uri.fsPath, '.py') : 'profile';
      const target = await vscode.window.showSaveDialog({
        title: `Scalene: Export Profile as ${picked.entry.label}`,
        defaultUri: folder ? vscode.Uri.joinPath(folder, `${stem}.${picked.entry.extension}`) : undefined,
      });
      if (!target) {
        return;
      }
      const result = await call<{ path: string; program: string }>('scalene.exportProfile', {
        format: picked.entry.format,
        path: target.fsPath,
        ...(uri ? { uri: uri.toString() } : {}),
      });
      if (result) {
        server.output.info(`exported ${result.program} as ${picked.entry.format}: ${result.path}`);
        const open = picked.entry.format === 'cpuprofile' ? 'Open' : undefined;
        const choice = await vscode.window.showInformationMessage(`Scalene: wrote ${path.basename(result.path)} (${picked.entry.label}).`, ...(open ? [open] : []));
        if (choice === open) {
          await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(result.path));
        }
      }
    }),
    vscode.commands.registerCommand(COMMANDS.profileTests, async (arg?: unknown) => {
      // The whole pytest suite once under Scalene (scalene.profileTests): the explorer's folder or test
      // file runs only its tests; then lenses above test functions and the Slowest Tests view.
      if (!vscode.workspace.isTrusted) {
        void vscode.window.showWarningMessage('Scalene: profiling tests runs them, so it is off in an untrusted workspace. Trust the workspace to profile.');
        return;
      }
      const argument: { mode: string; uri?: string } = { mode: 'cpu' };
      if (arg instanceof vscode.Uri && arg.scheme === 'file') {
        argument.uri = arg.toString();
      }
      await call('scalene.profileTests', argument);
    }),
    vscode.commands.registerCommand(COMMANDS.attachProcess, async (arg?: unknown) => {
      // py-spy samples a Python process already running; its files get the numbers like a live run, and
      // the run's status bar item detaches (scalene.cancel).
      if (!vscode.workspace.isTrusted) {
        void vscode.window.showWarningMessage('Scalene: attaching reads another process, so it is off in an untrusted workspace. Trust the workspace to attach.');
        return;
      }
      let pid = typeof arg === 'number' ? arg : undefined;
      if (pid === undefined) {
        const listed = await call<{ processes: PythonProcess[] }>('scalene.listProcesses', {});
        if (!listed) {
          return;
        }
        if (listed.processes.length === 0) {
          void vscode.window.showInformationMessage('Scalene: no Python process of yours is running. Start the program (from a terminal, say), then attach.');
          return;
        }
        const picked = await vscode.window.showQuickPick(
          listed.processes.map((process) => ({ ...processItem(process), pid: process.pid })),
          { title: 'Scalene: Attach to Process', placeHolder: 'A Python process to sample with py-spy (those of this workspace first)', matchOnDescription: true, matchOnDetail: true },
        );
        pid = picked?.pid;
      }
      if (pid === undefined) {
        return;
      }
      const result = await call<{ run_id: string; pid: number }>('scalene.attach', { pid });
      if (result) {
        server.output.info(`attached to ${result.pid} (${result.run_id})`);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.saveBaseline, async (arg?: unknown) => {
      const uri = arg instanceof vscode.Uri ? arg : activeFile();
      if (!uri) {
        return;
      }
      const result = await call<{ name: string; path: string; evicted?: string[] }>('scalene.saveBaseline', { uri: uri.toString() });
      if (result) {
        const evicted = result.evicted?.length ? ` (the store's limits removed ${result.evicted.join(', ')})` : '';
        void vscode.window.showInformationMessage(
          `Scalene: saved the profile of ${path.basename(uri.fsPath)} as \`${result.name}\`${evicted}. Change the code, then run "Scalene: Compare with Baseline".`,
        );
        server.output.info(`saved baseline ${result.name}: ${result.path}`);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.compareBaseline, async (arg?: unknown) => {
      if (!vscode.workspace.isTrusted) {
        void vscode.window.showWarningMessage('Scalene: comparing profiles the program again, so it is off in an untrusted workspace. Trust the workspace to compare.');
        return;
      }
      const uri = await targetFile(arg);
      if (!uri) {
        return;
      }
      const result = await call<{ run_id?: string; profile_id?: string }>('scalene.compare', { uri: uri.toString() });
      if (result?.run_id) {
        server.output.info(`${result.run_id}: profiling ${uri.fsPath} to compare it with the baseline`);
      } else if (result?.profile_id) {
        server.onProfilesChanged.fire(uri.toString()); // compared at once: the flame graph shows it
      }
    }),
    vscode.commands.registerCommand(COMMANDS.exitCompare, async () => {
      const result = await call<{ exited: boolean }>('scalene.exitCompare');
      if (result) {
        vscode.window.setStatusBarMessage(result.exited ? 'Scalene: compare mode off' : 'Scalene: not in compare mode', 5000);
        if (result.exited) {
          server.onProfilesChanged.fire(undefined);
        }
      }
    }),
    vscode.commands.registerCommand(COMMANDS.profileWithArgs, async (arg?: unknown) => {
      const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
      if (!uri) {
        void vscode.window.showWarningMessage('Scalene: open a Python file to profile it.');
        return;
      }
      const previous = context.workspaceState.get<string[]>(argsKey(uri));
      const text = await vscode.window.showInputBox({
        title: `Profile ${path.basename(uri.fsPath)} with arguments`,
        prompt: 'Program arguments, as in a shell (quotes work; no variables or globbing)',
        value: previous ? formatArgs(previous) : '',
        validateInput: (value) => {
          const parsed = parseArgs(value);
          return parsed.ok ? undefined : parsed.message;
        },
      });
      if (text === undefined) {
        return;
      }
      const parsed = parseArgs(text);
      if (!parsed.ok) {
        return;
      }
      await context.workspaceState.update(argsKey(uri), parsed.args);
      await profile(uri, { args: parsed.args });
    }),
    vscode.commands.registerCommand(COMMANDS.cancel, async (runId?: unknown) => {
      const result = await call<{ cancelled: boolean }>('scalene.cancel', typeof runId === 'string' ? { run_id: runId } : {});
      if (result && !result.cancelled) {
        vscode.window.setStatusBarMessage('Scalene: no run to cancel', 5000);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.clear, async () => {
      const result = await call<{ cleared: number }>('scalene.clear', {});
      if (result) {
        server.onProfilesChanged.fire(undefined);
        vscode.window.setStatusBarMessage(`Scalene: cleared ${result.cleared} profile(s)`, 5000);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.toggle, async () => {
      const result = await call<{ visible: boolean }>('scalene.toggle');
      if (result) {
        vscode.window.setStatusBarMessage(`Scalene: annotations ${result.visible ? 'shown' : 'hidden'}`, 5000);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.load, async (arg?: unknown) => {
      let file = arg instanceof vscode.Uri ? arg : undefined;
      if (!file) {
        const picked = await vscode.window.showOpenDialog({
          title: 'Load a Scalene JSON profile',
          canSelectMany: false,
          filters: { 'Scalene JSON': ['json'] },
          defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
        });
        file = picked?.[0];
      }
      if (!file) {
        return;
      }
      try {
        const result = await server.execute<{ profile_id: string; files: string[] }>('scalene.loadProfile', { path: file.fsPath });
        if (!result) {
          return;
        }
        const files = result.files.map((f) => vscode.Uri.parse(f));
        server.onProfilesChanged.fire(result.files[0]);
        const visible = vscode.window.visibleTextEditors.some((e) => files.some((f) => f.toString() === e.document.uri.toString()));
        vscode.window.setStatusBarMessage(`Scalene: loaded ${path.basename(file.fsPath)} (${files.length} file(s))`, 5000);
        if (!visible && files.length > 0) {
          await vscode.window.showTextDocument(files[0], { preview: true });
        }
      } catch (err) {
        void vscode.window.showErrorMessage(`Scalene: ${errorText(err)}`);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.output, () => server.output.show(true)),
    vscode.commands.registerCommand(COMMANDS.restart, () => server.restart()),
    vscode.commands.registerCommand(COMMANDS.mcpConfig, async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) {
        void vscode.window.showWarningMessage('Scalene: open a folder first: .mcp.json is written into the workspace folder.');
        return;
      }
      const resolution = server.binary ? { ok: true as const, path: server.binary.path } : server.resolveBinary();
      if (!resolution.ok) {
        void vscode.window.showErrorMessage(resolution.message);
        return;
      }
      const file = path.join(folder.uri.fsPath, '.mcp.json');
      let existing: string | undefined;
      try {
        existing = await fs.readFile(file, 'utf8');
      } catch {
        existing = undefined;
      }
      const update = updateMcpJson(existing, resolution.path);
      if (!update.ok) {
        void vscode.window.showErrorMessage(`Scalene: ${update.message}`);
        return;
      }
      if (update.action === 'unchanged') {
        void vscode.window.showInformationMessage(`Scalene: ${file} already has the scalene entry.`);
        return;
      }
      const write = existing === undefined ? 'Create .mcp.json' : 'Update .mcp.json';
      const choice = await vscode.window.showInformationMessage(
        `${existing === undefined ? 'Create' : 'Update'} ${file} so that terminal agents (Claude Code and others) can use the Scalene MCP tools? ` +
          `It adds the entry "scalene" running ${resolution.path} mcp${existing === undefined ? '' : ' and keeps the other entries'}.`,
        { modal: true },
        write,
        'Copy Entry to Clipboard',
      );
      if (choice === write) {
        try {
          await writeWhole(file, update.text);
        } catch (err) {
          void vscode.window.showErrorMessage(`Scalene: could not write ${file}: ${(err as Error).message}. It was left as it was; check the folder's permissions, or use Copy Entry to Clipboard.`);
          return;
        }
        const open = await vscode.window.showInformationMessage(`Scalene: wrote the scalene entry to ${file}.`, 'Open .mcp.json');
        if (open) {
          await vscode.window.showTextDocument(vscode.Uri.file(file));
        }
      } else if (choice === 'Copy Entry to Clipboard') {
        const entry = { mcpServers: { scalene: { command: resolution.path, args: ['mcp'] } } };
        await vscode.env.clipboard.writeText(JSON.stringify(entry, null, 2));
        vscode.window.setStatusBarMessage('Scalene: MCP configuration copied', 5000);
      }
    }),
  ];
}
