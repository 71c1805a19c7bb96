// The "Slowest Tests" view (Explorer): the newest pytest suite run's tests, slowest first, each with its
// hottest lines; a click opens the test or the line. Filled from the server's `scalene/tests`, again
// whenever a run ends (ServerManager.onProfilesChanged).
import * as vscode from 'vscode';
import { type TestHotLine, type TestItem, hotLineEntry, testEntry } from '../lib/tests';
import type { ServerManager } from './server';

type Node = { test: TestItem } | { hot: TestHotLine };

/** How many tests the view lists. */
const LIMIT = 50;

function location(uri: string | null | undefined, line: number): vscode.Command | undefined {
  if (!uri) {
    return undefined;
  }
  const position = new vscode.Position(line, 0);
  return { title: 'Open', command: 'vscode.open', arguments: [vscode.Uri.parse(uri), { selection: new vscode.Range(position, position) }] };
}

export class SlowestTests implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly server: ServerManager) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if ('test' in node) {
      const entry = testEntry(node.test);
      const item = new vscode.TreeItem(entry.label, node.test.hottest.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      item.description = entry.description;
      item.tooltip = entry.tooltip;
      item.iconPath = new vscode.ThemeIcon(node.test.outcome === 'passed' ? 'beaker' : node.test.outcome === 'failed' || node.test.outcome === 'error' ? 'error' : 'circle-slash');
      item.command = location(node.test.uri, node.test.line);
      return item;
    }
    const entry = hotLineEntry(node.hot);
    const item = new vscode.TreeItem(entry.label, vscode.TreeItemCollapsibleState.None);
    item.description = entry.description;
    item.iconPath = new vscode.ThemeIcon('flame');
    item.command = location(node.hot.uri, node.hot.line);
    return item;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node) {
      return 'test' in node ? node.test.hottest.map((hot) => ({ hot })) : [];
    }
    const result = await this.server.tests(LIMIT).catch(() => undefined);
    return (result?.items ?? []).map((test) => ({ test }));
  }

  dispose(): void {
    this.changed.dispose();
  }
}
