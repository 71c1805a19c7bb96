// The CLI's exports opened in their own viewers, as a user would: `--flamegraph out.svg` in a browser
// (Chromium, inferno's SVG with its script) and `--export speedscope` in speedscope's web app (the npm
// package's release build, served from loopback: no network). The profile is the captured call_paths
// fixture: score() called by heavy_batch (3x the work) and light_batch.
//
// Usage: node tests/exports/viewers.mjs --bin target/debug/scalene-lsp [--artifacts DIR]
// Needs scripts/setup-vscode-test (.tools/playwright, .tools/speedscope, /usr/bin/chromium).
// Prints `N passed, N failed` last; screenshots export-svg.png and export-speedscope.png in DIR.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tools = path.join(root, '.tools');
const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const bin = path.resolve(option('--bin', path.join(root, 'target', 'debug', 'scalene-lsp')));
const artifacts = path.resolve(option('--artifacts', path.join(root, 'target', 'vscode-artifacts')));
const speedscope = path.join(tools, 'speedscope', 'node_modules', 'speedscope', 'dist', 'release');
for (const [what, file] of [['the server binary (cargo build)', bin], ['speedscope (scripts/setup-vscode-test)', path.join(speedscope, 'index.html')], ['Chromium (scripts/setup-vscode-test)', '/usr/bin/chromium']]) {
  if (!fs.existsSync(file)) {
    console.error(`error: ${what} is missing: ${file}`);
    process.exit(2);
  }
}
const { chromium } = createRequire(path.join(tools, 'playwright', 'package.json'))('playwright-core');

let passed = 0;
let failed = 0;
async function check(name, body) {
  try {
    await body();
    passed++;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}\n    ${String(err?.stack ?? err).split('\n').slice(0, 6).join('\n    ')}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scalene-viewers-'));
const svgFile = path.join(dir, 'out.svg');
const speedscopeFile = path.join(dir, 'profile.speedscope.json');
const fixture = path.join(root, 'fixtures', 'scalene', '2.4.0', 'call_paths.json');
const exported = spawnSync(bin, ['show', fixture, '--flamegraph', svgFile, '--export', 'speedscope', speedscopeFile], { encoding: 'utf8', timeout: 60_000 });
fs.mkdirSync(artifacts, { recursive: true });

// speedscope's files and the profile, from loopback only; nothing else is served.
const server = http.createServer((req, res) => {
  const url = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
  const file = url === '/profile.speedscope.json' ? speedscopeFile : path.join(speedscope, url === '/' ? 'index.html' : path.normalize(url));
  if (file !== speedscopeFile && !file.startsWith(speedscope + path.sep)) {
    res.writeHead(403);
    res.end();
    return;
  }
  fs.readFile(file, (err, data) => {
    res.writeHead(err ? 404 : 200, file.endsWith('.html') ? { 'content-type': 'text/html' } : {});
    res.end(err ? undefined : data);
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
// SwiftShader: speedscope draws with WebGL, in software here.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
try {
  await check('the CLI writes both exports', () => {
    assert(exported.status === 0, `exit ${exported.status}: ${exported.stderr}`);
    assert(fs.statSync(svgFile).size > 0 && fs.statSync(speedscopeFile).size > 0, 'both files written');
  });

  await check('the SVG flame graph opens in Chromium with score under heavy_batch (wider) and light_batch', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`file://${svgFile}`);
    const titles = await page.locator('g title').allTextContents();
    const samples = (label) => {
      const found = titles.find((t) => t.startsWith(`${label} (`));
      const match = found && /\(([\d,]+) samples?, [\d.]+%\)/.exec(found);
      return match ? Number(match[1].replace(/,/g, '')) : undefined;
    };
    assert(samples('heavy_batch (main.py)') > samples('light_batch (main.py)'), `heavy_batch wider than light_batch: ${JSON.stringify(titles)}`);
    assert(titles.filter((t) => t.startsWith('score (helpers.py) (')).length === 2, `score under both callers: ${JSON.stringify(titles)}`);
    // inferno's script: clicking a frame zooms into it (the others are hidden or widened).
    const heavy = page.locator('g', { has: page.locator('title', { hasText: /^heavy_batch \(main\.py\)/ }) }).first();
    await heavy.click();
    await page.waitForFunction(() => document.querySelectorAll('g.hide').length > 0, null, { timeout: 10_000 });
    assert(errors.length === 0, `no script errors: ${errors}`);
    await page.screenshot({ path: path.join(artifacts, 'export-svg.png') });
    await page.close();
  });

  await check("the speedscope export opens in speedscope's own app: imported, titled, score in its Sandwich table", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const logs = [];
    page.on('console', (message) => logs.push(message.text()));
    page.on('pageerror', (err) => logs.push(`pageerror: ${err}`));
    const profileUrl = `http://127.0.0.1:${port}/profile.speedscope.json`;
    await page.goto(`http://127.0.0.1:${port}/index.html#profileURL=${encodeURIComponent(profileUrl)}`);
    await page.getByText('main.py: CPU samples').first().waitFor({ timeout: 30_000 });
    assert(logs.some((l) => /Importing as speedscope json file/.test(l)), `speedscope read it as its own format: ${JSON.stringify(logs)}`);
    assert(!logs.some((l) => /pageerror|Failed|WebGL not/i.test(l)), `no errors: ${JSON.stringify(logs)}`);
    await page.screenshot({ path: path.join(artifacts, 'export-speedscope.png') });
    // The Sandwich view lists every function in a table (DOM, not canvas).
    await page.getByText('Sandwich').first().click();
    await page.getByText('heavy_batch').first().waitFor({ timeout: 10_000 });
    const text = await page.locator('body').innerText();
    for (const name of ['score', 'heavy_batch', 'light_batch', 'main']) {
      assert(text.includes(name), `${name} in the Sandwich table: ${text.slice(0, 500)}`);
    }
    await page.close();
  });
} finally {
  await browser.close();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
