--- The plugin's actions: what each :Scalene* command, keymap and require('scalene').<action>() does.
--- Each finds the scalene client once (with_client), then asks the server (lua/scalene/lsp.lua sends the
--- request and shows its errors) and tells the user the outcome.
local M = {}

local lsp = require('scalene.lsp')

local function notify(message, level)
  vim.notify(message, level or vim.log.levels.INFO, { title = 'Scalene' })
end

--- Calls fn(client, bufnr) with the scalene client attached to `bufnr` (default: the current buffer);
--- with `any`, the first running client when none is attached to it (for actions about the newest run or
--- every profile, not this file). When there is none, shows why and what to do, and fn is not called.
---@param fn fun(client: vim.lsp.Client, bufnr: integer)
---@param opts? {bufnr?: integer, any?: boolean}
function M.with_client(fn, opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local client = lsp.client(bufnr, opts.any)
  if not client then
    return lsp.error('Scalene: ' .. lsp.no_client_message(bufnr))
  end
  return fn(client, bufnr)
end
local with_client = M.with_client

--- With `autosave`, :update a modified buffer (Scalene runs the file on disk). False (and the error
--- shown) when that failed.
---@param bufnr integer
---@param doing string e.g. "profiling"
---@return boolean
local function autosave(bufnr, doing)
  if require('scalene.config').get().autosave and vim.bo[bufnr].modified then
    local ok, err = pcall(vim.api.nvim_buf_call, bufnr, function()
      vim.cmd('silent update')
    end)
    if not ok then
      lsp.error(('Scalene: could not write the buffer before %s: %s'):format(doing, err))
      return false
    end
  end
  return true
end

--- Profiles the current buffer's file. `live`: hints and diagnostics follow the run as it goes (a
--- snapshot every `live.interval` s); `paused`: Scalene starts with its recording off (see M.resume).
---@param opts? {args?: string[], mode?: 'cpu'|'memory'|'gpu', live?: boolean, paused?: boolean, bufnr?: integer}
function M.profile(opts)
  opts = opts or {}
  with_client(function(client, bufnr)
    if not autosave(bufnr, 'profiling') then
      return
    end
    local args = { uri = vim.uri_from_bufnr(bufnr) }
    if opts.args and #opts.args > 0 then
      args.args = opts.args
    end
    args.mode = opts.mode
    args.live = opts.live or nil
    args.paused = opts.paused or nil
    lsp.execute(client, 'scalene.profile', args, bufnr)
  end, { bufnr = opts.bufnr })
end

--- Switches the recording of the newest run off or on.
---@param on boolean
local function set_recording(on)
  with_client(function(client, bufnr)
    local command = on and 'scalene.resume' or 'scalene.pause'
    lsp.execute(client, command, vim.empty_dict(), bufnr, function(result)
      -- The server answers at once with what was asked (`requested`) and what Scalene confirmed
      -- (`recording`); while `pending`, the run's progress (status()) shows when it is done.
      result = type(result) == 'table' and result or {}
      local run = result.run_id or 'the run'
      local text
      if result.pending then
        text = on and 'resuming recording' or 'pausing recording'
      elseif result.changed then
        text = on and 'recording resumed' or 'recording paused'
      else
        text = on and 'already recording' or 'already paused'
      end
      notify(('Scalene: %s %s'):format(run, text))
    end)
  end, { any = true })
end

--- Pauses the recording of the newest run (the program goes on; Scalene writes the profile so far).
function M.pause()
  set_recording(false)
end

--- Resumes the recording of the newest run.
function M.resume()
  set_recording(true)
end

--- Saves the newest profile covering the current buffer's file in the store, as `name` (default
--- `baseline`), for M.compare.
---@param opts? {name?: string, bufnr?: integer}
function M.save_baseline(opts)
  opts = opts or {}
  with_client(function(client, bufnr)
    local args = { uri = vim.uri_from_bufnr(bufnr), name = opts.name }
    lsp.execute(client, 'scalene.saveBaseline', args, bufnr, function(result)
      result = type(result) == 'table' and result or {}
      local text = ('Scalene: saved %s (%s)'):format(
        result.name or opts.name or 'baseline',
        vim.fn.fnamemodify(tostring(result.path or '?'), ':~')
      )
      local evicted = type(result.evicted) == 'table' and result.evicted or {}
      if #evicted > 0 then
        text = text .. ('; the store was full, so it removed %s'):format(table.concat(evicted, ', '))
      end
      notify(text)
    end)
  end, { bufnr = opts.bufnr })
