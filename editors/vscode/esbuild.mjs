// Bundles the extension (and vscode-languageclient) into dist/extension.js, and the flame graph webview
// into dist/flame.js and dist/flame.css (everything it loads; no network). `vscode` is provided by the editor.
import * as esbuild from 'esbuild';

const minify = process.argv.includes('--minify');
await esbuild.build({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  external: ['vscode'],
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: false,
  minify,
  logLevel: 'warning',
});
await esbuild.build({
  entryPoints: { flame: 'src/webview/flame.ts' },
  bundle: true,
  outdir: 'dist',
  format: 'iife',
  platform: 'browser',
  target: 'chrome120',
  sourcemap: false,
  minify,
  logLevel: 'warning',
});
await esbuild.build({
  entryPoints: { flame: 'src/webview/flame.css' },
  bundle: true,
  outdir: 'dist',
  minify,
  logLevel: 'warning',
});
