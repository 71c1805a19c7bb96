--- The heat map: whole-line highlights from the server's scalene/lineHeat notifications.
---
--- Each line with activity gets the highlight group ScaleneHeat1 (coolest) .. ScaleneHeatN (hottest,
--- heat 1: the profile's hottest line, or its largest memory peak). The groups are defined with
--- `default = true`, so a colorscheme or the user's own `:highlight ScaleneHeat3 ...` wins; the default
--- colours tint the Normal background from amber towards red, for dark and light backgrounds alike.
local M = {}

M.ns = vim.api.nvim_create_namespace('scalene.heat')

local GROUP = 'ScaleneHeat'

--- The colours this module set, by group (to tell them from a user's own when redefining).
---@type table<string, integer>
local ours = {}
local defined = false -- ScaleneHeat1..N have been defined (at the first heat map, or by setup())

local function config()
  return require('scalene.config').get()
end

local function rgb(n)
  return math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256
end

local function mix(a, b, t)
  local ar, ag, ab = rgb(a)
  local br, bg, bb = rgb(b)
  local function ch(x, y)
    return math.floor(x + (y - x) * t + 0.5)
  end
  return ch(ar, br) * 65536 + ch(ag, bg) * 256 + ch(ab, bb)
end

--- The nearest xterm-256 colour (6x6x6 cube or grey ramp), for 'notermguicolors'.
local function cterm(n)
  local r, g, b = rgb(n)
  local steps = { 0, 95, 135, 175, 215, 255 }
  local function step(x)
    local best, index = math.huge, 0
    for i, v in ipairs(steps) do
      if math.abs(v - x) < best then
        best, index = math.abs(v - x), i - 1
      end
    end
    return index
  end
  local ri, gi, bi = step(r), step(g), step(b)
  local cube = 16 + 36 * ri + 6 * gi + bi
  local cr, cg, cb = steps[ri + 1], steps[gi + 1], steps[bi + 1]
  local grey_index = math.max(0, math.min(23, math.floor(((r + g + b) / 3 - 8) / 10 + 0.5)))
  local gv = 8 + 10 * grey_index
  local function dist(x, y, z)
    return (r - x) ^ 2 + (g - y) ^ 2 + (b - z) ^ 2
  end
  return dist(gv, gv, gv) < dist(cr, cg, cb) and 232 + grey_index or cube
end

--- The level (1..levels) of a heat in 0..1.
---@param heat number
---@param levels integer
---@return integer
function M.level(heat, levels)
  return math.max(1, math.min(levels, math.ceil(heat * levels - 1e-9)))
end

--- The highlight group of a level.
---@param level integer
---@return string
function M.group(level)
  return GROUP .. level
end

--- Defines ScaleneHeat1..N (default = true: only where nobody else defined them). Run again on
--- ColorScheme, since `:highlight clear` removes them.
---@param levels? integer default: the current option
function M.define_highlights(levels)
  defined = true
  levels = levels or config().heat.levels
  local dark = vim.o.background == 'dark'
  local normal = vim.api.nvim_get_hl(0, { name = 'Normal', link = false })
  local base = normal.bg or (dark and 0x1c1c1c or 0xffffff)
  -- From a faint amber tint (level 1) to a clear red (level N) that still leaves text, inlay hints and
  -- diagnostics readable on it.
  local amber, red = 0xffb000, 0xf03030
  local low, high = dark and 0.12 or 0.16, dark and 0.34 or 0.36
  for i = 1, levels do
    local t = (i - 1) / (levels - 1)
    local bg = mix(base, mix(amber, red, t), low + (high - low) * t)
    local name = M.group(i)
    local existing = vim.api.nvim_get_hl(0, { name = name, link = false })
    -- Replace only what is ours (or nothing): a user's or colorscheme's definition stays.
    local force = ours[name] ~= nil and existing.bg == ours[name]
    vim.api.nvim_set_hl(0, name, { bg = bg, ctermbg = cterm(bg), default = not force })
    if force or next(existing) == nil then
      ours[name] = bg
    end
  end
end

local function ensure_highlights()
  if not defined then
    M.define_highlights()
  end
end

--- Removes the heat map of a buffer.
---@param bufnr integer
function M.clear(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

--- Draws `lines` ({line (0-based), heat}) on a buffer, replacing what was there.
---@param bufnr integer
---@param lines {line: integer, heat: number}[]
function M.draw(bufnr, lines)
  ensure_highlights()
  local levels = config().heat.levels
  M.clear(bufnr)
  local n = vim.api.nvim_buf_line_count(bufnr)
  for _, l in ipairs(lines) do
    if type(l.line) == 'number' and l.line >= 0 and l.line < n and type(l.heat) == 'number' and l.heat > 0 then
      vim.api.nvim_buf_set_extmark(bufnr, M.ns, l.line, 0, {
        line_hl_group = M.group(M.level(l.heat, levels)),
        priority = 50, -- under diagnostics' and search highlights
        invalidate = true, -- a deleted line takes its heat with it
        undo_restore = false,
      })
    end
  end
end

--- Handler of scalene/lineHeat {uri, version, lines}: draws the lines when they are for the buffer's
--- current version (an older version's lines would land on the wrong text; the server sends the new
--- version's after the change reaches it); `lines: []` clears, whatever the version.
---@param params {uri: string, version: integer, lines: {line: integer, heat: number}[]}
---@param ctx lsp.HandlerContext
function M.on_line_heat(params, ctx)
  if type(params) ~= 'table' or type(params.uri) ~= 'string' then
    return
  end
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client then
    return
  end
  for bufnr in pairs(client.attached_buffers) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.uri_from_bufnr(bufnr) == params.uri then
      local lines = type(params.lines) == 'table' and params.lines or {}
      if #lines == 0 or not config().heat.enabled then
        M.clear(bufnr)
      elseif params.version == vim.lsp.util.buf_versions[bufnr] then
        M.draw(bufnr, lines)
      end
    end
  end
end

return M
