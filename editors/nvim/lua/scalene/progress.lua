--- Runs in progress, from the server's $/progress (the LspProgress autocmd): a statusline string and,
--- when a run ends well, its one-line summary.
local M = {}

---@class scalene.Run
---@field title string    e.g. "Scalene: profiling cpu_bound.py"
---@field message string  "starting", then "<N> s"
---@field seq integer     begin order (the newest run is shown first)

---@type table<string, scalene.Run>  by "<client id>:<token>"
local runs = {}
local seq = 0

--- Handles one LspProgress event (any client; only scalene-lsp's are kept).
---@param ev {data: {client_id: integer, params: lsp.ProgressParams}}
function M.on_progress(ev)
  local data = ev.data or {}
  local client = data.client_id and vim.lsp.get_client_by_id(data.client_id)
  local params = data.params or {}
  local value = params.value
  if not client or client.name ~= require('scalene.lsp').name or type(value) ~= 'table' then
    return
  end
  local key = ('%d:%s'):format(client.id, tostring(params.token))
  if value.kind == 'begin' then
    seq = seq + 1
    runs[key] = { title = value.title or 'Scalene', message = value.message or 'starting', seq = seq }
  elseif value.kind == 'report' and runs[key] then
    runs[key].message = value.message or runs[key].message
  elseif value.kind == 'end' then
    local run = runs[key]
    runs[key] = nil
    local summary = value.message or ''
    -- A run that did not end well is shown by the server itself (window/showMessage).
    if run and summary:match('^ok ') and require('scalene.config').get().notify then
      vim.notify(('Scalene: %s: %s'):format(M.file_of(run.title), summary), vim.log.levels.INFO, { title = 'Scalene' })
    end
  else
    return
  end
  vim.cmd('redrawstatus')
end

--- The file (or `file::test`) a begin title names: "Scalene: profiling [test ]<name>[ live]" (docs/lsp.md,
--- Progress); "" for another title.
---@param title string
---@return string
function M.file_of(title)
  local name = title:match('^Scalene: profiling (.+)$')
  if not name then
    return ''
  end
  name = name:gsub('^test ', '', 1):gsub(' live$', '', 1)
  return name
end

--- Forgets the runs of a client that stopped.
---@param client_id integer
function M.forget_client(client_id)
  local prefix = client_id .. ':'
  for key in pairs(runs) do
    if key:sub(1, #prefix) == prefix then
      runs[key] = nil
    end
  end
end

--- For a statusline: "Scalene: 3 s" while a run goes on ("Scalene: 3 s (+1)" with more runs), "" when
--- none does.
---@return string
function M.status()
  local newest, count = nil, 0
  for _, run in pairs(runs) do
    count = count + 1
    if not newest or run.seq > newest.seq then
      newest = run
    end
  end
  if not newest then
    return ''
  end
  local text = 'Scalene: ' .. newest.message
  if count > 1 then
    text = text .. (' (+%d)'):format(count - 1)
  end
  return text
end

return M