end

--- Writes the newest profile of the current buffer's file (else the newest) as `format` to `path`
--- (relative to the current directory): flamegraph (SVG), speedscope, cpuprofile or collapsed.
---@param opts {format?: string, path?: string, bufnr?: integer}
function M.export(opts)
  opts = opts or {}
  if not opts.format or not opts.path then
    return notify('Scalene: :ScaleneExport takes a format (flamegraph, speedscope, cpuprofile, collapsed) and a file', vim.log.levels.ERROR)
  end
  local path = vim.fn.fnamemodify(vim.fn.expand(opts.path), ':p')
  with_client(function(client, bufnr)
    local args = { format = opts.format, path = path }
    if vim.api.nvim_buf_get_name(bufnr) ~= '' then
      args.uri = vim.uri_from_bufnr(bufnr)
    end
    lsp.execute(client, 'scalene.exportProfile', args, bufnr, function(result)
      result = type(result) == 'table' and result or {}
      notify(('Scalene: wrote %s (%s)'):format(vim.fn.fnamemodify(tostring(result.path or path), ':~'), opts.format))
    end)
  end, { bufnr = opts.bufnr })
end

--- Compares the current buffer's file with a saved baseline (default `baseline`): at once when its
--- newest profile is of the text as it is, else after profiling it now (the server then shows the
--- outcome). Hints, diagnostics and lenses show the changes until M.exit_compare.
---@param opts? {baseline?: string, bufnr?: integer}
function M.compare(opts)
  opts = opts or {}
  with_client(function(client, bufnr)
    if not autosave(bufnr, 'comparing') then
      return
    end
    local file = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':t')
    local args = { uri = vim.uri_from_bufnr(bufnr), baseline = opts.baseline }
    lsp.execute(client, 'scalene.compare', args, bufnr, function(result)
      result = type(result) == 'table' and result or {}
      local baseline = result.baseline or opts.baseline or 'baseline'
      if result.run_id then
        return notify(('Scalene: profiling %s to compare it with baseline `%s` (%s)'):format(file, baseline, result.run_id))
      end
      notify(
        ('Scalene: %s compared with baseline `%s`: %s'):format(file, baseline, result.summary or result.verdict or '?'),
        result.verdict == 'regressed' and vim.log.levels.WARN or vim.log.levels.INFO
      )
    end, function(err)
      if vim.tbl_get(err, 'data', 'kind') == 'saved_not_found' then
        return 'In Neovim: :ScaleneSaveBaseline [name] saves the newest profile of the current file.'
      end
    end)
  end, { bufnr = opts.bufnr })
end

--- Leaves compare mode: plain numbers again.
function M.exit_compare()
  with_client(function(client, bufnr)
    lsp.execute(client, 'scalene.exitCompare', vim.empty_dict(), bufnr, function(result)
      if type(result) == 'table' and result.exited then
        notify('Scalene: left compare mode')
      else
        notify('Scalene: not in compare mode')
      end
    end)
  end, { any = true })
end

--- Cancels the newest run (its partial profile is kept).
function M.cancel()
  with_client(function(client, bufnr)
    lsp.execute(client, 'scalene.cancel', vim.empty_dict(), bufnr, function(result)
      if not (type(result) == 'table' and result.cancelled) then
        notify('Scalene: no run to cancel')
      end
    end)
  end, { any = true })
end

--- The attach started last by :ScaleneAttach (its run id), for :ScaleneDetach.
local attached_run = nil

