// Draws `scalene/lineHeat` as whole-line backgrounds and overview-ruler marks (no gutter icons: they
// would hide breakpoints). A notification applies only to the document version it was computed for;
// the server sends a new one after every change.
import * as vscode from 'vscode';
import { backgroundColorId, groupByLevel, heatApplies, rulerColorId, HEAT_LEVELS, type LineHeatParams } from '../lib/heat';

export class HeatDecorations implements vscode.Disposable {
  private readonly types: vscode.TextEditorDecorationType[] = [];
  private readonly latest = new Map<string, LineHeatParams>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    for (let level = 1; level <= HEAT_LEVELS; level++) {
      this.types.push(
        vscode.window.createTextEditorDecorationType({
          isWholeLine: true,
          backgroundColor: new vscode.ThemeColor(backgroundColorId(level)),
          overviewRulerColor: new vscode.ThemeColor(rulerColorId(level)),
          overviewRulerLane: vscode.OverviewRulerLane.Right,
        }),
      );
    }
    this.disposables.push(
      vscode.window.onDidChangeVisibleTextEditors((editors) => {
        for (const editor of editors) {
          this.draw(editor);
        }
      }),
      vscode.workspace.onDidCloseTextDocument((document) => this.latest.delete(document.uri.toString())),
    );
  }

  /** A `scalene/lineHeat` notification. */
  update(params: LineHeatParams): void {
    const key = vscode.Uri.parse(params.uri).toString();
    if (params.lines.length === 0) {
      this.latest.delete(key);
    } else {
      this.latest.set(key, params);
    }
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === key) {
        this.draw(editor, params);
      }
    }
  }

  private draw(editor: vscode.TextEditor, params = this.latest.get(editor.document.uri.toString())): void {
    if (!params) {
      for (const type of this.types) {
        editor.setDecorations(type, []);
      }
      return;
    }
    if (!heatApplies(params, editor.document.version)) {
      return; // computed for another version: the server sends the current one
    }
    const groups = groupByLevel(params.lines);
    const lastLine = editor.document.lineCount - 1;
    this.types.forEach((type, i) => {
      const lines = groups[i + 1].filter((line) => line <= lastLine);
      editor.setDecorations(
        type,
        lines.map((line) => new vscode.Range(line, 0, line, 0)),
      );
    });
  }

  /** Removes all heat (the server stopped). */
  clear(): void {
    this.latest.clear();
    for (const editor of vscode.window.visibleTextEditors) {
      this.draw(editor);
    }
  }

  dispose(): void {
    for (const d of [...this.types, ...this.disposables]) {
      d.dispose();
    }
  }
}
