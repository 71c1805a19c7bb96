#!/usr/bin/env bash
# Headless Neovim test of scalene-lsp through editors/nvim/lsp/scalene.lua.
# Usage: tests/nvim/run.sh [path/to/scalene-lsp]   (default: target/debug/scalene-lsp; build it first)
# Installs the pinned Neovim (scripts/setup-tools) and Scalene (scripts/setup-python) when missing, runs
# tests/nvim/test_scalene.lua, and exits non-zero when a test fails or Neovim does not run to the end.
# SCALENE_NVIM_LOG=/path/lsp.log keeps Neovim's lsp.log with all the LSP traffic (debug level).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/target/debug/scalene-lsp}
if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
  echo "error: $bin is not an executable file." >&2
  echo "Fix: build the server first (cargo build), or pass its path: tests/nvim/run.sh path/to/scalene-lsp" >&2
  exit 1
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

"$root/scripts/setup-tools"
"$root/scripts/setup-python"
nvim="$root/.venv-tools/bin/nvim"

# Keep Neovim's state (lsp.log, shada) out of the user's home.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scalene-nvim-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
export SCALENE_NVIM_BIN="$bin" SCALENE_NVIM_ROOT="$root" SCALENE_NVIM_PYTHON="$root/.venv/bin/python"

# The test file ends Neovim itself (qall! / cquit 1); an error outside a test ends it with code 2.
runner="lua local ok, err = pcall(dofile, [[$root/tests/nvim/test_scalene.lua]])
if not ok then
  io.stdout:write('test script error: ', type(err) == 'table' and tostring(err.msg) or tostring(err), '\n')
  vim.cmd('cquit 2')
end"

set +e
timeout -k 10 900 "$nvim" --headless --clean -u NONE -i NONE -n -c "$runner" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
cat "$tmp/out"
# Neovim's own messages (LSP showMessage, errors) go to stderr: show them apart from the test lines.
if [ -s "$tmp/err" ]; then
  echo "--- Neovim messages ---" >&2
  cat "$tmp/err" >&2
  echo >&2
fi

if [ -n "${SCALENE_NVIM_LOG:-}" ] && [ -f "$tmp/state/nvim/lsp.log" ]; then
  cp "$tmp/state/nvim/lsp.log" "$SCALENE_NVIM_LOG"
fi

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/out" | tail -1 || true)
if [ "$rc" -ne 0 ] || [ -z "$summary" ] || ! [[ $summary =~ \ 0\ failed$ ]]; then
  if [ -z "$summary" ]; then
    if [ "$rc" -eq 124 ]; then
      echo "error: Neovim did not finish within 900 s" >&2
    else
      echo "error: Neovim exited with code $rc before the tests finished (it did not start or it crashed)" >&2
    fi
  fi
  if [ -s "$tmp/state/nvim/lsp.log" ]; then
    echo "--- last lines of Neovim's lsp.log (server stderr and client errors) ---" >&2
    tail -n 40 "$tmp/state/nvim/lsp.log" >&2
  fi
  [ "$rc" -ne 0 ] && exit "$rc"
  exit 1
fi
exit 0
