// Registers the server's in-process MCP endpoint with VS Code (agent mode sees the tools with no
// configuration). The definition carries the bearer token in a header; it changes when the server restarts.
import * as vscode from 'vscode';
import type { McpEndpoint, ServerManager } from './server';

export function registerMcpProvider(server: ServerManager, version: string): vscode.Disposable {
  if (typeof vscode.lm?.registerMcpServerDefinitionProvider !== 'function') {
    server.output.info('this editor has no MCP server API: the MCP endpoint is not registered');
    return new vscode.Disposable(() => undefined);
  }
  const changed = new vscode.EventEmitter<void>();
  const subscription = server.onDidChangeEndpoint.event(() => changed.fire());
  const provider: vscode.McpServerDefinitionProvider<vscode.McpHttpServerDefinition> = {
    onDidChangeMcpServerDefinitions: changed.event,
    provideMcpServerDefinitions: () => {
      const endpoint: McpEndpoint | undefined = server.endpoint;
      if (!endpoint) {
        return [];
      }
      return [
        new vscode.McpHttpServerDefinition('Scalene profiler', vscode.Uri.parse(endpoint.url), { Authorization: `Bearer ${endpoint.token}` }, version),
      ];
    },
    resolveMcpServerDefinition: async (definition) => {
      if (!server.endpoint) {
        await server.start();
      }
      return definition;
    },
  };
  const registration = vscode.lm.registerMcpServerDefinitionProvider('scalene', provider);
  return vscode.Disposable.from(registration, subscription, changed);
}
