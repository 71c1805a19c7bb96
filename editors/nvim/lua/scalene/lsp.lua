--- The scalene-lsp client side: the config pieces lsp/scalene.lua and setup() share (capabilities,
--- handlers for the server's own notifications), finding a client, and sending requests.
local M = {}

--- The vim.lsp.config name.
M.name = 'scalene'

--- The MCP endpoint each client's server announced (scalene/mcpEndpoint), by client id.
---@type table<integer, {url: string, token: string?}>
local endpoints = {}

--- Client capabilities to add: ask for scalene/lineHeat when the heat map is on, and for
--- scalene/runStatus (what status() shows).
---@param heat_enabled? boolean default: the current option
---@return lsp.ClientCapabilities
function M.capabilities(heat_enabled)
  if heat_enabled == nil then
    heat_enabled = require('scalene.config').get().heat.enabled
  end
  return { experimental = { scaleneLineHeat = heat_enabled, scaleneRunStatus = true } }
end

--- Handlers for the server's notifications that Neovim does not know.
---@return table<string, lsp.Handler>
function M.handlers()
  return {
    ['scalene/lineHeat'] = function(_, params, ctx)
      require('scalene.heat').on_line_heat(params, ctx)
    end,
    ['scalene/runStatus'] = function(_, params, ctx)
      require('scalene.progress').on_run_status(params, ctx)
    end,
    ['scalene/mcpEndpoint'] = function(_, params, ctx)
      if type(params) == 'table' and type(params.url) == 'string' then
        endpoints[ctx.client_id] = { url = params.url, token = params.token }
      end
    end,
    -- Neovim 0.11's own refresh handler misses new hints twice over: it skips buffers that no window
    -- shows (they keep their old numbers, e.g. after :ScaleneClear), and in a shown buffer a redraw
    -- between its request and the answer marks every line as drawn for the unchanged buffer version,
    -- so the new hints are never drawn. Re-enabling a buffer's hints starts it afresh: the old hints
    -- stay on screen until the new ones arrive, then those are drawn. (neovim/neovim#32248, #33391)
    ['workspace/inlayHint/refresh'] = function(err, _, ctx)
      if not err then
        for _, bufnr in ipairs(vim.lsp.get_buffers_by_client_id(ctx.client_id)) do
          if vim.api.nvim_buf_is_loaded(bufnr) and vim.lsp.inlay_hint.is_enabled({ bufnr = bufnr }) then
            vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
          end
        end
      end
      return vim.NIL
    end,
  }
end

--- The MCP endpoint of a client's server: from scalene/mcpEndpoint, else the initialize result
--- (experimental.scaleneMcp.url; no token there). Nil when the server serves none (mcp.enabled false).
---@param client vim.lsp.Client
---@return {url: string, token: string?}?
function M.mcp_endpoint(client)
  for id in pairs(endpoints) do
    if not vim.lsp.get_client_by_id(id) then
      endpoints[id] = nil
    end
  end
  if endpoints[client.id] then
    return endpoints[client.id]
  end
  local url = vim.tbl_get(client.server_capabilities or {}, 'experimental', 'scaleneMcp', 'url')
  if type(url) == 'string' then
    return { url = url }
  end
end

--- Running scalene clients (those attached to `bufnr` when given).
---@param bufnr? integer
---@return vim.lsp.Client[]
function M.clients(bufnr)
  return vim.lsp.get_clients({ name = M.name, bufnr = bufnr })
end

--- The client attached to `bufnr`; with `any`, else the first running one.
---@param bufnr integer
---@param any? boolean
---@return vim.lsp.Client?
function M.client(bufnr, any)
  local attached = M.clients(bufnr)[1]
  if attached or not any then
    return attached
  end
  return M.clients()[1]
end

--- Why there is no client, and what to do.
---@param bufnr integer
---@return string
function M.no_client_message(bufnr)
  if #M.clients() > 0 then
    return ('scalene-lsp is not attached to this buffer (filetype %q). Fix: run this in a Python buffer.'):format(
      vim.bo[bufnr].filetype
    )
  end
  if not vim.lsp.is_enabled(M.name) then
    return "scalene-lsp is not enabled. Fix: call require('scalene').setup() (or vim.lsp.enable('scalene')) and open a Python file."
  end
  return 'scalene-lsp is not running. Fix: open a Python file; if it still does not start, see :checkhealth scalene.'
end

--- Shows an error through vim.notify.
---@param message string
function M.error(message)
  vim.notify(message, vim.log.levels.ERROR, { title = 'Scalene' })
end

--- workspace/executeCommand with one argument object; `on_result(result)` runs on success, errors are
--- shown (the server's message says what to do), with `fix(err)` appended when it returns a string.
---@param client vim.lsp.Client
---@param command string
---@param args table
---@param bufnr integer
---@param on_result? fun(result: any)
---@param fix? fun(err: lsp.ResponseError): string?
function M.execute(client, command, args, bufnr, on_result, fix)
  local params = { command = command, arguments = { args } }
  client:request('workspace/executeCommand', params, function(err, result)
    if err then
      local message = err.message or vim.inspect(err)
      local extra = fix and fix(err)
      if extra then
        message = message .. (message:match('[.!?]$') and ' ' or '. ') .. extra
      end
      M.error(('Scalene: %s'):format(message))
    elseif on_result then
      on_result(result)
    end
  end, bufnr)
end

return M
