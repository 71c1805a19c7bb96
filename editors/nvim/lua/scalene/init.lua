--- scalene-lsp in Neovim (0.11+): setup(), the autocmds and keymaps, a statusline item, and the Lua API
--- (the actions behind the :Scalene* commands, from lua/scalene/actions.lua). See editors/nvim/README.md.
---
--- Zero-config: with this plugin on the runtimepath, vim.lsp.enable('scalene') uses lsp/scalene.lua and
--- everything works with the defaults; setup(opts) changes them (and enables the server).
local M = {}

local lsp = require('scalene.lsp')
local actions = require('scalene.actions')

local function cfg()
  return require('scalene.config').get()
end

local augroup ---@type integer?

--- Buffer-local things for a buffer the server attached to: inlay hints and keymaps.
---@param client vim.lsp.Client
---@param bufnr integer
local function on_attach(client, bufnr)
  local opts = cfg()
  if opts.inlay_hints and client:supports_method('textDocument/inlayHint') then
    vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
  end
  if type(opts.keymaps) == 'table' then
    local actions = {
      profile = { actions.profile, 'Scalene: profile this file' },
      profile_cpu = {
        function()
          actions.profile({ mode = 'cpu' })
        end,
        'Scalene: profile this file (CPU only)',
      },
      cancel = { actions.cancel, 'Scalene: cancel the run' },
      clear = { actions.clear, 'Scalene: clear profiles' },
      hottest = { actions.hottest, 'Scalene: jump to a hot line' },
    }
    for name, lhs in pairs(opts.keymaps) do
      local action = actions[name]
      vim.keymap.set('n', lhs, function()
        action[1]()
      end, { buffer = bufnr, desc = action[2] })
    end
  end
end

--- Creates the autocmds and commands (idempotent; plugin/scalene.lua and setup() both call it).
function M._ensure()
  require('scalene.commands').create()
  if augroup then
    return
  end
  augroup = vim.api.nvim_create_augroup('scalene', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = augroup,
    desc = 'scalene-lsp: inlay hints and keymaps',
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == lsp.name then
        on_attach(client, ev.buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd('LspDetach', {
    group = augroup,
    desc = 'scalene-lsp: remove the heat map',
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == lsp.name then
        require('scalene.heat').clear(ev.buf)
        if vim.tbl_count(client.attached_buffers) <= 1 then
          require('scalene.progress').forget_client(client.id)
        end
      end
    end,
  })
  vim.api.nvim_create_autocmd('ColorScheme', {
    group = augroup,
    desc = 'scalene-lsp: define the ScaleneHeat groups again',
    callback = function()
      require('scalene.heat').define_highlights()
    end,
  })
end

--- Configures and (unless `enable = false`) enables the server for Python buffers.
--- Options: see lua/scalene/config.lua (scalene.Opts) and the README.
---@param opts? scalene.Opts
function M.setup(opts)
  local config = require('scalene.config')
  local resolved = config.resolve(opts)
  config.set(resolved)
  local lsp_config = { capabilities = lsp.capabilities(resolved.heat.enabled), handlers = lsp.handlers() }
  if resolved.cmd then
    lsp_config.cmd = resolved.cmd
  end
  if next(resolved.settings) then
    lsp_config.settings = { scalene = resolved.settings }
    -- The server reads `mcp` settings from initializationOptions only.
    lsp_config.init_options = resolved.settings
  end
  vim.lsp.config(lsp.name, lsp_config)
  M._ensure()
  require('scalene.heat').define_highlights()
  if resolved.enable then
    vim.lsp.enable(lsp.name)
  end
end

--- For a statusline: "Scalene: 3 s" while a profile runs, "" otherwise.
---@return string
function M.status()
  return require('scalene.progress').status()
end

-- The actions (lua/scalene/actions.lua), as the Lua API; the :Scalene* commands and keymaps call them.
M.profile = actions.profile
M.pause = actions.pause
M.resume = actions.resume
M.cancel = actions.cancel
M.clear = actions.clear
M.load = actions.load
M.hottest = actions.hottest
M.save_baseline = actions.save_baseline
M.compare = actions.compare
M.exit_compare = actions.exit_compare
M.format_hotspot = actions.format_hotspot

return M
