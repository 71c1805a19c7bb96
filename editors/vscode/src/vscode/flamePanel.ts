// Scalene: Show Flame Graph: a webview panel beside the editor drawing `scalene/flameGraph` (docs/lsp.md),
// as a flame graph or (second tab) the CPU timeline. It asks again when a profile lands and, during a
// live run, for each new snapshot (`profileId` of `scalene/runStatus`, throttled by LiveThrottle), follows
// the editor's selected line, and opens a frame's file on a click. The drawing is in ../webview/flame.ts (bundled as dist/flame.js), the model in ../lib/flame.ts.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { LiveThrottle, mapUris, parseFromWebview, type FlameResult, type FlameView, type FlameWeight, type TimelineThread, type ToWebview } from '../lib/flame';
import type { ServerManager } from './server';

const VIEW_TYPE = 'scalene.flameGraph';
const CURSOR_DEBOUNCE_MS = 150;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class FlameGraphPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  /** The file whose newest profile is shown (else the newest profile). */
  private uri: vscode.Uri | undefined;
  private weight: FlameWeight = 'cpu';
  private view: FlameView = 'tree';
  /** The webview's width in pixels: the timeline's columns. */
  private width = 1000;
  /** The profile drawn last, and the live run whose snapshots are followed. */
  private shownProfileId: string | undefined;
  private readonly live = new LiveThrottle();
  private liveTimer: ReturnType<typeof setTimeout> | undefined;
  /** The newest snapshot announced while a live redraw waited. */
  private liveWanted: { uri: string; profileId: string } | undefined;
  private request = 0;
  /** When the newest request was triggered (the command, a run's end), for the log of the draw time. */
  private trigger: { at: number; what: string } | undefined;
  /** The editor column the profiled file was in: files open there, not over the panel. */
  private editorColumn: vscode.ViewColumn = vscode.ViewColumn.One;
  private cursorTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly server: ServerManager,
  ) {
    this.disposables.push(
      vscode.window.onDidChangeTextEditorSelection((event) => this.selectionChanged(event.textEditor)),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor?.viewColumn !== undefined && editor.document.uri.scheme === 'file') {
          this.editorColumn = editor.viewColumn;
        }
      }),
      server.onRunStatus.event((status) => {
        if (status.phase === 'report' && status.live && status.profileId) {
          this.snapshot(status.uri, status.profileId);
        }
      }),
    );
  }

  /** A live run has a new snapshot: redraw from it, throttled (never while a redraw is under way). */
  private snapshot(uri: string, profileId: string): void {
    if (!this.panel || profileId === this.shownProfileId) {
      return;
    }
    this.liveWanted = { uri, profileId };
    clearTimeout(this.liveTimer);
    const now = Date.now();
    if (this.live.offer(now)) {
      this.liveWanted = undefined;
      this.uri = vscode.Uri.parse(uri);
      void this.refresh('a live snapshot', now);
      return;
    }
    this.scheduleLive();
  }

  private scheduleLive(): void {
    const due = this.live.dueIn(Date.now());
    const wanted = this.liveWanted;
    if (due !== undefined && wanted) {
      clearTimeout(this.liveTimer);
      this.liveTimer = setTimeout(() => this.snapshot(wanted.uri, wanted.profileId), due);
    }
  }

  /** The live redraw under way is over (drawn, or failed). */
  private liveDone(): void {
    this.live.done(Date.now());
    this.scheduleLive();
  }

  /** Opens the panel (or brings it to the front) for `uri`'s newest profile. */
  show(uri: vscode.Uri | undefined): void {
    const started = Date.now();
    const editor = vscode.window.activeTextEditor;
    if (editor?.viewColumn !== undefined) {
      this.editorColumn = editor.viewColumn;
    }
    this.uri = uri ?? this.uri;
    if (this.panel) {
      this.panel.reveal(undefined, true);
      void this.refresh('command', started);
      return;
    }
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      'Scalene Flame Graph',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [dist] },
    );
    panel.webview.html = this.html(panel.webview, dist);
    this.trigger = { at: started, what: 'the command' };
    panel.webview.onDidReceiveMessage((raw) => this.received(raw), undefined, this.disposables);
    panel.onDidDispose(() => {
      this.panel = undefined;
    });
    this.panel = panel;
  }

  /** A profile landed (a run ended, a JSON was loaded, profiles were cleared): draw it if the panel is open. */
  profilesChanged(uri?: string): void {
    if (!this.panel) {
      return;
    }
    if (uri) {
      this.uri = vscode.Uri.parse(uri);
    }
    void this.refresh('a new profile', Date.now());
  }

  private post(message: ToWebview): void {
    void this.panel?.webview.postMessage(message);
  }

  /** Asks the server for the view shown: the tree (the chosen weight, and whether there are memory stacks
   * at all), or the timeline at the webview's width. */
  private async refresh(what: string, at: number): Promise<void> {
    if (!this.panel) {
      return;
    }
    const request = ++this.request;
    this.trigger = { at, what };
    this.post({ type: 'loading' });
    try {
      if (this.view === 'timeline') {
        const result = await this.server.flameGraph(this.uri, 'cpu', 'timeline', this.width);
        if (request !== this.request) {
          return;
        }
        if (!result) {
          this.failed('The Scalene language server is not running. Fix: see "Scalene: Show Output", then "Scalene: Restart Server".');
          return;
        }
        this.server.output.info(`flame graph: ${result.profileId ?? 'no profile'} (timeline) answered in ${Date.now() - at} ms after ${what}`);
        const timeline = result.timeline
          ? { ...result.timeline, threads: result.timeline.threads.map((thread: TimelineThread) => ({ ...thread, frames: thread.frames.map((f) => ({ ...f, uri: f.uri ? vscode.Uri.parse(f.uri).toString() : f.uri })) })) }
          : result.timeline;
        this.shownProfileId = result.profileId ?? undefined;
        this.post({ type: 'timeline', result: { ...result, timeline }, reason: what });
        return;
      }
      const other: FlameWeight = this.weight === 'cpu' ? 'memory' : 'cpu';
      const [chosen, second] = await Promise.all([this.server.flameGraph(this.uri, this.weight), this.server.flameGraph(this.uri, other)]);
      if (request !== this.request) {
        return; // a newer request is on its way
      }
      if (!chosen || !second) {
        this.failed('The Scalene language server is not running. Fix: see "Scalene: Show Output", then "Scalene: Restart Server".');
        return;
      }
      const memory = this.weight === 'memory' ? chosen : second;
      const memoryAvailable = Boolean(memory.root);
      let result: FlameResult = chosen;
      if (this.weight === 'memory' && !memoryAvailable && second.root) {
        // The new profile has no memory stacks (a CPU-only run): show its CPU tree.
        this.weight = 'cpu';
        result = second;
      }
      this.server.output.info(`flame graph: ${result.profileId ?? 'no profile'} (${result.weight}) answered in ${Date.now() - at} ms after ${what}`);
      // The editor's spelling of file URIs, so that the webview compares them with the selection's.
      const root = result.root ? mapUris(result.root, (u) => vscode.Uri.parse(u).toString()) : result.root;
      this.shownProfileId = result.profileId ?? undefined;
      this.post({ type: 'profile', result: { ...result, root }, memoryAvailable, reason: what });
      this.sendCursor(vscode.window.activeTextEditor);
    } catch (err) {
      if (request === this.request) {
        this.failed(`Scalene: the flame graph request failed: ${errorText(err)}`);
      }
    }
  }

  private failed(message: string): void {
    this.post({ type: 'error', message });
    this.liveDone();
  }

  private received(raw: unknown): void {
    const message = parseFromWebview(raw);
    if (!message) {
      return;
    }
    switch (message.type) {
      case 'ready': // (again after the panel was hidden and shown)
        void this.refresh(this.trigger?.what ?? 'the command', this.trigger?.at ?? Date.now());
        break;
      case 'refresh':
        void this.refresh('Refresh', Date.now());
        break;
      case 'weight':
        this.weight = message.weight;
        void this.refresh(`switching to ${message.weight}`, Date.now());
        break;
      case 'view': {
        const changed = message.view !== this.view;
        this.view = message.view;
        this.width = message.width;
        void this.refresh(changed ? `the ${message.view === 'timeline' ? 'Timeline' : 'Flame graph'} tab` : 'a resize', Date.now());
        break;
      }
      case 'open':
        void this.open(vscode.Uri.parse(message.uri), message.line);
        break;
      case 'drawn':
        if (this.trigger && message.reason !== 'zoom' && message.reason !== 'resize' && message.reason !== 'the tab') {
          const what = message.view === 'timeline' ? 'timeline' : 'flame graph';
          this.server.output.info(
            `${what}: ${message.profileId ?? 'no profile'} drawn ${Date.now() - this.trigger.at} ms after ${this.trigger.what} (${message.frames} frames, drawing ${message.drawMs} ms)`,
          );
          this.trigger = undefined;
        }
        this.liveDone();
        break;
    }
  }

  private async open(uri: vscode.Uri, line: number | undefined): Promise<void> {
    try {
      const position = new vscode.Position(line ?? 0, 0);
      await vscode.window.showTextDocument(uri, {
        viewColumn: this.editorColumn,
        selection: new vscode.Range(position, position),
        preserveFocus: false,
        preview: true,
      });
    } catch (err) {
      void vscode.window.showErrorMessage(`Scalene: could not open ${uri.fsPath}: ${errorText(err)}`);
    }
  }

  private selectionChanged(editor: vscode.TextEditor): void {
    if (!this.panel) {
      return;
    }
    clearTimeout(this.cursorTimer);
    this.cursorTimer = setTimeout(() => this.sendCursor(editor), CURSOR_DEBOUNCE_MS);
  }

  private sendCursor(editor: vscode.TextEditor | undefined): void {
    if (editor && editor.document.uri.scheme === 'file') {
      this.post({ type: 'cursor', uri: editor.document.uri.toString(), line: editor.selection.active.line });
    }
  }

  private html(webview: vscode.Webview, dist: vscode.Uri): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'flame.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'flame.css'));
    const csp = [`default-src 'none'`, `style-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`, `font-src ${webview.cspSource}`].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>Scalene Flame Graph</title>
</head>
<body>
<header>
  <div role="tablist" aria-label="View">
    <button id="tab-tree" role="tab" aria-selected="true" title="The call tree: callers above, callees below, widths by cost">Flame graph</button>
    <button id="tab-timeline" role="tab" aria-selected="false" title="The CPU timeline: the stacks as they were sampled, time from left to right">Timeline</button>
  </div>
  <button id="weight-cpu" hidden aria-pressed="true" title="Weigh frames by CPU samples">CPU</button>
  <button id="weight-memory" hidden aria-pressed="false" title="Weigh frames by memory allocated (MB)">Memory</button>
  <input id="search" type="search" placeholder="Search functions" aria-label="Search functions">
  <span id="matched"></span>
  <button id="reset" disabled title="Show the whole run">Reset Zoom</button>
  <button id="refresh" title="Ask for the newest profile again">Refresh</button>
  <span id="title"></span>
</header>
<div id="legend" hidden></div>
<div id="message" hidden></div>
<div id="chart" role="img" aria-label="Flame graph: the root on top, callees below, widths by cost"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  dispose(): void {
    clearTimeout(this.cursorTimer);
    clearTimeout(this.liveTimer);
    this.panel?.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
