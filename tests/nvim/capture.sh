#!/usr/bin/env bash
# Captures a real Neovim screen with the plugin after `:ScaleneProfile` on fixtures/programs/cpu_bound.py,
# for editors/nvim/README.md: Neovim (the pinned one) runs in a detached tmux pane, the screen is read with
# `tmux capture-pane -p [-e]`.
# Usage: tests/nvim/capture.sh [path/to/scalene-lsp] [out-dir]   (default out-dir: editors/nvim/capture)
# Writes cpu_bound.{ansi,txt,svg} (the profiled buffer) and hottest.{ansi,txt,svg} (:ScaleneHottest's
# list); .ansi has the colours (view it with `cat` in a terminal), .svg is an image of it.
# Needs tmux (apt-get install tmux). The numbers are from a real run, so they differ from run to run.
# BACKGROUND=light captures with 'background' light (files named *-light.*).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/target/debug/scalene-lsp}
out=${2:-$root/editors/nvim/capture}
if [ ! -x "$bin" ]; then
  echo "error: $bin is not an executable file. Fix: cargo build, or pass the binary's path." >&2
  exit 1
fi
if ! command -v tmux >/dev/null; then
  echo "error: tmux is not installed. Fix: apt-get install tmux" >&2
  exit 1
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
"$root/scripts/setup-tools"
"$root/scripts/setup-python"
nvim="$root/.venv-tools/bin/nvim"
mkdir -p "$out"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scalene-nvim-capture.XXXXXX")
sock="scalene-capture-$$"
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# A project like a user's: pyproject.toml, the program, a .venv with Scalene (a link to the repo's).
project="$tmp/project"
mkdir -p "$project"
printf '[project]\nname = "demo"\nversion = "0"\n' >"$project/pyproject.toml"
cp "$root/fixtures/programs/cpu_bound.py" "$project/"
ln -s "$root/.venv" "$project/.venv"

cat >"$tmp/init.lua" <<EOF
vim.opt.runtimepath:prepend('$root/editors/nvim')
vim.o.termguicolors = true
vim.o.number = true
vim.o.signcolumn = 'yes'
vim.o.laststatus = 2
vim.o.background = '${BACKGROUND:-dark}'
vim.o.statusline = " %f %m%=%{v:lua.require'scalene'.status()}  %l:%c "
require('scalene').setup({ cmd = { '$bin', 'serve' } })
EOF

export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
unset VIRTUAL_ENV
tmux -L "$sock" -f /dev/null new-session -d -x 100 -y 27 -e TERM=xterm-256color -e COLORTERM=truecolor \
  -c "$project" "'$nvim' -u '$tmp/init.lua' -i NONE -n cpu_bound.py"

# Waits (up to $1 s) until the screen shows the text $2.
wait_screen() {
  local deadline=$((SECONDS + $1))
  while ! tmux -L "$sock" capture-pane -p | grep -qF -- "$2"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "error: the screen did not show \"$2\" within $1 s:" >&2
      tmux -L "$sock" capture-pane -p >&2
      exit 1
    fi
    sleep 0.2
  done
}

# Saves the screen as $out/$1.ansi (colours; -N keeps trailing cells, so whole-line highlights stay whole),
# $1.txt (plain) and $1.svg (an image of the .ansi, for the README).
background=${BACKGROUND:-dark}
suffix=$([ "$background" = light ] && echo -light || true)
save() {
  local name=$1$suffix
  tmux -L "$sock" capture-pane -p -e -N >"$out/$name.ansi"
  tmux -L "$sock" capture-pane -p >"$out/$name.txt"
  python3 "$root/tests/nvim/ansi2svg.py" --cols 100 --background "$background" <"$out/$name.ansi" >"$out/$name.svg"
  echo "wrote $out/$name.ansi, $name.txt and $name.svg" >&2
}

wait_screen 30 'def python_loop'
sleep 2 # the server attaches
tmux -L "$sock" send-keys ':ScaleneProfile' Enter
wait_screen 120 'ok in'
wait_screen 30 '% CPU ·' # the inlay hints (the message line has `% CPU)` only)
sleep 1 # the last redraw
save cpu_bound

# :ScaleneHottest with Neovim's own vim.ui.select (a numbered list; a picker plugin shows the same items).
tmux -L "$sock" send-keys ':ScaleneHottest' Enter
wait_screen 30 'Type number'
save hottest
tmux -L "$sock" send-keys '1' Enter
