--- Options of require('scalene').setup(): defaults, validation, and the current values.
---
--- Every option is optional; setup() validates what it is given (vim.validate) and merges it over the
--- defaults below. Calling setup() again replaces the plugin's options; `cmd` and `settings` go to
--- vim.lsp.config('scalene', ...), which merges them into earlier calls. Clients already running keep the
--- command and settings they were started with.
local M = {}

---@class scalene.Keymaps
---@field profile? string         lhs for :ScaleneProfile (buffer-local, in buffers the server attaches to)
---@field profile_cpu? string     lhs for :ScaleneProfileCpu
---@field cancel? string          lhs for :ScaleneCancel
---@field clear? string           lhs for :ScaleneClear
---@field hottest? string         lhs for :ScaleneHottest

---@class scalene.HeatOpts
---@field enabled? boolean   draw the heat map (whole-line highlights from scalene/lineHeat); default true
---@field levels? integer    number of highlight groups ScaleneHeat1..ScaleneHeatN (2..20); default 5

---@class scalene.Opts
---@field cmd? string[]|fun(dispatchers: vim.lsp.rpc.Dispatchers): vim.lsp.rpc.PublicClient
---   the server command; default vim.g.scalene_lsp_cmd, else { 'scalene-lsp', 'serve' }
---@field settings? table        the server's `scalene` settings (docs/lsp.md), e.g. { python = '.venv/bin/python' };
---   also sent as initializationOptions, so that `mcp = {...}` takes effect
---@field enable? boolean        call vim.lsp.enable('scalene') (start for Python buffers); default true
---@field heat? scalene.HeatOpts
---@field inlay_hints? boolean   switch inlay hints on in buffers the server attaches to; default true
---@field notify? boolean        vim.notify the one-line summary when a run ends well; default true
---   (failures and cancelled runs are always shown: the server sends those as messages)
---@field autosave? boolean      :update a modified buffer before :ScaleneProfile or :ScaleneCompare (Scalene runs the file on disk); default true
---@field keymaps? false|scalene.Keymaps  buffer-local mappings; default false (none)

---@type scalene.Opts
M.defaults = {
  cmd = nil,
  settings = {},
  enable = true,
  heat = { enabled = true, levels = 5 },
  inlay_hints = true,
  notify = true,
  autosave = true,
  keymaps = false,
}

local OPTION_NAMES = { 'cmd', 'settings', 'enable', 'heat', 'inlay_hints', 'notify', 'autosave', 'keymaps' }
local KEYMAP_NAMES = { 'profile', 'profile_cpu', 'cancel', 'clear', 'hottest' }

---@type scalene.Opts
local current = vim.deepcopy(M.defaults)

local function check_known(what, tbl, known)
  local unknown = {}
  for key in pairs(tbl) do
    if not vim.tbl_contains(known, key) then
      unknown[#unknown + 1] = tostring(key)
    end
  end
  if #unknown > 0 then
    table.sort(unknown)
    error(('scalene: unknown %s %s; expected one of %s'):format(
      what,
      table.concat(unknown, ', '),
      table.concat(known, ', ')
    ), 0)
  end
end

--- Validates `opts` (errors name the bad option) and returns the defaults with `opts` merged in.
---@param opts? scalene.Opts
---@return scalene.Opts
function M.resolve(opts)
  opts = opts or {}
  vim.validate('opts', opts, 'table')
  check_known('option', opts, OPTION_NAMES)
  vim.validate('cmd', opts.cmd, function(v)
    if type(v) == 'function' then
      return true
    end
    if type(v) ~= 'table' or #v == 0 then
      return false
    end
    for _, part in ipairs(v) do
      if type(part) ~= 'string' then
        return false
      end
    end
    return true
  end, true, "a list of strings like { 'scalene-lsp', 'serve' }, or a function")
  vim.validate('settings', opts.settings, 'table', true)
  vim.validate('enable', opts.enable, 'boolean', true)
  vim.validate('heat', opts.heat, 'table', true)
  if opts.heat then
    check_known('heat option', opts.heat, { 'enabled', 'levels' })
    vim.validate('heat.enabled', opts.heat.enabled, 'boolean', true)
    vim.validate('heat.levels', opts.heat.levels, function(v)
      return type(v) == 'number' and v == math.floor(v) and v >= 2 and v <= 20
    end, true, 'an integer from 2 to 20')
  end
  vim.validate('inlay_hints', opts.inlay_hints, 'boolean', true)
  vim.validate('notify', opts.notify, 'boolean', true)
  vim.validate('autosave', opts.autosave, 'boolean', true)
  vim.validate('keymaps', opts.keymaps, function(v)
    return v == false or type(v) == 'table'
  end, true, 'false or a table like { profile = "<leader>sp" }')
  if type(opts.keymaps) == 'table' then
    check_known('keymap', opts.keymaps, KEYMAP_NAMES)
    for _, name in ipairs(KEYMAP_NAMES) do
      vim.validate('keymaps.' .. name, opts.keymaps[name], 'string', true)
    end
  end
  return vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
end

--- Replaces the current options (already resolved).
---@param resolved scalene.Opts
function M.set(resolved)
  current = resolved
end

--- The current options (the defaults until setup() is called). Do not modify the returned table.
---@return scalene.Opts
function M.get()
  return current
end

return M
