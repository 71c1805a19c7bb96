-- Neovim (0.11+) LSP config for scalene-lsp: per-line CPU/memory numbers from the Scalene profiler.
--
-- Zero-config: with editors/nvim on the runtimepath (a plugin manager, or vim.opt.rtp:append):
--   vim.lsp.enable('scalene')
-- or require('scalene').setup({ ... }) for options (see the README). Settings (python, args, mode, hints,
-- diagnostics, lenses) are described in docs/lsp.md; plain vim.lsp.config works too:
--   vim.lsp.config('scalene', { settings = { scalene = { python = '/path/to/venv/bin/python' } } })
-- This file also works alone (copied to ~/.config/nvim/lsp/scalene.lua): then there is no heat map, no
-- :Scalene* commands and no health check, only the standard LSP features.

---@type vim.lsp.Config
local config = {
  -- The server command. Set vim.g.scalene_lsp_cmd (a list, e.g. { '/path/to/scalene-lsp', 'serve' })
  -- before the first Python buffer opens, or pass `cmd` to setup(), to use another binary.
  cmd = vim.g.scalene_lsp_cmd or { 'scalene-lsp', 'serve' },
  filetypes = { 'python' },
  -- The project root, found as the server finds it: the nearest directory holding any of these (one
  -- group; a flat list would rank them, so a far `pyproject.toml` could beat a nearer `venv`). The list
  -- is the server's ROOT_MARKERS (src/engine/workspace.rs); a test there fails when the two differ.
  root_markers = { { 'pyproject.toml', 'setup.py', 'setup.cfg', 'Pipfile', 'requirements.txt', 'tox.ini', '.git', '.hg', '.venv', 'venv' } },
  -- Sent as workspace/configuration section `scalene`; empty = the server's defaults.
  -- (vim.empty_dict() so that an empty value goes out as JSON {} rather than [].)
  settings = { scalene = vim.empty_dict() },
  init_options = vim.empty_dict(),
}

-- With the plugin's Lua modules: ask for the heat map and handle the server's own notifications.
local ok, scalene = pcall(require, 'scalene.lsp')
if ok then
  config.capabilities = scalene.capabilities()
  config.handlers = scalene.handlers()
end

return config
