// Keeps the MCP bearer token out of the output channel (LSP traces print every message, including
// `scalene/mcpEndpoint {url, token}`). No `vscode` import.

export function redactSecrets(text: string): string {
  return text
    .replace(/("token"\s*:\s*")[^"]*(")/g, '$1<redacted>$2')
    .replace(/(\\"token\\"\s*:\s*\\")[^"\\]*(\\")/g, '$1<redacted>$2')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1<redacted>');
}