--- Attaches py-spy to a running Python process: `opts.pid`, else a vim.ui.select of the processes the
--- server lists (the workspace's first). Its numbers annotate the process's files like a live run.
---@param opts { pid?: integer }|nil
function M.attach(opts)
  opts = opts or {}
  with_client(function(client, bufnr)
    local function start(pid)
      lsp.execute(client, 'scalene.attach', { pid = pid }, bufnr, function(result)
        if type(result) == 'table' and result.run_id then
          attached_run = result.run_id
          notify(('Scalene: attached to %d with py-spy (%s); :ScaleneDetach ends it'):format(pid, result.run_id))
        end
      end)
    end
    if opts.pid then
      return start(opts.pid)
    end
    lsp.execute(client, 'scalene.listProcesses', vim.empty_dict(), bufnr, function(result)
      local items = type(result) == 'table' and result.processes or {}
      if #items == 0 then
        return notify('Scalene: no Python process of yours is running (start the program, then :ScaleneAttach)', vim.log.levels.WARN)
      end
      vim.ui.select(items, {
        prompt = 'Scalene: attach to',
        kind = 'scalene.process',
        format_item = function(item)
          return ('%d  %s  (%d s)'):format(item.pid, item.command_line, math.floor(item.age_s or 0))
        end,
      }, function(item)
        if item then
          start(item.pid)
        end
      end)
    end)
  end, { any = true })
end

--- Ends the attach started by :ScaleneAttach (the newest run when there is none); the target keeps running.
function M.detach()
  with_client(function(client, bufnr)
    local args = attached_run and { run_id = attached_run } or vim.empty_dict()
    lsp.execute(client, 'scalene.cancel', args, bufnr, function(result)
      attached_run = nil
      if not (type(result) == 'table' and result.cancelled) then
        notify('Scalene: not attached to any process')
      end
    end)
  end, { any = true })
end

--- Removes every profile (hints, diagnostics, heat), from every running client.
function M.clear()
  with_client(function()
    for _, client in ipairs(lsp.clients()) do
      lsp.execute(client, 'scalene.clear', vim.empty_dict(), nil)
    end
  end, { any = true })
end

--- Shows a Scalene JSON file (e.g. from `scalene run -o`, CI or another machine).
---@param path string
function M.load(path)
  with_client(function(client, bufnr)
    local full = vim.fn.fnamemodify(vim.fn.expand(path), ':p')
    lsp.execute(client, 'scalene.loadProfile', { path = full }, bufnr, function(result)
      local files = type(result) == 'table' and type(result.files) == 'table' and #result.files or 0
      notify(('Scalene: loaded %s (%d file%s)'):format(vim.fn.fnamemodify(full, ':~:.'), files, files == 1 and '' or 's'))
    end)
  end, { any = true })
end

--- Jumps to a hotspot item ({uri, line (0-based)}).
local function jump(item)
  local fname = vim.uri_to_fname(item.uri)
  local bufnr ---@type integer?
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and vim.api.nvim_buf_get_name(b) == fname then
      bufnr = b
    end
  end
  local ok, err = pcall(function()
    if bufnr then
      vim.api.nvim_set_current_buf(bufnr)
    else
      vim.cmd.edit(vim.fn.fnameescape(fname))
    end
    local last = vim.api.nvim_buf_line_count(0)
    vim.api.nvim_win_set_cursor(0, { math.min(item.line + 1, last), 0 })
    vim.cmd('normal! ^')
  end)
  if not ok then
    lsp.error(('Scalene: could not open %s: %s'):format(fname, err))
  end
end

--- One line of the :ScaleneHottest list: `32.2% CPU · 2.2 MB  cpu_bound.py:15  data.sort()`.
---@param item {uri: string, line: integer, label: string, source: string}
---@param width? integer pad the label to this display width (to align a list)
---@return string
function M.format_hotspot(item, width)
  local label = item.label or ''
  local pad = math.max(0, (width or 0) - vim.fn.strdisplaywidth(label))
  local where = ('%s:%d'):format(vim.fn.fnamemodify(vim.uri_to_fname(item.uri), ':~:.'), item.line + 1)
  return ('%s%s  %s  %s'):format(label, (' '):rep(pad), where, item.source or '')
end

--- Lists the hottest lines across files (vim.ui.select) and jumps to the one picked.
---@param opts? {limit?: integer}
function M.hottest(opts)
  opts = opts or {}
  with_client(function(client, bufnr)
    local params = { limit = opts.limit or 20 }
    if client.attached_buffers[bufnr] then
      params.uri = vim.uri_from_bufnr(bufnr)
    end
    client:request('scalene/hotspots', params, function(err, result)
      if err then
        return lsp.error('Scalene: ' .. (err.message or vim.inspect(err)))
      end
      local items = type(result) == 'table' and result.items or {}
      if #items == 0 then
        return notify('Scalene: no profile yet. Run :ScaleneProfile (or :ScaleneLoad a Scalene JSON) first.', vim.log.levels.WARN)
      end
      local width = 0
      for _, item in ipairs(items) do
        width = math.max(width, vim.fn.strdisplaywidth(item.label or ''))
      end
      local select_opts = {
        prompt = 'Scalene: hottest lines',
        kind = 'scalene.hotspot',
        format_item = function(item)
          return M.format_hotspot(item, width)
        end,
      }
      vim.ui.select(items, select_opts, function(item)
        if item then
          jump(item)
        end
      end)
    end, bufnr)
  end, { any = true })
end

--- Runs the whole pytest suite of the workspace once under Scalene (`scalene.profileTests`); `args` go to
--- pytest (paths, node ids, -k, -m). Afterwards :ScaleneTests lists the slowest tests and each test
--- function shows its cost in a lens.
---@param opts? {args?: string[], mode?: 'cpu'|'memory'|'gpu'}
function M.profile_tests(opts)
  opts = opts or {}
  with_client(function(client, bufnr)
    local args = { mode = opts.mode or 'cpu' }
    if opts.args and #opts.args > 0 then
      args.args = opts.args
    end
    lsp.execute(client, 'scalene.profileTests', args, bufnr)
  end, { any = true })
end

--- Fills the quickfix list with the newest suite run's slowest tests (`scalene/tests`): each test at its
--- function, then its hottest lines, indented.
---@param opts? {limit?: integer}
function M.tests(opts)
  opts = opts or {}
  with_client(function(client, bufnr)
    client:request('scalene/tests', { limit = opts.limit or 20 }, function(err, result)
      if err then
        return lsp.error('Scalene: ' .. (err.message or vim.inspect(err)))
      end
      if type(result) ~= 'table' or not result.profileId then
        return notify('Scalene: no test suite has been profiled yet. Run :ScaleneProfileTests first.', vim.log.levels.WARN)
      end
      local entries = {}
      for _, test in ipairs(result.items or {}) do
        table.insert(entries, {
          filename = test.uri and vim.uri_to_fname(test.uri) or nil,
          lnum = (test.line or 0) + 1,
          text = ('%.2f s · %.0f%% of suite · %s · %s'):format(test.seconds or 0, (test.share or 0) * 100, test.outcome, test.nodeId),
        })
        for _, hot in ipairs(test.hottest or {}) do
          table.insert(entries, {
            filename = hot.uri and vim.uri_to_fname(hot.uri) or nil,
            lnum = (hot.line or 0) + 1,
            text = ('    %.3f s  %s'):format(hot.seconds or 0, hot.source or ''),
          })
        end
      end
      local title = ('Scalene: slowest tests (%d of %d, %s)'):format(#(result.items or {}), result.total or 0, result.status or '')
      vim.fn.setqflist({}, ' ', { title = title, items = entries })
      vim.cmd('botright copen')
    end, bufnr)
  end, { any = true })
end

--- Lists the profiled callers of the function under the cursor in the quickfix list, costliest first
--- (from the server's call hierarchy, i.e. Scalene's stacks): each entry is a call site with its share.
function M.callers()
  with_client(function(client, bufnr)
    local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
    client:request('textDocument/prepareCallHierarchy', params, function(err, items)
      if err then
        return lsp.error('Scalene: ' .. (err.message or vim.inspect(err)))
      end
      if type(items) ~= 'table' or #items == 0 then
        return notify('Scalene: no call paths here. Profile the program first (:ScaleneProfile); a function that never ran has none.', vim.log.levels.WARN)
      end
      local item = items[1]
      client:request('callHierarchy/incomingCalls', { item = item }, function(err2, calls)
        if err2 then
          return lsp.error('Scalene: ' .. (err2.message or vim.inspect(err2)))
        end
        calls = type(calls) == 'table' and calls or {}
        if #calls == 0 then
          return notify(('Scalene: %s has no profiled callers (only the program itself runs it)'):format(item.name))
        end
        local entries = {}
        for _, call in ipairs(calls) do
          local ranges = (call.fromRanges and #call.fromRanges > 0) and call.fromRanges or { call.from.selectionRange }
          for _, range in ipairs(ranges) do
            table.insert(entries, {
              filename = vim.uri_to_fname(call.from.uri),
              lnum = range.start.line + 1,
              col = range.start.character + 1,
              text = ('%s: %s'):format(call.from.name, call.from.detail or ''),
            })
          end
        end
        vim.fn.setqflist({}, ' ', { title = ('Scalene: callers of %s'):format(item.name), items = entries })
        vim.cmd('botright copen')
      end, bufnr)
    end, bufnr)
  end)
end

return M
