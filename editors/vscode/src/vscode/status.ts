// The status bar item of a run (spinner, elapsed seconds, click to cancel; then the summary), from the
// server's `scalene/runStatus`, and the Python language status item (server state, interpreter, Scalene
// version).
import * as vscode from 'vscode';
import { languageStatus, problemMessage, problemKey, type EnvironmentResult, type ServerState } from '../lib/environment';
import { endedView, runningView, type RunStatusParams } from '../lib/progress';
import { COMMANDS } from '../lib/commands';

const SUMMARY_SECONDS = 20;

export class RunStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('scalene.run', vscode.StatusBarAlignment.Left, 10);
  /** Runs going on, by run id. */
  private readonly running = new Set<string>();
  private active: string | undefined;
  private hideTimer: NodeJS.Timeout | undefined;

  constructor() {
    this.item.name = 'Scalene Run';
  }

  update(status: RunStatusParams): void {
    if (this.hideTimer) {
      clearTimeout(this.hideTimer);
      this.hideTimer = undefined;
    }
    if (status.phase === 'begin') {
      this.running.add(status.runId);
      this.active = status.runId;
      this.setRunning();
    }
    if (status.phase === 'end') {
      this.running.delete(status.runId);
      this.setRunning();
      if (this.active !== status.runId && this.active !== undefined && this.running.has(this.active)) {
        return; // another run is still going: keep showing it
      }
      const view = endedView(status);
      this.item.text = view.text;
      this.item.tooltip = view.tooltip;
      this.item.command = COMMANDS.output;
      this.item.backgroundColor = undefined;
      this.item.show();
      this.active = undefined;
      this.hideTimer = setTimeout(() => this.item.hide(), SUMMARY_SECONDS * 1000);
      return;
    }
    if (this.active !== status.runId) {
      return;
    }
    const view = runningView(status);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = { title: 'Cancel', command: COMMANDS.cancel, arguments: [status.runId] };
    this.item.show();
  }

  /** The context key `scalene.running` (menus show Cancel, Pause and Resume Recording while it is true). */
  private setRunning(): void {
    void vscode.commands.executeCommand('setContext', 'scalene.running', this.running.size > 0);
  }

  /** The server went away: no run is going. */
  reset(): void {
    this.running.clear();
    this.setRunning();
    this.active = undefined;
    this.item.hide();
  }

  dispose(): void {
    if (this.hideTimer) {
      clearTimeout(this.hideTimer);
    }
    this.item.dispose();
  }
}

export class EnvironmentStatus implements vscode.Disposable {
  private readonly item = vscode.languages.createLanguageStatusItem('scalene.environment', { language: 'python' });
  private readonly shown = new Set<string>();
  private serverState: ServerState = 'stopped';
  private env: EnvironmentResult | undefined;
  private interpreterSource: string | undefined;

  constructor() {
    this.item.name = 'Scalene';
    this.item.command = { title: 'Show Output', command: COMMANDS.output };
    this.render();
  }

  setServerState(state: ServerState): void {
    this.serverState = state;
    if (state !== 'running') {
      this.env = undefined;
    }
    this.render();
  }

  setEnvironment(env: EnvironmentResult | undefined, interpreterSource: string | undefined): void {
    this.env = env;
    this.interpreterSource = interpreterSource;
    this.render();
    if (env && !env.ok) {
      void this.notifyOnce(env);
    }
  }

  setRestricted(): void {
    this.item.text = 'Scalene: restricted';
    this.item.detail = 'profiling is off in an untrusted workspace';
    this.item.severity = vscode.LanguageStatusSeverity.Warning;
    this.item.busy = false;
  }

  private render(): void {
    const view = languageStatus(this.serverState, this.env, this.interpreterSource);
    this.item.text = view.text;
    this.item.detail = view.detail;
    this.item.busy = view.busy;
    this.item.severity =
      view.severity === 'error'
        ? vscode.LanguageStatusSeverity.Error
        : view.severity === 'warning'
          ? vscode.LanguageStatusSeverity.Warning
          : vscode.LanguageStatusSeverity.Information;
  }

  /** "With Scalene missing, one message says exactly how to install it into that interpreter." */
  private async notifyOnce(env: EnvironmentResult): Promise<void> {
    const key = problemKey(env);
    if (this.shown.has(key)) {
      return;
    }
    this.shown.add(key);
    const { message, command } = problemMessage(env);
    const buttons = command ? ['Copy Install Command', 'Open Settings'] : ['Open Settings'];
    const choice = await vscode.window.showErrorMessage(message, ...buttons);
    if (choice === 'Copy Install Command' && command) {
      await vscode.env.clipboard.writeText(command);
      vscode.window.setStatusBarMessage('Scalene: install command copied', 5000);
    } else if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'scalene.python');
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
