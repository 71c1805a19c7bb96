// The Python extension's active interpreter (when that extension is installed), followed as it changes.
// Without it, the server discovers the interpreter itself ($VIRTUAL_ENV, .venv, python3 on PATH).
import * as vscode from 'vscode';
import { PythonExtension } from '@vscode/python-extension';

const PYTHON_EXTENSION_ID = 'ms-python.python';

export class PythonInterpreter implements vscode.Disposable {
  /** The active interpreter for the first workspace folder, or undefined. */
  workspaceInterpreter: string | undefined;
  readonly onDidChange = new vscode.EventEmitter<void>();
  private api: PythonExtension | undefined;
  private disposables: vscode.Disposable[] = [];

  constructor(private readonly output: vscode.LogOutputChannel) {}

  /** Connects to the Python extension if it is installed (now or later). */
  async init(): Promise<void> {
    // Waits for the Python extension's answer at most 10 s; a later answer still arrives through onDidChange.
    await Promise.race([this.connect(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    this.disposables.push(
      vscode.extensions.onDidChange(() => {
        if (!this.api) {
          void this.connect();
        }
      }),
    );
  }

  private async connect(): Promise<void> {
    if (!vscode.extensions.getExtension(PYTHON_EXTENSION_ID)) {
      return;
    }
    try {
      this.api = await PythonExtension.api();
    } catch (err) {
      this.output.warn(`the Python extension is installed but its API is not available: ${(err as Error).message}`);
      return;
    }
    this.disposables.push(this.api.environments.onDidChangeActiveEnvironmentPath(() => void this.refresh()));
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const next = await this.forResource(folder);
    if (next !== this.workspaceInterpreter) {
      this.workspaceInterpreter = next;
      this.output.info(`Python extension's interpreter: ${next ?? 'none'}`);
      this.onDidChange.fire();
    }
  }

  /** The Python extension's interpreter for a file (or folder), or undefined without that extension. */
  async forResource(resource: vscode.Uri | undefined): Promise<string | undefined> {
    if (!this.api) {
      return undefined;
    }
    try {
      const envPath = this.api.environments.getActiveEnvironmentPath(resource);
      const resolved = await this.api.environments.resolveEnvironment(envPath);
      return resolved?.executable.uri?.fsPath ?? envPath.path;
    } catch (err) {
      this.output.warn(`could not ask the Python extension for the interpreter: ${(err as Error).message}`);
      return undefined;
    }
  }

  dispose(): void {
    this.onDidChange.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
