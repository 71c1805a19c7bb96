// Program arguments typed in "Profile with Arguments…": split like a POSIX shell would (quotes and
// backslashes, no expansion), and shown back quoted. No `vscode` import.

export type ParsedArgs = { ok: true; args: string[] } | { ok: false; message: string };

export function parseArgs(text: string): ParsedArgs {
  const args: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") {
        quote = undefined;
      } else {
        current += c;
      }
      continue;
    }
    if (quote === '"') {
      if (c === '"') {
        quote = undefined;
      } else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) {
        current += text[++i];
      } else {
        current += c;
      }
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) {
        args.push(current);
        current = '';
        inWord = false;
      }
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) {
    return { ok: false, message: `unclosed ${quote} quote in the arguments` };
  }
  if (inWord) {
    args.push(current);
  }
  if (args.includes('--')) {
    return {
      ok: false,
      message: 'a bare -- cannot reach the program intact (Scalene moves it and what follows); use --name=value forms instead',
    };
  }
  return { ok: true, args };
}

export function formatArgs(args: readonly string[]): string {
  return args.map((arg) => (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}
