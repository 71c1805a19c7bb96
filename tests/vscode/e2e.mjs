// End-to-end test of the VS Code extension in a real VS Code: code-server (VS Code's web build) with the
// built .vsix installed, driven headless by playwright-core in Debian's Chromium.
//
// Usage: node tests/vscode/e2e.mjs --vsix FILE.vsix [--artifacts DIR] [--update-screenshot]
// Needs scripts/setup-vscode-test (.tools/) and the repo's .venv with Scalene (scripts/setup-python).
// Checks what a user sees: progress in the status bar, inlay hints, heat, Problems, hover, Cancel
// (partial profile), and one clear message for a missing server binary. Prints `N passed, N failed`
// last. Stops code-server and every descendant (the language server, Scalene runs) on every path.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as http from 'node:http';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tools = path.join(root, '.tools');
const { chromium } = createRequire(path.join(tools, 'playwright', 'package.json'))('playwright-core');

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const vsix = path.resolve(option('--vsix', ''));
const artifacts = path.resolve(option('--artifacts', path.join(root, 'target', 'vscode-artifacts')));
const updateScreenshot = argv.includes('--update-screenshot');
const keep = process.env.SCALENE_VSCODE_KEEP === '1';
// SCALENE_VSCODE_ONLY=cancel,missing runs only the scenarios whose names contain one of these words.
const only = (process.env.SCALENE_VSCODE_ONLY ?? '').split(',').filter(Boolean);
const want = (scenario) => only.length === 0 || only.some((word) => scenario.includes(word));
if (!fs.existsSync(vsix)) {
  console.error(`error: --vsix ${vsix} does not exist (build it with editors/vscode/scripts/package.sh)`);
  process.exit(2);
}
const codeServer = path.join(tools, 'code-server', 'node_modules', '.bin', 'code-server');
const venv = path.join(root, '.venv');
for (const [what, file] of [
  ['code-server (scripts/setup-vscode-test)', codeServer],
  ['Chromium (scripts/setup-vscode-test)', '/usr/bin/chromium'],
  ['the .venv with Scalene (scripts/setup-python)', path.join(venv, 'bin', 'python')],
]) {
  if (!fs.existsSync(file)) {
    console.error(`error: ${what} is missing: ${file}`);
    process.exit(2);
  }
}

