#!/usr/bin/env bash
# Headless Neovim tests of scalene-lsp through the editors/nvim plugin.
# Usage: tests/nvim/run.sh [path/to/scalene-lsp]   (default: target/debug/scalene-lsp; build it first)
# Installs the pinned Neovim (scripts/setup-tools) and Scalene (scripts/setup-python) when missing, runs
# each tests/nvim/test_*.lua below in a fresh headless Neovim, prints their lines and a total
# `N passed, M failed`, and exits non-zero when a test fails or a Neovim does not run to the end.
# SCALENE_NVIM_LOG=/path/lsp.log keeps Neovim's lsp.log with all the LSP traffic (debug level).
# SCALENE_NVIM_ONLY=text runs only the scenarios whose name contains `text` (an error when none does);
# SCALENE_NVIM_ORDER=reverse runs them last to first (each scenario sets up what it needs: harness.lua).
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

# Each test file runs in its own Neovim: test_scalene.lua (the zero-config path: vim.lsp.enable) and
# test_plugin.lua (require('scalene').setup() and the :Scalene* commands). SCALENE_NVIM_TESTS="a.lua b.lua"
# runs only those.
tests=${SCALENE_NVIM_TESTS:-test_scalene.lua test_plugin.lua}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scalene-nvim-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export SCALENE_NVIM_BIN="$bin" SCALENE_NVIM_ROOT="$root" SCALENE_NVIM_PYTHON="$root/.venv/bin/python"
[ -n "${SCALENE_NVIM_LOG:-}" ] && : >"$SCALENE_NVIM_LOG"

total_passed=0 total_failed=0 broken=0
for name in $tests; do
  file="$root/tests/nvim/$name"
  dir="$tmp/${name%.lua}"
  mkdir -p "$dir"
  echo "# $name"
  # Keep Neovim's state (lsp.log, shada) out of the user's home.
  # The test file ends Neovim itself (qall! / cquit 1); an error outside a test ends it with code 2.
  runner="lua local ok, err = pcall(dofile, [[$file]])
if not ok then
  io.stdout:write('test script error: ', type(err) == 'table' and tostring(err.msg) or tostring(err), '\n')
  vim.cmd('cquit 2')
end"
  set +e
  XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data" XDG_STATE_HOME="$dir/state" XDG_CACHE_HOME="$dir/cache" \
    timeout -k 10 900 "$nvim" --headless --clean -u NONE -i NONE -n -c "$runner" </dev/null >"$dir/out" 2>"$dir/err"
  rc=$?
  set -e
  cat "$dir/out"
  # Neovim's own messages (LSP showMessage, vim.notify, errors) go to stderr: show them apart from the test lines.
  if [ -s "$dir/err" ]; then
    echo "--- Neovim messages ($name) ---" >&2
    cat "$dir/err" >&2
    echo >&2
  fi
  log="$dir/state/nvim/lsp.log"
  if [ -n "${SCALENE_NVIM_LOG:-}" ] && [ -f "$log" ]; then
    { echo "=== $name ==="; cat "$log"; } >>"$SCALENE_NVIM_LOG"
  fi

  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$dir/out" | tail -1 || true)
  if [ -n "$summary" ]; then
    total_passed=$((total_passed + ${summary%% *}))
    n_failed=${summary#*, }
    total_failed=$((total_failed + ${n_failed%% *}))
  fi
  if [ "$rc" -ne 0 ] || [ -z "$summary" ] || ! [[ $summary =~ \ 0\ failed$ ]]; then
    broken=1
    if [ -z "$summary" ]; then
      total_failed=$((total_failed + 1)) # the file itself counts as one failure
      if [ "$rc" -eq 124 ]; then
        echo "error: $name: Neovim did not finish within 900 s" >&2
      else
        echo "error: $name: Neovim exited with code $rc before the tests finished (it did not start or it crashed)" >&2
      fi
    fi
    if [ -s "$log" ]; then
      echo "--- last lines of Neovim's lsp.log for $name (server stderr and client errors) ---" >&2
      tail -n 40 "$log" >&2
    fi
  fi
done

echo "$total_passed passed, $total_failed failed"
if [ -n "${SCALENE_NVIM_ONLY:-}" ] && [ $((total_passed + total_failed)) -eq 0 ]; then
  echo "error: no scenario of $tests has \"$SCALENE_NVIM_ONLY\" in its name (SCALENE_NVIM_ONLY)" >&2
  exit 1
fi
exit "$broken"
