--- Runs in progress, from the server's scalene/runStatus notifications (asked for with
--- experimental.scaleneRunStatus, docs/lsp.md): a statusline string and, when a run ends well, its
--- one-line summary.
local M = {}

---@class scalene.RunStatus  the params of scalene/runStatus (docs/lsp.md, Run status)
---@field runId string
---@field uri string
---@field phase 'begin'|'report'|'end'
---@field kind string
---@field live boolean
---@field test? string
---@field recording boolean
---@field recordingRequested boolean
---@field elapsedS number
---@field series? {current: integer, total: integer}
---@field hottest? {uri?: string, file: string, line: integer, cpu: number}
---@field status? string
---@field error? string
---@field summary? string

---@class scalene.Run
---@field status scalene.RunStatus  the newest
---@field seq integer                begin order (the newest run is shown first)

---@type table<string, scalene.Run>  by "<client id>:<run id>"
local runs = {}
local seq = 0

--- Handles one scalene/runStatus notification.
---@param params scalene.RunStatus
---@param ctx lsp.HandlerContext
function M.on_run_status(params, ctx)
  if type(params) ~= 'table' or type(params.runId) ~= 'string' then
    return
  end
  local key = ('%d:%s'):format(ctx.client_id, params.runId)
  if params.phase == 'begin' then
    seq = seq + 1
    runs[key] = { status = params, seq = seq }
  elseif params.phase == 'report' and runs[key] then
    runs[key].status = params
  elseif params.phase == 'end' then
    local run = runs[key]
    runs[key] = nil
    -- A run that did not end well is shown by the server itself (window/showMessage).
    if run and params.status == 'ok' and require('scalene.config').get().notify then
      local summary = params.summary or 'ok'
      vim.notify(('Scalene: %s: %s'):format(M.name_of(params), summary), vim.log.levels.INFO, { title = 'Scalene' })
    end
  else
    return
  end
  vim.cmd('redrawstatus')
end

--- What a run is of: "app.py", "test_app.py::TestA::test_b" for one test, or "the pytest suite in proj"
--- for a suite run (its `test` is "(the pytest suite)").
---@param status scalene.RunStatus
---@return string
function M.name_of(status)
  local ok, fname = pcall(vim.uri_to_fname, status.uri)
  local name = vim.fs.basename(ok and fname or status.uri)
  if status.test == '(the pytest suite)' then
    name = 'the pytest suite in ' .. name
  elseif type(status.test) == 'string' then
    name = name .. '::' .. status.test
  end
  return name
end

--- "12 s", then what is known so far: "run 2/3 · 12 s · recording paused · hottest so far: app.py:42
--- (31.0% CPU)"; "starting" before the first report.
---@param status scalene.RunStatus
---@return string
function M.text(status)
  if status.phase == 'begin' then
    return 'starting'
  end
  local parts = {}
  local series = type(status.series) == 'table' and ('run %d/%d · '):format(status.series.current, status.series.total) or ''
  parts[1] = ('%s%d s'):format(series, math.floor(tonumber(status.elapsedS) or 0))
  if status.recording == false then
    parts[#parts + 1] = 'recording paused'
  end
  if status.recordingRequested ~= status.recording then
    parts[#parts + 1] = status.recordingRequested and 'resuming recording' or 'pausing recording'
  end
  local hottest = status.hottest
  if type(hottest) == 'table' then
    parts[#parts + 1] = ('hottest so far: %s:%d (%.1f%% CPU)'):format(hottest.file, hottest.line + 1, hottest.cpu)
  end
  return table.concat(parts, ' · ')
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
  local text = 'Scalene: ' .. M.text(newest.status)
  if count > 1 then
    text = text .. (' (+%d)'):format(count - 1)
  end
  return text
end

return M
