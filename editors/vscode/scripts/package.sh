#!/usr/bin/env bash
# Builds the extension's .vsix.
# Usage: editors/vscode/scripts/package.sh [--target TARGET --binary PATH/TO/scalene-lsp] [--out FILE.vsix]
#   --target   a VS Code platform (linux-x64, linux-arm64, darwin-arm64, darwin-x64, win32-x64, ...): a
#              platform-specific .vsix that bundles the server given with --binary (built for that platform)
#   (neither)  a universal .vsix without a server: it uses `scalene.path` or scalene-lsp on PATH
#   --out      where to write it (default: editors/vscode/scalene-lsp-[TARGET-]VERSION.vsix)
# Runs `npm ci` when node_modules is missing. Uses the node and npm on PATH.
set -euo pipefail
dir=$(cd "$(dirname "$0")/.." && pwd)
target=
binary=
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=${2:?--target needs a value}; shift 2 ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --out) out=${2:?--out needs a path}; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$target" ] && [ -z "$binary" ]; then
  echo "error: --target $target needs --binary PATH/TO/scalene-lsp (built for $target)" >&2
  exit 2
fi
if [ -n "$binary" ] && [ -z "$target" ]; then
  echo "error: --binary needs --target (the platform the binary is built for, e.g. linux-x64)" >&2
  exit 2
fi
if [ -n "$binary" ]; then
  if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
    echo "error: $binary is not an executable file. Fix: cargo build --release, then pass target/release/scalene-lsp." >&2
    exit 2
  fi
  binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
  # A cheap guard against bundling the wrong kind of binary: ELF for linux/alpine, Mach-O for darwin, PE for win32.
  magic=$(head -c 4 "$binary" | od -An -tx1 | tr -d ' \n')
  case "$target" in
    linux-*|alpine-*) want=7f454c46 ;;
    darwin-*) want=cffaedfe ;;
    win32-*) want=${magic:0:4}; [ "$want" = 4d5a ] || want=4d5a ;;
    *) echo "error: unknown target $target" >&2; exit 2 ;;
  esac
  if [ "${magic:0:${#want}}" != "$want" ]; then
    echo "error: $binary does not look like a $target executable (starts with $magic)." >&2
    exit 2
  fi
fi
cd "$dir"
if [ ! -d node_modules ]; then
  npm ci --loglevel=error
fi
version=$(node -p "require('./package.json').version")
out=${out:-$dir/scalene-lsp-${target:+$target-}$version.vsix}
mkdir -p "$(dirname "$out")"
node esbuild.mjs --minify
rm -rf bin
trap 'rm -rf "$dir/bin"' EXIT
if [ -n "$binary" ]; then
  mkdir bin
  exe=scalene-lsp
  case "$target" in win32-*) exe=scalene-lsp.exe ;; esac
  cp "$binary" "bin/$exe"
  chmod 755 "bin/$exe"
fi
npx --no-install vsce package --no-dependencies --skip-license --allow-missing-repository --no-rewrite-relative-links \
  ${target:+--target "$target"} --out "$out" >&2
echo "$out"
