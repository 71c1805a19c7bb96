-- Neovim (0.11+) LSP config for scalene-lsp: per-line CPU/memory numbers from the Scalene profiler.
--
-- With editors/nvim on the runtimepath (or this file copied to ~/.config/nvim/lsp/scalene.lua):
--   vim.lsp.enable('scalene')
-- Settings (python, args, mode, hints, diagnostics, lenses) are described in docs/lsp.md; override them with
--   vim.lsp.config('scalene', { settings = { scalene = { python = '/path/to/venv/bin/python' } } })
-- Inlay hints are not switched on here; turn them on with :lua vim.lsp.inlay_hint.enable(true)

---@type vim.lsp.Config
return {
  -- The server command. Set vim.g.scalene_lsp_cmd (a list, e.g. { '/path/to/scalene-lsp', 'serve' })
  -- before the first Python buffer opens to use another binary.
  cmd = vim.g.scalene_lsp_cmd or { 'scalene-lsp', 'serve' },
  filetypes = { 'python' },
  -- The project root: the nearest directory holding one of these.
  root_markers = { 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', '.git' },
  -- Sent as workspace/configuration section `scalene`; empty = the server's defaults.
  -- (vim.empty_dict() so that an empty value goes out as JSON {} rather than [].)
  settings = { scalene = vim.empty_dict() },
  init_options = vim.empty_dict(),
}