// ---------------------------------------------------------------- test bookkeeping
let passed = 0;
let failed = 0;
const log = (...parts) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
async function check(name, body) {
  try {
    await body();
    passed++;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}\n    ${String(err?.stack ?? err).split('\n').slice(0, 6).join('\n    ')}`);
    await screenshot(`failed-${name.replace(/[^\w]+/g, '_').slice(0, 60)}`).catch(() => {});
  }
}
function assert(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

// ---------------------------------------------------------------- the sandbox (HOME, TMPDIR inside)
fs.mkdirSync(artifacts, { recursive: true });
for (const old of fs.readdirSync(artifacts).filter((f) => f.startsWith('failed-') && f.endsWith('.png'))) {
  fs.rmSync(path.join(artifacts, old)); // pictures of an earlier run's failures
}
const sandbox = fs.mkdtempSync(path.join(root, 'target', 'vscode-e2e-'));
const home = path.join(sandbox, 'home');
let userData = path.join(sandbox, 'user-data-install');
const extensions = path.join(sandbox, 'extensions');
const ws = path.join(sandbox, 'workspace');
for (const dir of [home, path.join(sandbox, 'tmp'), userData, extensions, ws]) {
  fs.mkdirSync(dir, { recursive: true });
}
const env = {
  ...process.env,
  HOME: home,
  XDG_CONFIG_HOME: path.join(home, '.config'),
  XDG_DATA_HOME: path.join(home, '.local', 'share'),
  XDG_CACHE_HOME: path.join(home, '.cache'),
  XDG_RUNTIME_DIR: path.join(sandbox, 'tmp'),
  TMPDIR: path.join(sandbox, 'tmp'),
  // The extension must find the server bundled in the .vsix, not one on the machine's PATH.
  PATH: [path.join(tools, 'node', 'bin'), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
};
delete env.VIRTUAL_ENV;
// Chromium (through playwright) and this process keep their temp files in the sandbox as well.
process.env.TMPDIR = env.TMPDIR;

// The workspace: fixture programs and a .venv (a link to the repo's, which has Scalene) for discovery.
fs.symlinkSync(venv, path.join(ws, '.venv'));
for (const name of ['cpu_bound.py', 'memory_heavy.py']) {
  fs.copyFileSync(path.join(root, 'fixtures', 'programs', name), path.join(ws, name));
}
// The flame graph: score() called by light_batch and heavy_batch (3x the work), as main.py and helpers.py.
for (const name of ['main.py', 'helpers.py']) {
  fs.copyFileSync(path.join(root, 'fixtures', 'programs', 'call_paths', name), path.join(ws, name));
}
// Compare mode: compare_me.py starts as compare_v1.py and becomes compare_v2.py (grow() 3x slower).
fs.copyFileSync(path.join(root, 'fixtures', 'programs', 'compare_v1.py'), path.join(ws, 'compare_me.py'));
fs.writeFileSync(
  path.join(ws, 'live_demo.py'),
  `"""Works for about 12 seconds in one hot loop (the live run test watches it, pauses and resumes it)."""
import time


def spin():
    total = 0
    for i in range(100_000):
        total += i % 7
    return total


def main():
    end = time.time() + 12
    while time.time() < end:
        spin()


if __name__ == "__main__":
    main()
`,
);
const marker = path.join(ws, 'long_running.started');
fs.writeFileSync(
  path.join(ws, 'long_running.py'),
  `"""Runs for about a minute (the Cancel test stops it); writes a marker once it runs."""
import pathlib
import time


def spin():
    total = 0
    for i in range(200_000):
        total += i % 7
    return total


def main():
    pathlib.Path(__file__).with_suffix(".started").write_text("running")
    end = time.time() + 60
    keep = []
    while time.time() < end:
        spin()
        keep.append(bytearray(10_000))


if __name__ == "__main__":
    main()
`,
);
fs.writeFileSync(
  path.join(ws, 'show_args.py'),
  `"""Writes its arguments next to itself, then works for about a second."""
import json
import pathlib
import sys


def work(n):
    total = 0
    for i in range(n):
        total += i % 5
    return total


if __name__ == "__main__":
    pathlib.Path(__file__).with_suffix(".args.json").write_text(json.dumps(sys.argv[1:]))
    print(work(int(sys.argv[1])))
`,
);
const userSettings = {
  'editor.inlayHints.enabled': 'on',
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'editor.minimap.enabled': false,
  'editor.hover.delay': 200,
  'files.autoSave': 'off',
  'window.commandCenter': false,
  'workbench.colorTheme': 'Default Dark Modern',
  // The sandbox sits inside this repository: no "open the parent repository?" prompt.
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  // Explicit diagnostic settings (not the server's defaults, which may change): the Problems check
  // then also shows that settings reach the server.
  // The LSP trace prints every message (scalene/mcpEndpoint included): the token must not reach the log.
  'scalene.trace.server': 'verbose',
  'scalene.diagnostics.cpuPercent': 15,
  'scalene.diagnostics.cpuWarningPercent': 50,
  'scalene.diagnostics.cpuSeverity': 'information',
  'scalene.diagnostics.cpuWarningSeverity': 'warning',
};
// code-server is a remote window: settings of machine scope (scalene.path) are read from the remote
// ("Machine") settings, the others from the user settings.
// SCALENE_VSCODE_SETTINGS='{"scalene.diagnostics.cpuSeverity": "hint"}' adds user settings (to look at
// other settings in the screenshots; checks that depend on the settings above may then fail).
Object.assign(userSettings, JSON.parse(process.env.SCALENE_VSCODE_SETTINGS || '{}'));
const writeSettings = (extra = {}) => {
  fs.mkdirSync(path.join(userData, 'Machine'), { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...userSettings, ...extra }, null, 2));
  fs.writeFileSync(path.join(userData, 'Machine', 'settings.json'), JSON.stringify(extra, null, 2));
};

// ---------------------------------------------------------------- processes
/** Every descendant of pid (from /proc), deepest last. */
function descendants(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const walk = (p) => {
    for (const child of children.get(p) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z';
  } catch {
    return false;
  }
};
/** Processes whose command line mentions the sandbox (the language server runs from the extensions dir). */
function sandboxProcesses() {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(sandbox) && alive(Number(entry))) found.push(`${entry}: ${cmdline.slice(0, 160)}`);
    } catch {
      // gone
    }
  }
  return found;
}

let server; // code-server ChildProcess
let browser;
let page;

async function stopAll() {
  if (browser) {
    await browser.close().catch(() => {});
    browser = undefined;
  }
  if (server?.pid) {
    const pids = [server.pid, ...descendants(server.pid)];
    // Scalene runs sit in their own process groups: signal every pid and every group we know of.
    for (const pid of pids) {
      try { process.kill(pid, 'SIGTERM'); } catch {}
    }
    try { process.kill(-server.pid, 'SIGTERM'); } catch {}
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && pids.some(alive)) {
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const pid of [...pids, ...descendants(server.pid)]) {
      if (alive(pid)) {
        try { process.kill(pid, 'SIGKILL'); } catch {}
      }
    }
    try { process.kill(-server.pid, 'SIGKILL'); } catch {}
    server = undefined;
  }
  // Anything still running from the sandbox (e.g. a Scalene run that lost its parent).
  for (const line of sandboxProcesses()) {
    try { process.kill(Number(line.split(':')[0]), 'SIGKILL'); } catch {}
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await stopAll();
    process.exit(130);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function screenshot(name) {
  if (!page) return undefined;
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// ---------------------------------------------------------------- VS Code helpers
const norm = (text) => (text ?? '').replace(/\u00a0/g, ' ');

async function runCommand(title) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 30_000 });
  await input.fill(`>${title}`);
  const rows = page.locator('.quick-input-list .monaco-list-row', { hasText: title });
  await rows.first().waitFor({ state: 'visible', timeout: 30_000 });
  // Prefer the row whose label is exactly the title: "Profile Current File" must not pick a recently used
  // "Profile Current File Live" (the palette lists recently used commands first). Some built-in labels
  // are longer than the title given here ("View: Focus Problems (…)"): then the first row.
  const exact = new RegExp(`^\\s*${escapeRe(title)}\\s*$`);
  const exactRows = rows.filter({ has: page.locator('.label-name', { hasText: exact }) });
  await ((await exactRows.count()) > 0 ? exactRows.first() : rows.first()).click();
}

async function openFile(name) {
  await openFileTab(name);
  await page.locator('.monaco-editor .view-lines').first().waitFor({ timeout: 30_000 });
}

/** Opens a file with Quick Open and waits for its tab (a custom editor, such as a .cpuprofile's, has no
 * text lines). Quick open filters asynchronously: press Enter only when the focused row is the file, and
 * try again if another editor became active. */
async function openFileTab(name) {
  await waitFor(`${name} to open`, async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    try {
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(name);
      await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: name }).first().waitFor({ state: 'visible', timeout: 10_000 });
      await page.keyboard.press('Enter');
      await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  }, 90_000, 500);
}

/** The visible editor lines: [{top, text}] sorted by position. */
async function viewLines() {
  return page.evaluate(() =>
    [...document.querySelectorAll('.editor-instance .monaco-editor .view-lines .view-line')]
      .map((el) => ({ top: parseFloat(el.style.top), text: el.textContent ?? '' }))
      .sort((a, b) => a.top - b.top),
  );
}

/** The inlay hint on the line whose source is `source`: the text after the source, or undefined. */
function hintOf(lines, source) {
  const line = lines.find((l) => norm(l.text).trimStart().startsWith(source));
  if (!line) return undefined;
  const rest = norm(line.text).trimStart().slice(source.length).trim();
  return rest === '' ? undefined : rest;
}

const HINT_FORMAT = /^\d+\.\d% CPU( · \d+\.\d MB)?$|^\d+\.\d MB$/;

async function waitFor(what, predicate, timeoutMs = 120_000, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await predicate();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Status bar texts seen since the observer was installed (the run item changes every second). */
async function watchStatusBar() {
  await page.evaluate(() => {
    window.__scaleneStatus = [];
    const record = () => {
      for (const item of document.querySelectorAll('.part.statusbar .statusbar-item')) {
        const text = (item.textContent ?? '').trim();
        if (text.includes('Scalene') && window.__scaleneStatus[window.__scaleneStatus.length - 1] !== text) {
          window.__scaleneStatus.push(text);
        }
      }
    };
    window.__scaleneObserver?.disconnect();
    window.__scaleneObserver = new MutationObserver(record);
    window.__scaleneObserver.observe(document.querySelector('.part.statusbar'), { subtree: true, childList: true, characterData: true, attributes: true });
    record();
  });
}
const statusSeen = () => page.evaluate(() => window.__scaleneStatus ?? []);
const escapeRe = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Waits until the status bar has shown a run of `file` (spinner with seconds) and then a summary
 * matching `outcome` (a summary left from an earlier run does not count). Returns the texts seen.
 */
async function waitForRun(file, outcome = /Scalene: ok in \d+\.\d s/, timeoutMs = 240_000) {
  const running = new RegExp(`Scalene: ${escapeRe(file)}( \\(live\\))?( run \\d+/\\d+)? \\d+ s`);
  return waitFor(`a run of ${file} to end with ${outcome}`, async () => {
    const texts = await statusSeen();
    const start = texts.findIndex((t) => running.test(t));
    return start >= 0 && texts.slice(start + 1).some((t) => outcome.test(t)) ? texts : undefined;
  }, timeoutMs);
}

/** Editor line number -> whether its whole-line background has our heat colour (dark theme: ff6a2a). */
async function heatedLines() {
  return page.evaluate(() => {
    const editor = document.querySelector('.editor-instance .monaco-editor');
    const numbers = new Map();
    for (const el of editor.querySelectorAll('.margin-view-overlays > div')) {
      const n = parseInt(el.textContent ?? '', 10);
      if (!Number.isNaN(n)) numbers.set(parseFloat(el.style.top), n);
    }
    const heated = [];
    for (const row of editor.querySelectorAll('.view-overlays > div')) {
      const top = parseFloat(row.style.top);
      for (const deco of row.children) {
        const bg = getComputedStyle(deco).backgroundColor;
        const m = /rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)/.exec(bg);
        // The contributed defaults: ff6a2a (dark themes) and ff4d00 (light themes).
        if (m && m[1] === '255' && ((m[2] === '106' && m[3] === '42') || (m[2] === '77' && m[3] === '0'))) {
          heated.push({ line: numbers.get(top), alpha: Number(m[4] ?? 1) });
        }
      }
    }
    return heated;
  });
}

/** Problems panel rows: text and severity (from the row's icon). */
async function problemRows() {
  return page.evaluate(() =>
    [...document.querySelectorAll('.markers-panel .monaco-list-row')].map((row) => ({
      text: (row.textContent ?? '').replace(/\u00a0/g, ' '),
      severity: row.querySelector('.codicon-error') ? 'error' : row.querySelector('.codicon-warning') ? 'warning' : row.querySelector('.codicon-info') ? 'information' : 'other',
    })),
  );
}
const problems = async () => (await problemRows()).map((row) => row.text);

async function notifications() {
  return page.evaluate(() =>
    [...document.querySelectorAll('.notifications-toasts .notification-toast, .notifications-center .notification-list-item')]
      .filter((el) => el.offsetParent !== null)
      .map((el) => (el.innerText ?? '').replace(/\u00a0/g, ' ')),
  );
}

// ---------------------------------------------------------------- a code-server session
/** Starts code-server on the workspace (user settings plus `extraSettings`) and opens it in Chromium. */
async function startSession(name, extraSettings = {}, folder = ws) {
  // A fresh user-data dir per session: VS Code caches configuration there across restarts.
  userData = path.join(sandbox, `user-data-${name}`);
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  writeSettings(extraSettings);
  const port = await freePort();
  const csLog = fs.openSync(path.join(artifacts, `code-server-${name}.log`), 'w');
  server = spawn(
    codeServer,
    ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--user-data-dir', userData, '--extensions-dir', extensions, folder],
    { env, detached: true, stdio: ['ignore', csLog, csLog] },
  );
  await waitFor('code-server to listen', async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    } catch {
      return false;
    }
  }, 60_000);
  log(`${name}: code-server on port ${port}`);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    env,
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
  await page.locator('.part.statusbar').waitFor({ timeout: 120_000 });
  // The explorer lists the workspace once the workbench has restored: then it takes keyboard input.
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'cpu_bound.py' }).waitFor({ timeout: 120_000 });
}

// ---------------------------------------------------------------- the run
const started = Date.now();
try {
  log(`sandbox ${sandbox}`);
  const install = spawnSync(codeServer, ['--extensions-dir', extensions, '--user-data-dir', userData, '--install-extension', vsix], {
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  await check('the .vsix installs into code-server', () => {
    assert(install.status === 0, `code-server --install-extension exited ${install.status}: ${install.stderr}${install.stdout}`);
    const dirs = fs.readdirSync(extensions).filter((d) => d.startsWith('scalene-lsp.scalene-lsp'));
    assert(dirs.length === 1, `extension folder missing: ${fs.readdirSync(extensions)}`);
    const bundled = path.join(extensions, dirs[0], 'bin', 'scalene-lsp');
    assert(fs.existsSync(bundled), 'the platform .vsix bundles bin/scalene-lsp');
    fs.accessSync(bundled, fs.constants.X_OK);
  });

  const needsMain = ['profile', 'mcp', 'menus', 'args', 'compare', 'live', 'memory', 'cancel', 'flame', 'cpuprofile', 'attach', 'tests'].some(want);
  // Each later session stops the one before it (stopAll).
  if (needsMain) {
    await startSession('main');
  }

  // ------------------------------------------------------------ profile cpu_bound.py
  if (want('profile')) {
    await openFile('cpu_bound.py');
    await watchStatusBar();
    await runCommand('Scalene: Profile Current File');
    log('profiling cpu_bound.py');

    await check('progress shows in the status bar (spinner with elapsed seconds), then the summary', async () => {
      const seen = await waitForRun('cpu_bound.py');
      log('status', JSON.stringify(seen));
    });

    let lines = [];
    const hot = {
      7: 'for i in range(n):',
      8: 'total += i * i % 7',
      13: 'data = [random.random() for _ in range(n)]',
      15: 'data.sort()',
    };
    let hottest; // [line, cpu]
    await check('inlay hints with the documented labels (NN.N% CPU · N.N MB) on the hot lines', async () => {
      lines = await waitFor('inlay hints', async () => {
        const current = await viewLines();
        return Object.values(hot).filter((s) => hintOf(current, s)).length >= 2 ? current : undefined;
      }, 60_000);
      const hints = Object.entries(hot).map(([n, s]) => [Number(n), hintOf(lines, s)]).filter(([, h]) => h);
      log('hints', JSON.stringify(hints));
      assert(hints.length >= 2, `expected hints on at least 2 of the hot lines 7, 8, 13, 15: ${JSON.stringify(hints)}`);
      for (const [n, h] of hints) {
        assert(HINT_FORMAT.test(h), `line ${n}: hint ${JSON.stringify(h)} does not follow "NN.N% CPU · N.N MB"`);
      }
      assert(hints.some(([, h]) => / MB$/.test(h)), 'a hot line shows its memory (memory profiling is the default)');
      hottest = hints.map(([n, h]) => [n, parseFloat(h)]).sort((a, b) => b[1] - a[1])[0];
      const quiet = hintOf(lines, 'def python_loop(n):');
      assert(quiet === undefined, `a def line has no hint (got ${quiet})`);
    });

    await check('heat: whole-line backgrounds on the hot lines, the hottest line the strongest', async () => {
      const heated = await waitFor('heat decorations', async () => {
        const h = await heatedLines();
        return h.length > 0 ? h : undefined;
      }, 30_000);
      log('heat', JSON.stringify(heated));
      const hotHeated = heated.filter((h) => Object.keys(hot).map(Number).includes(h.line));
      assert(hotHeated.length >= 2, `hot lines with heat: ${JSON.stringify(heated)}`);
      assert(!heated.some((h) => h.line === 5 || h.line === 20), 'no heat on def/if lines');
      if (hottest) {
        const top = heated.find((h) => h.line === hottest[0]);
        assert(top, `the hottest line ${hottest[0]} has heat`);
        assert(heated.every((h) => h.alpha <= top.alpha), `the hottest line has the strongest colour: ${JSON.stringify(heated)}`);
      }
    });

    await check('code lenses show the function totals', async () => {
      const lenses = await waitFor('function total lenses', async () => {
        const texts = await page.evaluate(() =>
          [...document.querySelectorAll('.editor-instance .codelens-decoration')].map((el) => (el.textContent ?? '').replace(/\u00a0/g, ' ')),
        );
        return texts.filter((t) => /\d+\.\d% CPU/.test(t)).length >= 2 ? texts : undefined;
      }, 60_000);
      log('lenses', JSON.stringify(lenses));
      assert(lenses.some((t) => /^\d+\.\d% CPU · \d+\.\d MB peak$/.test(t.trim())), `a total with peak memory: ${JSON.stringify(lenses)}`);
    });

    await page.keyboard.press('Escape');
    await page.mouse.move(5, 400);
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
    await page.waitForTimeout(500); // the fade-out of the last widget: a picture, not an assertion
    const shot = await screenshot('profiled');
    if (updateScreenshot && shot) {
      fs.copyFileSync(shot, path.join(root, 'editors', 'vscode', 'images', 'profiled.png'));
      log('updated editors/vscode/images/profiled.png');
    }

    await check('hover on a hot line shows the line metrics', async () => {
      const target = page.locator('.editor-instance .view-line', { hasText: hottest ? hot[hottest[0]] : 'data.sort()' }).first();
      const box = await target.boundingBox();
      assert(box, 'hot line visible');
      const text = await waitFor('the hover', async () => {
        await page.mouse.move(box.x + 60, box.y + box.height / 2);
        await page.mouse.move(box.x + 64, box.y + box.height / 2);
        const hover = page.locator('.monaco-hover:not(.hidden)').filter({ hasText: /CPU/ }).first();
        try {
          await hover.waitFor({ state: 'visible', timeout: 3000 });
          return norm(await hover.textContent());
        } catch {
          return undefined;
        }
      }, 60_000, 500);
      log('hover', JSON.stringify(text.slice(0, 300)));
      assert(/CPU/.test(text) && /%/.test(text), `hover text: ${text.slice(0, 200)}`);
      assert(/python/i.test(text) && /native/i.test(text), `the hover splits CPU into python/native: ${text.slice(0, 200)}`);
      await screenshot('hover');
      await page.mouse.move(5, 400);
      await page.keyboard.press('Escape');
    });

    await check('the Problems panel lists the hottest line as a scalene cpu-hotspot, with the severities set in the settings', async () => {
      await runCommand('View: Focus Problems');
      const rows = await waitFor('Problems rows', async () => {
        const r = await problemRows();
        return r.some((row) => /% of CPU time/.test(row.text)) ? r : undefined;
      }, 30_000);
      log('problems', JSON.stringify(rows));
      const cpu = rows.filter((row) => /% of CPU time/.test(row.text));
      for (const row of cpu) {
        const m = /^(\d+\.\d)% of CPU time \(python \d+\.\d%, native \d+\.\d%, system \d+\.\d%\)/.exec(row.text);
        assert(m, `message format: ${row.text}`);
        assert(/scalene\(?cpu-hotspot/.test(row.text), `source scalene, code cpu-hotspot: ${row.text}`);
        const percent = Number(m[1]);
        // scalene.diagnostics.cpuPercent 15, cpuWarningPercent 50 (user settings of this test).
        assert(percent >= 15, `only lines from 15% CPU: ${row.text}`);
        assert(row.severity === (percent >= 50 ? 'warning' : 'information'), `severity ${row.severity} for ${percent}%`);
      }
      if (hottest) {
        assert(cpu.some((row) => new RegExp(`\\[Ln ${hottest[0]}, Col \\d+\\]`).test(row.text)), `an entry for the hottest line ${hottest[0]}: ${JSON.stringify(cpu)}`);
      }
      await screenshot('problems');
    });

    await check('the Python language status shows the interpreter and the Scalene version in use', async () => {
      await runCommand('View: Hide Panel').catch(() => {});
      const text = await waitFor('the language status hover', async () => {
        // The `{}` item next to the language mode opens the language status hover.
        await page.locator('[id="status.languageStatus"]').first().click();
        const entry = page.getByText(/Scalene \d+\.\d+\.\d+ · Python/).first();
        try {
          await entry.waitFor({ state: 'visible', timeout: 3000 });
          // The entry and its detail (the interpreter) sit in one row.
          return norm(await entry.locator('xpath=ancestor::*[contains(@class, "hover-language-status")][1]').first().innerText().catch(() => entry.locator('xpath=../..').innerText()));
        } catch {
          await page.keyboard.press('Escape');
          return undefined;
        }
      }, 60_000, 1000);
      log('language status', JSON.stringify(text.slice(0, 200)));
      assert(/Scalene 2\.\d+\.\d+ · Python 3\.\d+/.test(text), `versions: ${text.slice(0, 200)}`);
      assert(text.includes(path.join(ws, '.venv')), `the workspace's .venv interpreter: ${text.slice(0, 300)}`);
      await screenshot('language-status');
      await page.keyboard.press('Escape');
    });

    await check('Toggle Annotations hides hints and heat, and shows them again', async () => {
      await runCommand('Scalene: Toggle Annotations');
      await waitFor('hints and heat to disappear', async () => {
        const current = await viewLines();
        return Object.values(hot).every((source) => !hintOf(current, source)) && (await heatedLines()).length === 0;
      }, 30_000);
      await runCommand('Scalene: Toggle Annotations');
      await waitFor('hints and heat to come back', async () => {
        const current = await viewLines();
        return Object.values(hot).some((source) => hintOf(current, source)) && (await heatedLines()).length > 0;
      }, 30_000);
    });

    await check('the Command Palette lists each Scalene command once, and none of the server\'s command ids', async () => {
      /** The labels the palette shows for `query` (the list is virtualized: only the rows in view). */
      const paletteLabels = async (query, waitText) => {
        await page.keyboard.press('Escape');
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget input');
        await input.waitFor({ state: 'visible', timeout: 30_000 });
        await input.fill(query);
        await page.locator('.quick-input-list .monaco-list-row', { hasText: waitText }).first().waitFor({ timeout: 30_000 });
        const shown = await page.evaluate(() =>
          [...document.querySelectorAll('.quick-input-list .monaco-list-row .label-name')].map((el) => (el.textContent ?? '').trim()),
        );
        await page.keyboard.press('Escape');
        return shown;
      };
      // Any of ours: which rows are in view depends on how many commands there are and their order.
      const labels = await paletteLabels('>Scalene', 'Scalene: ');
      const ours = labels.filter((label) => label.startsWith('Scalene:'));
      log('palette', JSON.stringify(ours));
      assert(new Set(ours).size === ours.length, `duplicates: ${JSON.stringify(ours)}`);
      for (const title of ['Profile Current File', 'Profile with Arguments…', 'Profile CPU Only', 'Cancel Profiling', 'Clear Profiles',
        'Toggle Annotations', 'Load Scalene JSON…', 'Show Output', 'Restart Server', 'Copy MCP Configuration', 'Profile Current File Live',
        'Profile Live, Recording Paused', 'Save Profile as Baseline', 'Compare with Baseline', 'Exit Compare Mode', 'Show Flame Graph']) {
        // Rows beyond the list's height are not in the page: ask for those by their title.
        const found = ours.includes(`Scalene: ${title}`) || (await paletteLabels(`>Scalene: ${title}`, `Scalene: ${title}`).catch(() => [])).filter((l) => l === `Scalene: ${title}`).length === 1;
        assert(found, `Scalene: ${title} is listed: ${JSON.stringify(ours)}`);
      }
      assert(!labels.some((label) => /^scalene\.\w+$/.test(label)), `server ids listed: ${JSON.stringify(labels)}`);
      // Pause and Resume Recording only while a run goes on.
      assert(!ours.some((label) => /Recording$/.test(label)), `no run, yet: ${JSON.stringify(ours)}`);
    });
  }

  // ------------------------------------------------------------ MCP
  if (want('mcp')) {
    await check('VS Code lists the MCP server the extension registers, starts it with the token, and finds its tools', async () => {
      await openFile('cpu_bound.py');
      const rows = await waitFor('the Scalene MCP server in MCP: List Servers', async () => {
        await runCommand('MCP: List Servers').catch(() => {});
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Scalene profiler' }).first();
        try {
          await row.waitFor({ state: 'visible', timeout: 5000 });
          return norm(await page.locator('.quick-input-list').innerText());
        } catch {
          await page.keyboard.press('Escape');
          return undefined;
        }
      }, 60_000, 1000);
      log('mcp servers', JSON.stringify(rows.slice(0, 300)));
      await screenshot('mcp-servers');
      // Start it: VS Code connects over HTTP with the bearer token from the definition.
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Scalene profiler' }).first().click();
      const start = page.locator('.quick-input-list .monaco-list-row', { hasText: /Start Server/ }).first();
      await start.waitFor({ state: 'visible', timeout: 30_000 });
      await start.click();
      const running = await waitFor('the server to run', async () => {
        await runCommand('MCP: List Servers').catch(() => {});
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Scalene profiler' }).first();
        try {
          await row.waitFor({ state: 'visible', timeout: 5000 });
          const text = norm(await row.innerText());
          await page.keyboard.press('Escape');
          return /Running/i.test(text) ? text : undefined;
        } catch {
          await page.keyboard.press('Escape');
          return undefined;
        }
      }, 60_000, 2000);
      log('mcp running', JSON.stringify(running));
      // Its output says how many tools VS Code found.
      await runCommand('MCP: List Servers');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Scalene profiler' }).first().click();
      const show = page.locator('.quick-input-list .monaco-list-row', { hasText: /Show Output/ }).first();
      await show.waitFor({ state: 'visible', timeout: 30_000 });
      await show.click();
      const output = await waitFor('the MCP output to list the tools', async () => {
        const text = norm(await page.locator('.output-view, .panel').first().innerText().catch(() => ''));
        return /Discovered \d+ tools/i.test(text) ? text : undefined;
      }, 30_000, 1000);
      const tools = Number(/Discovered (\d+) tools/i.exec(output)[1]);
      log('mcp tools', tools);
      assert(tools >= 8, `the profiler's tools (profile, hotspots, line_profile, ...): ${tools}`);
      await screenshot('mcp-running');
      await runCommand('View: Hide Panel').catch(() => {});
    });

    await check('Copy MCP Configuration updates .mcp.json after asking, keeping the other entries', async () => {
      const file = path.join(ws, '.mcp.json');
      fs.writeFileSync(file, JSON.stringify({ mcpServers: { other: { command: 'other-server', args: ['--stdio'] } } }, null, 2));
      await runCommand('Scalene: Copy MCP Configuration');
      const button = page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Update .mcp.json' }).first();
      await button.waitFor({ state: 'visible', timeout: 30_000 });
      await screenshot('mcp-json-dialog');
      await button.click();
      const written = await waitFor('.mcp.json to have the scalene entry', async () => {
        const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
        return parsed.mcpServers?.scalene ? parsed : undefined;
      }, 30_000);
      assert(JSON.stringify(written.mcpServers.other) === JSON.stringify({ command: 'other-server', args: ['--stdio'] }), 'the other entry is kept');
      const { command, args } = written.mcpServers.scalene;
      assert(command.startsWith(extensions) && command.endsWith(path.join('bin', 'scalene-lsp')), `the resolved (bundled) server: ${command}`);
      assert(JSON.stringify(args) === '["mcp"]', `args: ${JSON.stringify(args)}`);
      await page.keyboard.press('Escape');
    });

    await check('the MCP token never reaches the Scalene output (LSP trace on)', async () => {
      const dir = path.join(env.XDG_RUNTIME_DIR, 'scalene-lsp');
      const tokens = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).token);
      assert(tokens.length > 0 && tokens.every((t) => typeof t === 'string' && t.length >= 20), `the discovery file has the token: ${tokens.length}`);
      const logs = [];
      const walk = (d) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.name === 'Scalene.log') logs.push(fs.readFileSync(p, 'utf8'));
        }
      };
      const text = await waitFor('the trace of scalene/mcpEndpoint in the log', async () => {
        logs.length = 0;
        walk(path.join(userData, 'logs'));
        const all = logs.join('\n');
        return /scalene\/mcpEndpoint/.test(all) ? all : undefined;
      }, 30_000, 1000);
      for (const token of tokens) {
        assert(!text.includes(token), 'the token is in the Scalene output');
      }
      assert(/<redacted>/.test(text), 'the traced notification shows <redacted> instead');
    });
  }

  // ------------------------------------------------------------ menus
  if (want('menus')) {
    await check("the editor title's run button profiles the file", async () => {
      await openFile('cpu_bound.py');
      await watchStatusBar();
      const button = page.locator('.editor-actions .action-item a[aria-label*="Profile Current File"]').first();
      await button.waitFor({ state: 'visible', timeout: 30_000 });
      await button.click();
      await waitForRun('cpu_bound.py');
    });

    await check('Ctrl+Alt+P in a Python editor profiles the file', async () => {
      await openFile('memory_heavy.py');
      await page.locator('.editor-instance .view-line', { hasText: 'def build_lists' }).first().click();
      await watchStatusBar();
      await page.keyboard.press('Control+Alt+KeyP');
      await waitForRun('memory_heavy.py');
    });

    /** The labels of a context menu opened by a right click on `target`. */
    const contextMenu = (target, what) =>
      waitFor(`the ${what} context menu`, async () => {
        await page.keyboard.press('Escape');
        await target.click({ button: 'right', timeout: 10_000 }).catch(() => {});
        const menu = page.locator('.context-view .monaco-menu');
        try {
          await menu.waitFor({ state: 'visible', timeout: 5000 });
          const items = (await menu.locator('.action-label').allInnerTexts()).map(norm);
          await page.keyboard.press('Escape');
          return items.length > 0 ? items : undefined;
        } catch {
          return undefined;
        }
      }, 60_000, 1000);

    await check('the editor and explorer context menus of a .py file offer the profile commands', async () => {
      const inEditor = await contextMenu(page.locator('.editor-instance .view-line', { hasText: 'def build_lists' }).first(), 'editor');
      const inExplorer = await contextMenu(page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'cpu_bound.py' }).first(), 'explorer');
      log('menus', JSON.stringify({ editor: inEditor.filter((t) => /Profile/.test(t)), explorer: inExplorer.filter((t) => /Profile/.test(t)) }));
      assert(inEditor.some((t) => /Show Flame Graph/.test(t)), `editor: Show Flame Graph: ${JSON.stringify(inEditor)}`);
      for (const [where, items] of [['editor', inEditor], ['explorer', inExplorer]]) {
        assert(items.some((t) => /Profile Current File/.test(t)), `${where}: Profile Current File: ${JSON.stringify(items)}`);
        assert(items.some((t) => /Profile with Arguments/.test(t)), `${where}: Profile with Arguments…: ${JSON.stringify(items)}`);
      }
    });
  }

  // ------------------------------------------------------------ Profile with Arguments…
  if (want('args')) {
    await check('Profile with Arguments…: the arguments reach the program intact, and are offered again', async () => {
      await openFile('show_args.py');
      await watchStatusBar();
      // The input box replaces the Command Palette in the same widget: wait for its title.
      const argsBox = page.locator('.quick-input-widget', { hasText: 'Profile show_args.py with arguments' });
      const input = argsBox.locator('input');
      await runCommand('Scalene: Profile with Arguments…');
      await input.waitFor({ state: 'visible', timeout: 30_000 });
      await input.fill(`3000000 "two words" --flag=x`);
      await page.keyboard.press('Enter');
      await waitForRun('show_args.py');
      const seen = JSON.parse(fs.readFileSync(path.join(ws, 'show_args.args.json'), 'utf8'));
      assert(JSON.stringify(seen) === JSON.stringify(['3000000', 'two words', '--flag=x']), `argv: ${JSON.stringify(seen)}`);
      await runCommand('Scalene: Profile with Arguments…');
      await input.waitFor({ state: 'visible', timeout: 30_000 });
      const offered = await waitFor('the input box', async () => {
        const value = await input.inputValue();
        return value.startsWith('>') ? undefined : value;
      }, 30_000);
      await page.keyboard.press('Escape');
      assert(offered === `3000000 'two words' --flag=x`, `the last arguments are offered: ${offered}`);
    });
  }

  // ------------------------------------------------------------ compare mode
  if (want('compare')) {
    const store = path.join(env.XDG_DATA_HOME, 'scalene-lsp', 'profiles');
    await check('Save Profile as Baseline keeps the profile in the private store and says what to do next', async () => {
      await runCommand('View: Hide Panel').catch(() => {});
      await runCommand('Notifications: Clear All Notifications').catch(() => {});
      await openFile('compare_me.py');
      await watchStatusBar();
      await runCommand('Scalene: Profile Current File');
      await waitForRun('compare_me.py');
      await runCommand('Scalene: Save Profile as Baseline');
      const message = await waitFor('the saved message', async () => {
        const ours = (await notifications()).filter((t) => /saved the profile of compare_me\.py/.test(t));
        return ours.length > 0 ? ours[0] : undefined;
      }, 30_000);
      assert(/as `?baseline`?/.test(message) && /Compare with Baseline/.test(message), message);
      const saved = fs.readdirSync(store).filter((f) => f.startsWith('baseline'));
      assert(saved.length === 1, `one saved profile named baseline in ${store}: ${fs.readdirSync(store)}`);
      assert((fs.statSync(store).mode & 0o777) === 0o700, `the store is 0700: ${(fs.statSync(store).mode & 0o777).toString(8)}`);
      assert((fs.statSync(path.join(store, saved[0])).mode & 0o777) === 0o600, 'the saved profile is 0600');
    });

    await check('Compare with Baseline after a change: regressions on the right lines, in Problems, hints and a message', async () => {
      await runCommand('Notifications: Clear All Notifications').catch(() => {});
      // The change lands on disk (as from git or another tool); VS Code reloads the unmodified editor.
      fs.copyFileSync(path.join(root, 'fixtures', 'programs', 'compare_v2.py'), path.join(ws, 'compare_me.py'));
      await waitFor('the editor to show version 2', async () => (await viewLines()).some((l) => norm(l.text).includes('GROW_N = 1_200_000')), 30_000);
      await watchStatusBar();
      await runCommand('Scalene: Compare with Baseline');
      await waitForRun('compare_me.py');
      const message = await waitFor('the comparison message', async () => {
        const ours = (await notifications()).filter((t) => /compare_me\.py compared with baseline/.test(t));
        return ours.length > 0 ? ours[0] : undefined;
      }, 60_000);
      log('compare message', JSON.stringify(message));
      assert(/regress/i.test(message), `the summary names the regression: ${message}`);
      await runCommand('View: Focus Problems');
      const rows = await waitFor('cpu-regression problems', async () => {
        const r = await problemRows();
        return r.some((row) => /slower than baseline/.test(row.text)) ? r : undefined;
      }, 30_000);
      log('compare problems', JSON.stringify(rows.map((r) => r.text)));
      const slower = rows.filter((row) => /slower than baseline/.test(row.text));
      // grow() (line 16 `for value in data:` / 17 `total += value * value % 7` in version 2) got slower.
      assert(slower.some((row) => /\[Ln 1[2-7], Col \d+\]/.test(row.text)), `a regression inside grow() (lines 12-17): ${JSON.stringify(slower.map((r) => r.text))}`);
      assert(slower.every((row) => row.severity === 'warning'), `regressions are warnings: ${JSON.stringify(slower)}`);
      assert(!slower.some((row) => /\[Ln (2[6-9]|3[01]), Col/.test(row.text)), `nothing in shrink() (lines 26-31) got slower: ${JSON.stringify(slower.map((r) => r.text))}`);
      await runCommand('View: Hide Panel').catch(() => {});
      const hint = await waitFor('a change hint on the hottest line of grow()', async () => hintOf(await viewLines(), 'total += value * value % 7'), 30_000);
      log('compare hint', hint);
      assert(/^\+\d+\.\d+ s CPU \(\+\d+%\)/.test(hint), `the hint shows the change: ${hint}`);
      await screenshot('compare');
    });

    await check('Exit Compare Mode goes back to the plain numbers', async () => {
      await runCommand('Scalene: Exit Compare Mode');
      const hint = await waitFor('the plain hint again', async () => {
        const h = hintOf(await viewLines(), 'total += value * value % 7');
        return h && HINT_FORMAT.test(h) ? h : undefined;
      }, 30_000);
      log('plain hint', hint);
      await runCommand('View: Focus Problems');
      await waitFor('the regressions to leave Problems', async () => !(await problems()).some((t) => /slower than baseline/.test(t)), 30_000);
      await runCommand('View: Hide Panel').catch(() => {});
    });
  }

  // ------------------------------------------------------------ live run, pause and resume
  if (want('live')) {
    await check('Profile Current File Live: numbers while it runs, Pause and Resume Recording in the status bar', async () => {
      await openFile('live_demo.py');
      await watchStatusBar();
      await runCommand('Scalene: Profile Current File Live');
      await waitFor('the live run in the status bar', async () => (await statusSeen()).some((t) => /Scalene: live_demo\.py \(live\) \d+ s/.test(t)), 120_000);
      // A snapshot arrives while the run goes on: the hint shows before the status bar's summary.
      const early = await waitFor('a hint from a live snapshot', async () => hintOf(await viewLines(), 'total += i % 7'), 60_000, 200);
      const texts = await statusSeen();
      const liveFrom = texts.findIndex((t) => /Scalene: live_demo\.py \(live\) \d+ s/.test(t));
      const endedEarly = texts.slice(liveFrom + 1).some((t) => /Scalene: \w+ in \d+\.\d s/.test(t));
      log('live hint', early);
      assert(HINT_FORMAT.test(early), `a live hint: ${early}`);
      assert(!endedEarly, 'the hint came from a snapshot, before the run ended');
      await runCommand('Scalene: Pause Recording');
      await waitFor('the status bar to say paused', async () => (await statusSeen()).some((t) => /Scalene: live_demo\.py \(live\) \d+ s · paused/.test(t)), 30_000);
      await screenshot('live-paused');
      await runCommand('Scalene: Resume Recording');
      await waitFor('recording again', async () => {
        const texts = await statusSeen();
        const pausedAt = texts.findIndex((t) => /· paused/.test(t));
        return texts.slice(pausedAt + 1).some((t) => /Scalene: live_demo\.py \(live\) \d+ s$/.test(t));
      }, 30_000);
      await waitForRun('live_demo.py', /Scalene: ok in \d+\.\d s/, 120_000);
    });
  }

  // ------------------------------------------------------------ memory_heavy.py (screenshot for review)
  if (want('memory')) {
  await check('memory_heavy.py: hints show peak MB on the allocating lines', async () => {
      await runCommand('View: Hide Panel').catch(() => {});
      await openFile('memory_heavy.py');
      await watchStatusBar();
      await runCommand('Scalene: Profile Current File');
      await waitForRun('memory_heavy.py');
      const memLines = await waitFor('hints', async () => {
        const current = await viewLines();
        return hintOf(current, 'big = [float(i) for i in range(6_000_000)]') ? current : undefined;
      }, 60_000);
      const hint = hintOf(memLines, 'big = [float(i) for i in range(6_000_000)]');
      log('memory hint', hint);
      assert(/\d+\.\d MB$/.test(hint), `the list line shows MB: ${hint}`);
      await runCommand('View: Focus Problems');
      await page.waitForTimeout(1000);
      await screenshot('memory_heavy');
      log('memory_heavy problems', JSON.stringify(await problems()));
      await runCommand('View: Hide Panel').catch(() => {});
    });
  }

  // ------------------------------------------------------------ Cancel
  if (want('cancel')) {
  await check('Cancel (click on the status bar item) stops a long run and shows the partial profile', async () => {
      await openFile('long_running.py');
      await watchStatusBar();
      await runCommand('Scalene: Profile Current File');
      await waitFor('the program to run under Scalene (its marker file)', async () => fs.existsSync(marker), 180_000);
      // Let Scalene take samples of the running program, then click the spinner (a wait, not an assertion).
      const item = page.locator('.part.statusbar .statusbar-item', { hasText: /Scalene: long_running\.py \d+ s/ }).first();
      await item.waitFor({ state: 'visible', timeout: 30_000 });
      await page.waitForTimeout(3000);
      await item.click();
      const seen = await waitForRun('long_running.py', /Scalene: cancelled in \d+\.\d s/, 120_000);
      log('status', JSON.stringify(seen.slice(-3)));
      const partial = await waitFor('hints of the partial profile', async () => {
        const current = await viewLines();
        const h = hintOf(current, 'total += i % 7') ?? hintOf(current, 'for i in range(200_000):');
        return h;
      }, 60_000);
      assert(HINT_FORMAT.test(partial), `partial profile hint: ${partial}`);
      await screenshot('cancelled');
    });
  }

  // ------------------------------------------------------------ flame graph of call_paths (main.py, helpers.py)
  if (want('flame')) {
    /** The flame graph webview's document: webviews are an iframe holding the page's iframe. */
    const flame = page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
    const frame = (name) => flame.locator(`.frame[data-name="${name}"]`);
    const profileIdShown = () => flame.locator('body').getAttribute('data-profile-id', { timeout: 5000 }).catch(() => undefined);
    /** The extension's own log lines about the flame graph (Scalene output channel). */
    const flameLog = () => {
      const found = [];
      const walk = (dir) => {
        for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
          const file = path.join(dir, entry.name);
          if (entry.isDirectory()) walk(file);
          else if (entry.name === 'Scalene.log') found.push(...fs.readFileSync(file, 'utf8').split('\n').filter((l) => /(flame graph|timeline): .* drawn/.test(l)));
        }
      };
      walk(path.join(userData, 'logs'));
      return found;
    };

    await check('Show Flame Graph draws main, heavy_batch, light_batch and score, heavy_batch wider than light_batch', async () => {
      await runCommand('View: Hide Panel').catch(() => {});
      await runCommand('Notifications: Clear All Notifications').catch(() => {});
      await openFile('main.py');
      await watchStatusBar();
      await runCommand('Scalene: Profile Current File');
      await waitForRun('main.py');
      await openFile('main.py');
      const t0 = Date.now();
      await runCommand('Scalene: Show Flame Graph');
      await waitFor('the flame graph frames', async () => (await frame('score').count()) >= 2, 60_000, 20);
      const ms = Date.now() - t0;
      log(`flame graph: frames drawn ${ms} ms after the command (measured by the test, polling every 20 ms)`);
      for (const name of ['main', 'heavy_batch', 'light_batch', 'score']) {
        await frame(name).first().waitFor({ state: 'visible', timeout: 10_000 });
      }
      // Measured once both are laid out (a redraw in between, from a late cache event, detaches them).
      const [heavy, light] = await waitFor('both batches laid out', async () => {
        const boxes = [await frame('heavy_batch').first().boundingBox().catch(() => null), await frame('light_batch').first().boundingBox().catch(() => null)];
        return boxes.every(Boolean) ? boxes : undefined;
      }, 10_000, 50);
      log('flame widths', JSON.stringify({ heavy: heavy?.width, light: light?.width }));
      assert(heavy && light && heavy.width > light.width, `heavy_batch wider than light_batch: ${heavy?.width} vs ${light?.width}`);
      const label = norm(await frame('heavy_batch').first().innerText());
      assert(/^heavy_batch \d+\.\d%$/.test(label.trim()), `label "name NN.N%": ${label}`);
      const tooltip = await frame('score').first().getAttribute('title');
      assert(/total \d[\d,]* samples · self/.test(tooltip) && /helpers\.py:\d+/.test(tooltip), `tooltip: ${tooltip}`);
      await page.mouse.move(5, 400);
      await page.waitForTimeout(300); // a picture, not an assertion
      await screenshot('flame-graph');
      log('flame log', JSON.stringify(flameLog()));
    });

    await check('the flame graph search highlights the matching frames', async () => {
      await flame.locator('#search').fill('score');
      await waitFor('two score matches', async () => (await flame.locator('.frame.match').count()) === 2, 10_000);
      const matched = norm(await flame.locator('#matched').innerText());
      assert(/^\d+\.\d% matched$/.test(matched), `matched share: ${matched}`);
      await flame.locator('#search').fill('');
      await waitFor('no matches', async () => (await flame.locator('.frame.match').count()) === 0, 10_000);
    });

    await check('the flame graph follows a new profile of the file', async () => {
      const before = await profileIdShown();
      // Quick open opens in the focused group: the editors' group, not the flame graph's.
      await runCommand('View: Focus First Editor Group');
      await openFile('main.py');
      await watchStatusBar();
      await runCommand('Scalene: Profile Current File');
      // The run's end (status bar) and the new profile's frames, both timed by polling every 20 ms.
      let endedAt;
      const runEnded = async () => {
        // The summary after this run's spinner (the previous run's summary may still show at first).
        const texts = await statusSeen();
        const start = texts.findIndex((t) => /Scalene: main\.py \d+ s/.test(t));
        return start >= 0 && texts.slice(start + 1).some((t) => /Scalene: ok in \d+\.\d s/.test(t));
      };
      const drawnAt = await waitFor('the new profile in the flame graph', async () => {
        const now = await profileIdShown();
        const drawn = now && now !== before && (await frame('score').count()) >= 2 ? Date.now() : undefined;
        if (endedAt === undefined && (await runEnded())) endedAt = Date.now();
        return drawn;
      }, 240_000, 20);
      const after = await profileIdShown();
      // Both show the same notification's effect: a draw seen in the poll that saw the summary counts 0.
      log(`flame graph: ${before} -> ${after}, drawn ${endedAt === undefined ? '?' : Math.max(0, drawnAt - endedAt)} ms after the status bar showed the run's end (20 ms polls)`);
      await waitFor('the extension to log the draw', async () => flameLog().some((l) => l.includes(`${after} drawn`)), 10_000).catch(() => {});
      log('flame log', JSON.stringify(flameLog()));
    });

    await check("clicking a score frame opens helpers.py at score's line and marks the frames of that line", async () => {
      await frame('score').first().click();
      await page.locator('.tab.active', { hasText: 'helpers.py' }).first().waitFor({ timeout: 30_000 });
      // The editor's selection is now on score's line: its frame is marked (debounced).
      await waitFor('the score frame marked as the selected line', async () => (await flame.locator('.frame.cursor[data-name="score"]').count()) >= 1, 10_000);
      // The click zoomed in: score spans the chart; Reset Zoom shows the whole run again.
      await flame.locator('#reset').click();
      await waitFor('light_batch again after Reset Zoom', async () => (await frame('light_batch').count()) === 1, 10_000);
      await screenshot('flame-graph-clicked');
    });

    const timelineFrame = (name) => flame.locator(`.frame.timeline[data-name="${name}"]`);
    await check('the Timeline tab draws the run in time order; clicking a frame opens its line', async () => {
      await runCommand('View: Focus First Editor Group');
      const t0 = Date.now();
      await flame.locator('#tab-timeline').click();
      await waitFor('the timeline frames', async () => (await timelineFrame('score').count()) >= 1, 60_000, 20);
      log(`timeline: frames drawn ${Date.now() - t0} ms after the tab was clicked (measured by the test, polling every 20 ms)`);
      for (const name of ['main', 'heavy_batch', 'light_batch', 'score', 'ranked']) {
        await timelineFrame(name).first().waitFor({ state: 'visible', timeout: 10_000 });
      }
      const lanes = norm(await flame.locator('.lane').first().innerText());
      assert(/^main thread · [\d,]+ samples$/.test(lanes), `a lane per thread: ${lanes}`);
      assert(/CPU timeline/.test(norm(await flame.locator('#title').innerText())), 'the title names the timeline');
      // Time runs left to right: the batches come before ranked(), which runs last but keep().
      const heavy = await timelineFrame('heavy_batch').first().boundingBox();
      const ranked = await timelineFrame('ranked').first().boundingBox();
      assert(heavy && ranked && heavy.x < ranked.x, `heavy_batch starts before ranked: ${heavy?.x} vs ${ranked?.x}`);
      const tooltip = await timelineFrame('score').first().getAttribute('title');
      assert(/→/.test(tooltip) && /\d+ samples?\b/.test(tooltip) && /helpers\.py:\d+/.test(tooltip), `tooltip: ${tooltip}`);
      await page.mouse.move(5, 400);
      await page.waitForTimeout(300); // a picture, not an assertion
      await screenshot('flame-graph-timeline');
      await waitFor('the extension to log the timeline draw', async () => flameLog().some((l) => /timeline: .* drawn \d+ ms after the Timeline tab/.test(l)), 10_000).catch(() => {});
      log('timeline log', JSON.stringify(flameLog().filter((l) => /timeline:/.test(l))));
      await runCommand('View: Focus First Editor Group');
      await openFile('main.py');
      await timelineFrame('heavy_batch').first().click();
      await page.locator('.tab.active', { hasText: 'main.py' }).first().waitFor({ timeout: 30_000 });
      await timelineFrame('score').first().click();
      await page.locator('.tab.active', { hasText: 'helpers.py' }).first().waitFor({ timeout: 30_000 });
      await waitFor('the score frame marked as the selected line', async () => (await flame.locator('.frame.timeline.cursor[data-name="score"]').count()) >= 1, 10_000);
      await flame.locator('#tab-tree').click();
      await waitFor('the flame graph again', async () => (await frame('light_batch').count()) >= 1 && (await flame.locator('.frame.timeline').count()) === 0, 30_000);
    });

    await check('in compare mode the flame graph colours functions by the comparison, with a legend and before → after', async () => {
      await runCommand('View: Focus First Editor Group');
      await openFile('main.py');
      await runCommand('Notifications: Clear All Notifications').catch(() => {});
      await runCommand('Scalene: Save Profile as Baseline');
      await waitFor('the saved message', async () => (await notifications()).some((t) => /saved the profile of main\.py/.test(t)), 30_000);
      // heavy_batch does three times the work: score() gets much slower.
      const text = fs.readFileSync(path.join(ws, 'main.py'), 'utf8');
      assert(text.includes('score(2_700_000)'), 'the call_paths program calls score(2_700_000)');
      fs.writeFileSync(path.join(ws, 'main.py'), text.replace('score(2_700_000)', 'score(8_100_000)'));
      await waitFor('the editor to show the heavier main.py', async () => (await viewLines()).some((l) => norm(l.text).includes('score(8_100_000)')), 30_000);
      await watchStatusBar();
      await runCommand('Scalene: Compare with Baseline');
      await waitForRun('main.py');
      await waitFor('regressed frames in the flame graph', async () => (await flame.locator('.frame.verdict-regressed').count()) >= 1, 60_000);
      const legend = norm(await flame.locator('#legend').innerText());
      assert(/vs baseline `baseline`/.test(legend) && /regressed/.test(legend) && /improved/.test(legend) && /too small to judge/.test(legend), `legend: ${legend}`);
      const regressed = await flame.locator('.frame.verdict-regressed').evaluateAll((els) => els.map((el) => el.dataset.name));
      log('compare: regressed frames', JSON.stringify(regressed));
      assert(regressed.includes('score'), `score() is slower: ${JSON.stringify(regressed)}`);
      const coloured = await flame.locator('.frame[class*="verdict-"]:not(.no-verdict)').count();
      assert(coloured >= 3, `every profiled function has a verdict colour: ${coloured}`);
      const tooltip = await frame('score').first().getAttribute('title');
      assert(/vs baseline `baseline`: score \d+\.\d+ s → \d+\.\d+ s CPU \(\+\d+%\) · regressed/.test(tooltip), `tooltip: ${tooltip}`);
      await page.mouse.move(5, 400);
      await page.waitForTimeout(300); // a picture, not an assertion
      await screenshot('flame-graph-compare');
      await runCommand('Scalene: Exit Compare Mode');
      await waitFor('plain colours again', async () => (await flame.locator('.frame[class*="verdict"]').count()) === 0 && (await flame.locator('#legend').isHidden()), 30_000);
      fs.writeFileSync(path.join(ws, 'main.py'), text);
    });

    await check('during a live run the flame graph redraws from the snapshots and says it is live', async () => {
      await runCommand('View: Focus First Editor Group');
      await openFile('live_demo.py');
      await watchStatusBar();
      const seen = [];
      let liveTitle;
      await runCommand('Scalene: Profile Current File Live');
      const runEnded = async () => {
        const texts = await statusSeen();
        const start = texts.findIndex((t) => /Scalene: live_demo\.py \(live\) \d+ s/.test(t));
        return start >= 0 && texts.slice(start + 1).some((t) => /Scalene: \w+ in \d+\.\d s/.test(t));
      };
      // Profiles shown while the run goes on: at least two different snapshots before its end.
      await waitFor('two live snapshots drawn before the run ends', async () => {
        const ended = await runEnded();
        const id = await profileIdShown();
        const live = await flame.locator('body').getAttribute('data-live', { timeout: 2000 }).catch(() => undefined);
        if (!ended && live === 'true' && id && !seen.includes(id) && (await frame('spin').count()) >= 1) {
          seen.push(id);
          liveTitle = norm(await flame.locator('#title').innerText());
          if (seen.length === 2) {
            await page.mouse.move(5, 400);
            await screenshot('flame-graph-live');
          }
        }
        assert(!(ended && seen.length < 2), `the run ended after ${seen.length} live snapshot(s) drawn`);
        return seen.length >= 2;
      }, 120_000, 100);
      log('live: snapshots drawn', JSON.stringify(seen), 'title', liveTitle);
      assert(/^live · \d+\.\d s · live_demo\.py/.test(liveTitle), `the title says live: ${liveTitle}`);
      await waitForRun('live_demo.py', /Scalene: ok in \d+\.\d s/, 120_000);
      await waitFor('the final profile, not live', async () => (await flame.locator('body').getAttribute('data-live')) === 'false', 30_000);
      const live = flameLog().filter((l) => /after a live snapshot/.test(l));
      log('live redraws', JSON.stringify(live));
    });
  }

  // ------------------------------------------------------------ a .cpuprofile export in VS Code's own viewer
  if (want('cpuprofile')) {
    await check('an exported .cpuprofile opens in VS Code\'s built-in profile viewer with score under both callers', async () => {
      // The bundled server's CLI exports the captured call_paths profile, as a user would.
      const dirs = fs.readdirSync(extensions).filter((d) => d.startsWith('scalene-lsp.scalene-lsp'));
      const bundled = path.join(extensions, dirs[0], 'bin', 'scalene-lsp');
      const target = path.join(ws, 'call_paths.cpuprofile');
      const fixture = path.join(root, 'fixtures', 'scalene', '2.4.0', 'call_paths.json');
      const exported = spawnSync(bundled, ['show', fixture, '--export', 'cpuprofile', target], { env, encoding: 'utf8', timeout: 60_000 });
      assert(exported.status === 0, `export exited ${exported.status}: ${exported.stderr}`);
      await runCommand('View: Close All Editors').catch(() => {});
      await openFileTab('call_paths.cpuprofile');
      // ms-vscode.vscode-js-profile-table (built into VS Code) shows it as a table in a webview.
      const table = page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
      const rows = await waitFor('the profile table rows', async () => {
        const text = await table.locator('body').innerText({ timeout: 2000 }).catch(() => '');
        return ['score', 'heavy_batch', 'light_batch', 'main'].every((name) => text.includes(name)) ? text : undefined;
      }, 60_000, 250);
      log('cpuprofile table', JSON.stringify(norm(rows).slice(0, 400)));
      // Each row reads: self time, total time, function, file. heavy_batch's total is larger than
      // light_batch's (3x the work), and score's total is both of theirs.
      const cells = rows.split('\n').map((l) => norm(l).trim());
      const ms = (name) => {
        const at = cells.indexOf(name);
        const total = at >= 2 ? /^([\d.,]+)\s*ms$/.exec(cells[at - 1]) : null;
        return total ? parseFloat(total[1].replace(/,/g, '')) : undefined;
      };
      assert(ms('heavy_batch') !== undefined && ms('light_batch') !== undefined, `times per function in ${norm(rows).slice(0, 400)}`);
      assert(ms('heavy_batch') > ms('light_batch'), `heavy_batch ${ms('heavy_batch')} ms > light_batch ${ms('light_batch')} ms`);
      assert(Math.abs(ms('score') - (ms('heavy_batch') + ms('light_batch'))) <= 0.05 * ms('score') + 20,
        `score's total (${ms('score')} ms) is what its two callers spend in it (${ms('heavy_batch')} + ${ms('light_batch')} ms, less their own time)`);
      assert(cells.filter((c) => c === 'main').length === 1, `main is one row, whatever line it called from: ${norm(rows).slice(0, 400)}`);
      await screenshot('cpuprofile-table');
    });

    await check('Scalene: Export Profile… writes the profile of main.py as a .cpuprofile and opens it', async () => {
      await runCommand('View: Close All Editors').catch(() => {});
      await runCommand('Notifications: Clear All Notifications').catch(() => {});
      await openFile('main.py');
      await watchStatusBar();
      await runCommand('Scalene: Profile Current File');
      await waitForRun('main.py');
      await runCommand('Scalene: Export Profile…');
      const input = page.locator('.quick-input-widget input');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'CPU profile (.cpuprofile)' }).first().click();
      // code-server's save dialog is VS Code's simple one: a path in the quick input, main.cpuprofile beside main.py.
      await waitFor('the save dialog with main.cpuprofile', async () => /main\.cpuprofile$/.test(await input.inputValue().catch(() => '')), 30_000);
      await page.keyboard.press('Enter');
      const target = path.join(ws, 'main.cpuprofile');
      await waitFor('main.cpuprofile written', async () => fs.existsSync(target), 30_000);
      const written = JSON.parse(fs.readFileSync(target, 'utf8'));
      assert(written.nodes.some((n) => n.callFrame.functionName === 'score'), 'score in the written profile');
      const open = page.locator('.notification-toast .monaco-button', { hasText: 'Open' }).first();
      await open.click({ timeout: 30_000 });
      await page.locator('.tab.active', { hasText: 'main.cpuprofile' }).waitFor({ timeout: 30_000 });
      const table = page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
      await waitFor('score in the opened table', async () => (await table.locator('body').innerText({ timeout: 2000 }).catch(() => '')).includes('heavy_batch'), 60_000, 250);
      await screenshot('export-profile-command');
    });
  }

  // ------------------------------------------------------------ a whole pytest suite
  if (want('tests')) {
    await check('Profile Tests runs the pytest suite once: a cost lens above each test, and the Slowest Tests view lists them', async () => {
      const dir = path.join(ws, 'suite_vs');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'vs_work.py'), 'def burn(n):\n    total = 0\n    for i in range(n):\n        total += i * i % 7\n    return total\n');
      fs.writeFileSync(
        path.join(dir, 'test_vs_suite.py'),
        'import os\nimport sys\n\nsys.path.insert(0, os.path.dirname(__file__))\nfrom vs_work import burn\n\n\ndef test_heavy():\n    assert burn(6_000_000) >= 0\n\n\ndef test_light():\n    assert burn(1_000_000) >= 0\n',
      );
      await openFile('test_vs_suite.py');
      await watchStatusBar();
      await runCommand('Scalene: Profile Tests');
      const seen = await waitForRun('the pytest suite in workspace');
      log('suite run', JSON.stringify(seen.slice(-2)));
      const lenses = await waitFor('cost lenses above the tests', async () => {
        const texts = await page.evaluate(() =>
          [...document.querySelectorAll('.editor-instance .codelens-decoration')].map((el) => (el.textContent ?? '').replace(/\u00a0/g, ' ')),
        );
        return texts.filter((t) => /% of suite/.test(t)).length >= 2 ? texts : undefined;
      }, 60_000);
      log('suite lenses', JSON.stringify(lenses));
      assert(lenses.some((t) => /\d+\.\d\d s · \d+% of suite · hottest: vs_work\.py:4/.test(t)), `a lens with seconds, share and the hot line: ${JSON.stringify(lenses)}`);
      await runCommand('Explorer: Focus on Slowest Tests View');
      const rows = await waitFor('the Slowest Tests view to list the tests', async () => {
        const texts = await page.evaluate(() =>
          [...document.querySelectorAll('.pane .monaco-list-row')].map((el) => (el.textContent ?? '').replace(/\u00a0/g, ' ').trim()),
        );
        const heavy = texts.findIndex((t) => t.startsWith('test_heavy'));
        const light = texts.findIndex((t) => t.startsWith('test_light'));
        return heavy >= 0 && light > heavy ? texts : undefined;
      }, 60_000);
      log('slowest tests', JSON.stringify(rows.filter((t) => t.startsWith('test_'))));
      await screenshot('slowest-tests');
    });
  }

  // ------------------------------------------------------------ attach to a process started outside the editor
  if (want('attach')) {
    await check('Attach to Process… samples a web server started from a terminal: requests light up its handler, labelled py-spy; Detach leaves it serving', async () => {
      // A name no file of the .venv contains (Quick Open matches by substring).
      fs.copyFileSync(path.join(root, 'fixtures', 'programs', 'slow_server.py'), path.join(ws, 'attach_web_server.py'));
      // Started as from a terminal: not by the editor, not under Scalene.
      const target = spawn(path.join(ws, '.venv', 'bin', 'python'), [path.join(ws, 'attach_web_server.py')], { cwd: ws, env, stdio: ['ignore', 'pipe', 'ignore'] });
      let sending = false;
      try {
        const url = await new Promise((resolve, reject) => {
          target.stdout.once('data', (data) => resolve(String(data).match(/http:\/\/\S+/)[0]));
          target.once('exit', (code) => reject(new Error(`attach_web_server.py exited ${code}`)));
        });
        /** One GET: its body and how long it took (ms). */
        const get = () => new Promise((resolve, reject) => {
          const started = Date.now();
          http.get(url, (res) => {
            let body = '';
            res.on('data', (chunk) => { body += chunk; });
            res.on('end', () => resolve({ status: res.statusCode, body, ms: Date.now() - started }));
          }).on('error', reject);
        });
        const before = [];
        for (let i = 0; i < 3; i++) before.push((await get()).ms);
        await runCommand('Notifications: Clear All Notifications').catch(() => {});
        await openFile('attach_web_server.py');
        await watchStatusBar();
        await runCommand('Scalene: Attach to Process…');
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: `${target.pid}  ` }).first();
        await row.waitFor({ timeout: 30_000 });
        const rowText = norm(await row.innerText());
        log('attach picker row', JSON.stringify(rowText));
        assert(/attach_web_server\.py/.test(rowText) && /in this workspace/.test(rowText), `the row names the program and the workspace: ${rowText}`);
        await row.click();
        await waitFor('the status bar to say attached', async () => (await statusSeen()).some((t) => t.includes(`attached to ${target.pid}`)), 30_000);
        // Requests, one after another, while attached: the handler's checksum loop gets a CPU hint.
        sending = true;
        const load = (async () => { while (sending) await get().catch(() => {}); })();
        const loopLine = 'total = (total * 31 + i) % 1_000_003';
        const hint = await waitFor('a hint on the handler\'s loop line', async () => hintOf(await viewLines(), loopLine), 60_000, 250);
        log('attach hint', hint);
        assert(/% CPU/.test(hint), `a CPU hint: ${hint}`);
        // Labelled as py-spy's samples: the hotspot in the Problems panel says so (a hover is closed by each
        // second's refresh while requests come in, so the panel is what the test reads).
        await screenshot('attach');
        await runCommand('View: Focus Problems');
        const rows = await waitFor('a py-spy hotspot in Problems', async () => {
          const r = await problemRows();
          return r.some((row) => /of py-spy's samples \(wall clock/.test(row.text)) ? r : undefined;
        }, 30_000);
        const spied = rows.filter((row) => /py-spy/.test(row.text));
        log('attach problems', JSON.stringify(spied.map((row) => row.text)));
        assert(spied.every((row) => !/system/.test(row.text) && /scalene\(?cpu-hotspot/.test(row.text)), `py-spy hotspots, no Scalene-only numbers: ${JSON.stringify(spied)}`);
        await page.mouse.move(5, 400);
        await page.keyboard.press('Escape');
        sending = false;
        await load;
        // Detach from the status bar item; the run ends and the server keeps serving (not stopped).
        await page.locator('.part.statusbar .statusbar-item', { hasText: `attached to ${target.pid}` }).first().click();
        await waitFor('the attach to end', async () => {
          const texts = await statusSeen();
          const last = texts[texts.length - 1] ?? '';
          return !last.includes('attached to') && /Scalene: /.test(last);
        }, 30_000);
        const state = () => fs.readFileSync(`/proc/${target.pid}/stat`, 'utf8').split(') ')[1][0];
        assert(target.exitCode === null && !/[tT]/.test(state()), `the server runs on after Detach (state ${state()})`);
        const after = [];
        for (let i = 0; i < 3; i++) {
          const response = await get();
          assert(response.status === 200 && /^checksum \d+/.test(response.body), `it answers after Detach: ${response.status} ${response.body}`);
          after.push(response.ms);
        }
        // Seen, not asserted (timings are the benchmark's: benches/attach_cost.py).
        log('request ms before attach / after detach', JSON.stringify({ before, after }));
      } finally {
        sending = false;
        target.kill('SIGKILL');
      }
    });
  }

  // ------------------------------------------------------------ missing binary
  if (want('missing')) {
    if (needsMain) {
      await stopAll();
    }
    await startSession('missing-binary', { 'scalene.path': '/nonexistent/scalene-lsp' });
    await check('scalene.path pointing nowhere gives one message with the fix, and no restart loop', async () => {
      await openFile('cpu_bound.py');
      const first = await waitFor('the error message', async () => {
        const n = await notifications();
        const ours = n.filter((t) => /scalene\.path/.test(t));
        return ours.length > 0 ? ours : undefined;
      }, 60_000);
      assert(/"\/nonexistent\/scalene-lsp", which does not exist/.test(first[0]), first[0]);
      assert(/Fix:/.test(first[0]), `the message says the fix: ${first[0]}`);
      await screenshot('missing-binary');
      // Wait a while: nothing more may pile up (no restart loop, no second message).
      await page.waitForTimeout(8000);
      const later = (await notifications()).filter((t) => /Scalene|scalene/.test(t));
      assert(later.length === 1, `exactly one Scalene message: ${JSON.stringify(later)}`);
      const servers = sandboxProcesses().filter((p) => /scalene-lsp serve/.test(p));
      assert(servers.length === 0, `no server runs: ${JSON.stringify(servers)}`);
    });

    await check('clearing scalene.path starts the bundled server without a reload', async () => {
      const before = sandboxProcesses().filter((p) => /bin\/scalene-lsp serve/.test(p));
      assert(before.length === 0, `no server before: ${JSON.stringify(before)}`);
      writeSettings({});
      const servers = await waitFor('a scalene-lsp serve process', async () => {
        const found = sandboxProcesses().filter((p) => /bin\/scalene-lsp serve/.test(p));
        return found.length > 0 ? found : undefined;
      }, 60_000, 500);
      assert(servers.length === 1, `one server: ${JSON.stringify(servers)}`);
    });
  }

  if (want('missing')) {
    await check('a scalene.path that is not a working server gives one message saying it does not run', async () => {
      // A file that exists and is executable but is no scalene-lsp: /bin/false.
      await runCommand('Notifications: Clear All Notifications').catch(() => {});
      writeSettings({ 'scalene.path': '/bin/false' });
      const message = await waitFor('the message', async () => {
        const ours = (await notifications()).filter((t) => /\/bin\/false/.test(t));
        return ours.length > 0 ? ours : undefined;
      }, 60_000);
      assert(/does not run/.test(message[0]) && /Fix:/.test(message[0]), message[0]);
      await screenshot('broken-binary');
      await page.waitForTimeout(8000);
      const later = (await notifications()).filter((t) => /Scalene|scalene/.test(t));
      assert(later.length === 1, `exactly one Scalene message: ${JSON.stringify(later)}`);
      const servers = sandboxProcesses().filter((p) => /scalene-lsp serve/.test(p));
      assert(servers.length === 0, `the bundled server was stopped: ${JSON.stringify(servers)}`);
    });
  }

  // ------------------------------------------------------------ an interpreter without Scalene
  if (want('noscalene')) {
    await stopAll();
    const bare = path.join(sandbox, 'no-scalene');
    fs.mkdirSync(bare);
    for (const name of ['cpu_bound.py', 'memory_heavy.py']) {
      fs.copyFileSync(path.join(root, 'fixtures', 'programs', name), path.join(bare, name));
    }
    const made = spawnSync('python3', ['-m', 'venv', '--without-pip', path.join(bare, '.venv')], { env, encoding: 'utf8' });
    await startSession('no-scalene', {}, bare);
    await check('an interpreter without Scalene: one message with the exact install command for it', async () => {
      assert(made.status === 0, `python3 -m venv failed: ${made.stderr}`);
      await openFile('cpu_bound.py');
      const python = path.join(bare, '.venv', 'bin', 'python');
      const first = await waitFor('the message', async () => {
        const ours = (await notifications()).filter((t) => /Scalene is not installed/.test(t));
        return ours.length > 0 ? ours : undefined;
      }, 90_000);
      log('no-scalene message', JSON.stringify(first[0]));
      assert(first[0].includes(`"${python}" -m pip install scalene`), `the install command for ${python}: ${first[0]}`);
      assert(/Copy Install Command/.test(first[0]), `a button copies the command: ${first[0]}`);
      await screenshot('no-scalene');
      // Asking the server again (switching editors) does not repeat the message: one entry in the
      // notification center, which also keeps the toasts that Escape hid.
      await openFile('memory_heavy.py');
      await page.waitForTimeout(5000);
      await runCommand('Notifications: Show Notifications');
      await page.locator('.notifications-center').waitFor({ state: 'visible', timeout: 30_000 });
      const all = (await notifications()).filter((t) => /Scalene/.test(t));
      assert(all.length === 1, `exactly one Scalene message: ${JSON.stringify(all)}`);
    });
  }

} catch (err) {
  failed++;
  console.log(`not ok - the test run itself: ${String(err?.stack ?? err)}`);
  await screenshot('error').catch(() => {});
} finally {
  await stopAll();
  // VS Code's logs (the Scalene output channel, the extension host) for a look after a failure.
  fs.rmSync(path.join(artifacts, 'logs'), { recursive: true, force: true });
  for (const dir of fs.readdirSync(sandbox).filter((d) => d.startsWith('user-data-'))) {
    const logs = path.join(sandbox, dir, 'logs');
    if (fs.existsSync(logs)) {
      fs.cpSync(logs, path.join(artifacts, 'logs', dir.slice('user-data-'.length)), { recursive: true });
    }
  }
  const left = sandboxProcesses();
  if (left.length > 0) {
    failed++;
    console.log(`not ok - no process is left behind\n    ${left.join('\n    ')}`);
  } else {
    passed++;
    console.log('ok - no process is left behind (code-server, language server, Scalene)');
  }
  if (!keep) {
    fs.rmSync(sandbox, { recursive: true, force: true });
  }
  log(`done in ${Math.round((Date.now() - started) / 1000)} s; screenshots in ${artifacts}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
