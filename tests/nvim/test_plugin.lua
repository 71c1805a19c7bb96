-- Headless Neovim (0.11+) test of the editors/nvim plugin through require('scalene').setup(): the
-- :Scalene* commands, inlay hints, diagnostics, the heat map, :ScaleneHottest, status(),
-- :checkhealth scalene, compare mode (:ScaleneSaveBaseline, :ScaleneCompare, :ScaleneExitCompare) and
-- live runs (:ScaleneProfileLive[!], :ScalenePause, :ScaleneResume), against the real server and real
-- Scalene. Each scenario sets up the files, buffers and profiles it needs (see harness.lua), so any one
-- runs alone (SCALENE_NVIM_ONLY) and in any order (SCALENE_NVIM_ORDER=reverse).
-- Run by tests/nvim/run.sh, which passes (environment):
--   SCALENE_NVIM_BIN     absolute path of the scalene-lsp binary
--   SCALENE_NVIM_ROOT    the repo root
--   SCALENE_NVIM_PYTHON  a python with Scalene installed (the test project's .venv links to its venv, so
--                        the server finds it as a user's project venv: no `python` setting)
--   SCALENE_NVIM_LOG     (optional) set: log all LSP traffic (run.sh copies lsp.log there)
-- Prints one line per test (`ok - name` / `not ok - name: reason`), then `N passed, M failed`.

local BIN = assert(os.getenv('SCALENE_NVIM_BIN'), 'SCALENE_NVIM_BIN is not set')
local ROOT = assert(os.getenv('SCALENE_NVIM_ROOT'), 'SCALENE_NVIM_ROOT is not set')
local PYTHON = assert(os.getenv('SCALENE_NVIM_PYTHON'), 'SCALENE_NVIM_PYTHON is not set')

local H = dofile(ROOT .. '/tests/nvim/harness.lua')
local out, check, test, poll, wait_for, inspect1 = H.out, H.check, H.test, H.poll, H.wait_for, H.inspect1
local read_file, write_file, describe_lines = H.read_file, H.write_file, H.describe_lines

-- Timeouts (ms): they bound waits, never assert a duration. A Scalene run of a fixture takes ~1-5 s.
local T_ATTACH = 20000
local T_REQUEST = 10000
local T_RUN = 120000
local T_SETTLE = 20000

local HOT_LINES = { [7] = true, [8] = true, [13] = true, [15] = true } -- cpu_bound.py, 1-based
local LEVELS = 6 -- setup({ heat = { levels = LEVELS } })
local COMMANDS = {
  'ScaleneProfile',
  'ScaleneProfileCpu',
  'ScaleneProfileLive',
  'ScalenePause',
  'ScaleneResume',
  'ScaleneCancel',
  'ScaleneClear',
  'ScaleneLoad',
  'ScaleneHottest',
  'ScaleneSaveBaseline',
  'ScaleneCompare',
  'ScaleneExitCompare',
  'ScaleneCallers',
  'ScaleneAttach',
  'ScaleneDetach',
  'ScaleneProfileTests',
  'ScaleneTests',
}

-- ---------------------------------------------------------------------------------------------------
-- Project: a temp dir with a pyproject.toml, a .venv (a link to the venv with Scalene: the server finds
-- it the way it finds a user's), cpu_bound.py, a program that records its arguments, a 60 s loop.
local project = vim.fn.tempname() .. '-scalene-plugin'
vim.fn.mkdir(project, 'p')
write_file(project .. '/pyproject.toml', '[project]\nname = "scalene-nvim-plugin-test"\nversion = "0"\n')
write_file(project .. '/cpu_bound.py', read_file(ROOT .. '/fixtures/programs/cpu_bound.py'))
assert(vim.uv.fs_symlink(vim.fn.fnamemodify(PYTHON, ':h:h'), project .. '/.venv'))

local argv_out = project .. '/argv.json'
local ARGV_PY = table.concat({
  'import json',
  'import sys',
  'import time',
  '',
  '',
  'def spin(seconds):',
  '    end = time.time() + seconds',
  '    n = 0',
  '    while time.time() < end:',
  '        n += 1',
  '    return n',
  '',
  '',
  'if __name__ == "__main__":',
  '    with open(' .. vim.json.encode(argv_out) .. ', "w") as f:',
  '        json.dump(sys.argv[1:], f)',
  '    print(spin(1.0))',
  '',
}, '\n')
write_file(project .. '/argv.py', ARGV_PY)

local loop_marker = H.write_loop_program(project)

-- Compare mode: app.py, then the same program with slow() doing six times the work (lines inserted
-- above it; over a second more CPU, so that each of its loop lines regresses beyond the noise rule, not
-- only the function); baselines go to a store inside the project (the `store.dir` setting), not the user's.
local store = project .. '/store'
local APP_BODY = table.concat({
  '',
  '',
  'def slow(n):',
  '    total = 0',
  '    for i in range(n):',
  '        total += i * i % 7',
  '    return total',
  '',
  '',
  'def same(n):',
  '    total = 0',
  '    for i in range(n):',
  '        total ^= i',
  '    return total',
  '',
  '',
  'if __name__ == "__main__":',
  '    print(slow(SLOW_N))',
  '    print(same(5_000_000))',
  '',
}, '\n')
local APP_V1 = 'SLOW_N = 2_000_000\n' .. APP_BODY
local APP_V2 = '"""Version 2: slow() does six times the work."""\nimport sys\n\nSLOW_N = 12_000_000\n' .. APP_BODY
write_file(project .. '/app.py', APP_V1)

-- Live runs: spin.py keeps the CPU busy until the test creates spin.stop (at most 30 s).
local spin_stop = project .. '/spin.stop'
local SPIN_PY = table.concat({
  'import os',
  'import time',
  '',
  '',
  'def work():',
  '    total = 0',
  '    for i in range(100_000):',
  '        total += i * i % 7',
  '    return total',
  '',
  '',
  'def main():',
  '    end = time.time() + 30',
  '    rounds = 0',
  '    while time.time() < end and not os.path.exists(' .. vim.json.encode(spin_stop) .. '):',
  '        work()',
  '        rounds += 1',
  '    return rounds',
  '',
  '',
  'if __name__ == "__main__":',
  '    print(main())',
  '',
}, '\n')
write_file(project .. '/spin.py', SPIN_PY)

-- ---------------------------------------------------------------------------------------------------
-- Editor: a UI is attached, so that Neovim redraws and draws inlay hints as in a terminal (headless
-- Neovim still writes messages to stderr itself: the UI only needs to exist); the plugin is loaded as a
-- plugin manager does (runtimepath + plugin/), then setup().
vim.ui_attach(vim.api.nvim_create_namespace('scalene.test.ui'), { ext_messages = true }, function() end)

-- The server's window/showMessage notifications (Neovim's own handler echoes them), kept in order.
local messages = {} --- @type {type: integer, message: string}[]
local original_show_message = vim.lsp.handlers['window/showMessage']
vim.lsp.handlers['window/showMessage'] = function(err, params, ctx)
  if type(params) == 'table' then
    messages[#messages + 1] = { type = params.type, message = tostring(params.message) }
  end
  return original_show_message(err, params, ctx)
end
local function find_message(pattern, from)
  for i = (from or 0) + 1, #messages do
    if messages[i].message:find(pattern) then
      return messages[i]
    end
  end
end

if os.getenv('SCALENE_NVIM_LOG') then
  vim.lsp.log.set_level('debug')
end
vim.env.VIRTUAL_ENV = nil -- the server would prefer it over the project's .venv
vim.cmd('filetype on')
vim.opt.runtimepath:prepend(ROOT .. '/editors/nvim')
vim.cmd('runtime! plugin/scalene.lua')
-- A user's own colour for the coolest level: the plugin's defaults must not replace it.
local USER_HEAT1 = 0x123456
vim.api.nvim_set_hl(0, 'ScaleneHeat1', { bg = USER_HEAT1 })

-- What the user is told (vim.notify), kept in order; still shown on stderr (run.sh prints it).
local notes = {} --- @type {msg: string, level: integer?}[]
local original_notify = vim.notify
vim.notify = function(msg, level, opts)
  notes[#notes + 1] = { msg = tostring(msg), level = level }
  return original_notify(msg, level, opts)
end
local function find_note(pattern, from)
  for i = (from or 0) + 1, #notes do
    if notes[i].msg:find(pattern) then
      return notes[i]
    end
  end
end

-- Progress events (LspProgress) with the statusline text the plugin gives right after each.
local progress = {} --- @type {token: string|integer, value: table, status: string}[]
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(ev)
    local params = ev.data and ev.data.params or {}
    if type(params.value) == 'table' then
      progress[#progress + 1] = { token = params.token, value = params.value, status = require('scalene').status() }
    end
  end,
})
-- scalene/runStatus notifications (what status() is made from), with the statusline text the plugin gives
-- right after each: the plugin's handler, wrapped.
local statuses = {} --- @type {params: scalene.RunStatus, status: string}[]
local scalene_progress = require('scalene.progress')
local on_run_status = scalene_progress.on_run_status
scalene_progress.on_run_status = function(params, ctx)
  on_run_status(params, ctx)
  statuses[#statuses + 1] = { params = params, status = require('scalene').status() }
end
--- The runStatus notifications of the run whose progress token is `token` (`scalene-run-N`).
local function statuses_of(token)
  local run_id = tostring(token):gsub('^scalene%-', '')
  return vim.tbl_filter(function(s)
    return s.params.runId == run_id
  end, statuses)
end

local function find_begin(title, from)
  for i = (from or 0) + 1, #progress do
    local p = progress[i]
    if p.value.kind == 'begin' and (p.value.title or ''):find(title, 1, true) then
      return p
    end
  end
end
local function find_end(token)
  for _, p in ipairs(progress) do
    if p.token == token and p.value.kind == 'end' then
      return p
    end
  end
end

--- Runs an Ex command (like :ScaleneProfile) and waits for the run it starts to end; returns its
--- progress `end` event.
local function run_and_wait(cmd, file_name)
  local from = #progress
  vim.cmd(cmd)
  local begin = wait_for(('$/progress begin "Scalene: profiling %s" after :%s'):format(file_name, cmd), T_REQUEST, function()
    return find_begin('Scalene: profiling ' .. file_name, from)
  end)
  return wait_for(('the end of the %s run'):format(file_name), T_RUN, function()
    return find_end(begin.token)
  end),
    begin
end

local function open(path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf()
end

local function client_of(buf)
  return vim.lsp.get_clients({ bufnr = buf, name = 'scalene' })[1]
end
local function attached_client(buf)
  return wait_for('the scalene client to attach to ' .. vim.api.nvim_buf_get_name(buf), T_ATTACH, function()
    local c = client_of(buf)
    return c and c.initialized and c
  end)
end

--- The inlay hints on screen for a buffer, as { [0-based line] = label }: the buffer is put in the
--- window and the screen redrawn (Neovim draws hints while it redraws, through the UI attached below).
local function shown_hints(buf)
  if vim.api.nvim_get_current_buf() ~= buf then
    vim.api.nvim_set_current_buf(buf)
  end
  vim.cmd('redraw')
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inlayhint']
  local by_line = {}
  for _, mark in ipairs(ns and vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true }) or {}) do
    local text = {}
    for _, chunk in ipairs(mark[4].virt_text or {}) do
      text[#text + 1] = chunk[1]
    end
    by_line[mark[2]] = vim.trim(table.concat(text))
  end
  return by_line
end

local HEAT_NS = vim.api.nvim_create_namespace('scalene.heat')
--- The heat map drawn on a buffer: { [0-based line] = level }.
local function heat_levels(buf)
  local levels = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(buf, HEAT_NS, 0, -1, { details = true })) do
    local group = mark[4].line_hl_group or mark[4].hl_group
    levels[mark[2]] = tonumber(tostring(group):match('^ScaleneHeat(%d+)$')) or group
  end
  return levels
end

local function scalene_diagnostics(buf)
  return vim.tbl_filter(function(d)
    return d.source == 'scalene'
  end, vim.diagnostic.get(buf))
end

--- The lines of the :checkhealth scalene report (the health buffer is closed again).
local function checkhealth()
  local before_tab = vim.api.nvim_get_current_tabpage()
  local before_buf = vim.api.nvim_get_current_buf()
  vim.cmd('checkhealth scalene')
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  local health_buf = vim.api.nvim_get_current_buf()
  if vim.api.nvim_get_current_tabpage() ~= before_tab then
    vim.cmd('tabclose')
  end
  if vim.api.nvim_buf_is_valid(health_buf) and health_buf ~= before_buf then
    vim.api.nvim_buf_delete(health_buf, { force = true })
  end
  vim.api.nvim_set_current_buf(before_buf)
  return lines
end
local function grep(lines, pattern)
  local found = {}
  for _, line in ipairs(lines) do
    if line:find(pattern) then
      found[#found + 1] = line
    end
  end
  return found
end

--- `path` with `text` on disk, in a new buffer in the window (whatever an earlier scenario left in the
--- file or its buffer), once the server is attached to it: returns the buffer and the client.
local function fresh(path, text)
  write_file(path, text)
  H.wipe(path)
  local buf = open(path)
  return buf, attached_client(buf)
end

local cpu_path = project .. '/cpu_bound.py'
local CPU_BOUND = read_file(ROOT .. '/fixtures/programs/cpu_bound.py')
local CAPTURED_JSON = ROOT .. '/fixtures/scalene/2.4.0/cpu_bound.json'

--- A copy of the captured cpu_bound.py profile whose paths point into `dir` (dir/cpu_bound.json, for
--- dir/cpu_bound.py); returns its path and data.
local function captured_copy(dir)
  vim.fn.mkdir(dir, 'p')
  local data = vim.json.decode(read_file(CAPTURED_JSON), { luanil = { object = true, array = true } })
  local from_dir = data.program:match('^(.*/fixtures/programs)/cpu_bound%.py$')
  check(from_dir, 'unexpected program in %s: %s', CAPTURED_JSON, data.program)
  local json, relocated = H.relocated_profile(CAPTURED_JSON, from_dir, dir, dir .. '/cpu_bound.json')
  check(relocated.program == dir .. '/cpu_bound.py', 'the relocated JSON names %s', relocated.program)
  return json, relocated
end

--- :ScaleneLoad `json`; waits for the "loaded" message.
local function load(json)
  local from = #notes
  vim.cmd('ScaleneLoad ' .. vim.fn.fnameescape(json))
  wait_for('the "loaded" message of :ScaleneLoad ' .. json, T_REQUEST, function()
    return find_note('^Scalene: loaded ', from)
  end)
end

--- Waits until `buf` shows the hints `expected` ({ [line] = label }) exactly; returns them.
local function wait_for_hints(buf, expected)
  local actual, problems = {}, {}
  poll(T_SETTLE, 100, function()
    actual = shown_hints(buf)
    problems = H.compare(expected, actual)
    return #problems == 0
  end)
  check(#problems == 0, '%s: %s', vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':~:.'), table.concat(problems, '; '))
  return actual
end

--- A fresh `dir`/cpu_bound.py showing the captured profile (known numbers, no Scalene run): returns its
--- buffer and hints ({ [line] = label }) once they are all shown. No scenario runs Scalene on a file in
--- `dir`, so whatever it shows before the load (a profile loaded earlier) has the same numbers.
local function show_captured(dir)
  local json, data = captured_copy(dir)
  local buf = fresh(dir .. '/cpu_bound.py', CPU_BOUND)
  load(json)
  return buf, wait_for_hints(buf, H.expected_hints(data))
end

--- A fresh cpu_bound.py profiled by :ScaleneProfile (so that its newest profile is from this run):
--- returns its buffer and the run's progress end and begin.
local function profiled_cpu_bound()
  local buf = fresh(cpu_path, CPU_BOUND)
  local done, begin = run_and_wait('ScaleneProfile', 'cpu_bound.py')
  check((done.value.message or ''):match('^ok '), 'the run of cpu_bound.py ended with %q', done.value.message or '')
  return buf, done, begin
end

-- Where captured profiles are shown (show_captured): project/captured/ and project/loaded/.
local captured_dir = project .. '/captured'
local loaded_dir = project .. '/loaded'

-- ---------------------------------------------------------------------------------------------------
-- The plugin as the scenarios use it (scenario 1 checks that a refused setup() changes none of this).
require('scalene').setup({
  cmd = { BIN, 'serve' },
  settings = { timeout = 300, store = { dir = store } },
  heat = { levels = LEVELS },
  keymaps = { hottest = '<Space>sh' },
})

test('1. setup() refuses bad options with a message naming them, and changes nothing', function()
  local options = vim.deepcopy(require('scalene.config').get())
  local lsp_config = vim.deepcopy(vim.lsp.config.scalene)
  local enabled = vim.lsp.is_enabled('scalene')
  local ok, err = pcall(require('scalene').setup, { heat = { levels = 1 } })
  check(not ok and tostring(err):find('heat.levels', 1, true), 'setup({heat = {levels = 1}}) gave %s', tostring(err))
  ok, err = pcall(require('scalene').setup, { colour = true })
  check(not ok and tostring(err):find('colour', 1, true), 'setup({colour = true}) gave %s', tostring(err))
  check(vim.deep_equal(require('scalene.config').get(), options), 'a refused setup() changed the options: %s', inspect1(require('scalene.config').get()))
  check(vim.deep_equal(vim.lsp.config.scalene, lsp_config), "a refused setup() changed vim.lsp.config('scalene')")
  check(vim.lsp.is_enabled('scalene') == enabled, 'a refused setup() changed whether the server is enabled')
end)

test('2. setup(): the server attaches with the settings; hints on; commands and keymap defined', function()
  local cpu_buf, client = fresh(cpu_path, CPU_BOUND)
  check(
    vim.tbl_get(client.config, 'settings', 'scalene', 'timeout') == 300
      and vim.tbl_get(client.config, 'init_options', 'timeout') == 300,
    'settings did not reach the client config: settings %s, init_options %s',
    inspect1(client.config.settings),
    inspect1(client.config.init_options)
  )
  check(vim.tbl_get(client.capabilities, 'experimental', 'scaleneLineHeat') == true, 'the client did not ask for scalene/lineHeat')
  check(vim.tbl_get(client.capabilities, 'experimental', 'scaleneRunStatus') == true, 'the client did not ask for scalene/runStatus')
  check(vim.lsp.inlay_hint.is_enabled({ bufnr = cpu_buf }), 'inlay hints are not enabled in cpu_bound.py')
  local commands = vim.api.nvim_get_commands({})
  for _, name in ipairs(COMMANDS) do
    check(commands[name], 'no :%s command', name)
  end
  local map = vim.fn.maparg('<Space>sh', 'n', false, true)
  check(map.buffer == 1 and (map.desc or ''):find('Scalene', 1, true), 'no buffer-local <Space>sh mapping: %s', inspect1(map))
end)

test('3. :ScaleneProfile runs with progress; status() reads "Scalene: N s" meanwhile; the summary is shown', function()
  local from_note = #notes
  local _, done, begin = profiled_cpu_bound()
  local run = wait_for('the runStatus end of the run', T_SETTLE, function()
    local run = statuses_of(begin.token)
    return #run > 0 and run[#run].params.phase == 'end' and run
  end)
  check(run[1].params.phase == 'begin' and run[1].params.kind == 'profile', 'the first runStatus: %s', inspect1(run[1].params))
  local during = {}
  for i = 1, #run - 1 do
    during[#during + 1] = run[i].status
  end
  check(#during > 0, 'no runStatus before the end')
  for _, status in ipairs(during) do
    check(status:match('^Scalene: starting$') or status:match('^Scalene: %d+ s$'), 'status() during the run: %q', status)
  end
  check(run[#run].status == '', 'status() after the run ended: %q', run[#run].status)
  check(run[#run].params.summary == done.value.message, 'the runStatus summary %q is not the progress end %q', run[#run].params.summary, done.value.message)
  out(('# 3: status() during the run %s; end %q'):format(inspect1(during), done.value.message or ''))
  local summary = wait_for('the summary notification', T_SETTLE, function()
    return find_note('^Scalene: cpu_bound%.py: ok in ', from_note)
  end)
  check(summary.level == vim.log.levels.INFO, 'summary level %s', tostring(summary.level))
end)

test('4. hints and diagnostics appear on the hot lines after :ScaleneProfile', function()
  local cpu_buf, done = profiled_cpu_bound()
  local hints = {}
  local ok = poll(T_SETTLE, 100, function()
    hints = shown_hints(cpu_buf)
    for line in pairs(hints) do
      if HOT_LINES[line + 1] then
        return true
      end
    end
  end)
  check(ok, 'no inlay hint on a hot line (7, 8, 13, 15): %s (end: %q)', describe_lines(hints), done.value.message or '')
  for line, label in pairs(hints) do
    check(H.label_ok(label), 'hint on line %d has label %q', line + 1, label)
  end
  wait_for('a cpu-hotspot diagnostic on a hot line', T_SETTLE, function()
    for _, d in ipairs(scalene_diagnostics(cpu_buf)) do
      if d.code == 'cpu-hotspot' and HOT_LINES[d.lnum + 1] then
        return true
      end
    end
  end)
  out('# 4: hints ' .. describe_lines(hints))
end)

--- The 0-based lines with the highest CPU among the hints.
local function hottest_hint_lines(by_line)
  local best, lines = -1, {}
  for line, label in pairs(by_line) do
    local cpu = tonumber(label:match('^(%d+%.%d)%% CPU'))
    if cpu and cpu > best then
      best, lines = cpu, { line }
    elseif cpu and cpu == best then
      lines[#lines + 1] = line
    end
  end
  return lines, best
end

test(('5. heat: hot lines highlighted, the hottest at ScaleneHeat%d; a user colour kept'):format(LEVELS), function()
  local cpu_buf, hints = show_captured(captured_dir)
  local levels = {}
  wait_for('heat highlights on cpu_bound.py', T_SETTLE, function()
    levels = heat_levels(cpu_buf)
    return next(levels) ~= nil
  end)
  for line, level in pairs(levels) do
    check(type(level) == 'number' and level >= 1 and level <= LEVELS, 'line %d: highlight %s', line + 1, tostring(level))
  end
  local hottest, cpu = hottest_hint_lines(hints)
  check(#hottest > 0, 'no CPU hint to compare with: %s', describe_lines(hints))
  for _, line in ipairs(hottest) do
    check(
      levels[line] == LEVELS,
      'the hottest line %d (%.1f%% CPU) has level %s, not %d; heat %s',
      line + 1,
      cpu,
      tostring(levels[line]),
      LEVELS,
      describe_lines(levels)
    )
  end
  local top = vim.api.nvim_get_hl(0, { name = 'ScaleneHeat' .. LEVELS, link = false })
  check(top.bg, 'ScaleneHeat%d has no background colour: %s', LEVELS, inspect1(top))
  local user = vim.api.nvim_get_hl(0, { name = 'ScaleneHeat1', link = false })
  check(user.bg == USER_HEAT1, 'ScaleneHeat1 was redefined: %s', inspect1(user))
  out('# 5: heat levels ' .. describe_lines(levels))
end)

test('6. :ScaleneHottest lists the hottest lines; picking the first jumps to it', function()
  local cpu_buf, hints = show_captured(captured_dir)
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  local shown
  local original_select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    shown = { items = items, lines = vim.tbl_map(opts.format_item, items), prompt = opts.prompt }
    on_choice(items[1], 1)
  end
  -- The list comes with the server's answer: keep the stub until then.
  local ok, err = pcall(function()
    vim.cmd('ScaleneHottest')
    wait_for('the :ScaleneHottest list', T_REQUEST, function()
      return shown
    end)
  end)
  vim.ui.select = original_select
  if not ok then
    error(err, 0)
  end
  local first = shown.items[1]
  check(#shown.items > 0, 'empty list')
  out(('# 6: %q: %s'):format(shown.prompt or '', inspect1(vim.list_slice(shown.lines, 1, 3))))
  for i, item in ipairs(shown.items) do
    check(item.cpu <= first.cpu, 'item %d (%.1f%% CPU) is hotter than the first (%.1f%%)', i, item.cpu, first.cpu)
  end
  check(HOT_LINES[first.line + 1], 'the hottest item is line %d, not a hot line', first.line + 1)
  check(
    shown.lines[1]:find(first.label, 1, true) and shown.lines[1]:find('cpu_bound.py:' .. (first.line + 1), 1, true),
    'the first entry %q does not show the label %q and cpu_bound.py:%d',
    shown.lines[1],
    first.label,
    first.line + 1
  )
  local cursor = vim.api.nvim_win_get_cursor(0)
  check(vim.api.nvim_get_current_buf() == cpu_buf, 'the jump left cpu_bound.py')
  check(cursor[1] == first.line + 1, 'the cursor is on line %d, not the hottest line %d', cursor[1], first.line + 1)
  check(
    vim.list_contains(hottest_hint_lines(hints), first.line),
    'the first item (line %d) is not the hottest hinted line %s',
    first.line + 1,
    inspect1(hottest_hint_lines(hints))
  )
end)

test('7. heat follows edits; heat for an older buffer version is not drawn', function()
  local cpu_buf, hints = show_captured(captured_dir)
  local client = client_of(cpu_buf)
  local heat_before = wait_for('heat highlights on cpu_bound.py', T_SETTLE, function()
    local levels = heat_levels(cpu_buf)
    return next(levels) ~= nil and levels
  end)
  local handler = client.handlers['scalene/lineHeat']
  check(handler, 'the client has no scalene/lineHeat handler')
  -- Record the versions the server sends heat for, and still draw it.
  local received = {}
  client.handlers['scalene/lineHeat'] = function(err, params, ctx)
    received[#received + 1] = params.version
    return handler(err, params, ctx)
  end
  local function heat_for_current_version()
    local version = vim.lsp.util.buf_versions[cpu_buf]
    return wait_for('scalene/lineHeat for buffer version ' .. version, T_SETTLE, function()
      return vim.list_contains(received, version)
    end)
  end
  local ok, err = pcall(function()
    -- A late notification for an older version (its lines refer to other text): not drawn.
    local uri = vim.uri_from_bufnr(cpu_buf)
    local stale = vim.lsp.util.buf_versions[cpu_buf] - 1
    handler(nil, { uri = uri, version = stale, lines = { { line = 0, cpu = 99, peakMb = 0, heat = 1 } } }, {
      client_id = client.id,
      method = 'scalene/lineHeat',
    })
    local now = heat_levels(cpu_buf)
    check(vim.deep_equal(now, heat_before), 'stale heat was drawn: %s, was %s', describe_lines(now), describe_lines(heat_before))

    -- Two lines inserted at the top: the heat moves down with its lines.
    vim.api.nvim_buf_set_lines(cpu_buf, 0, 0, false, { '# inserted 1', '# inserted 2' })
    heat_for_current_version()
    local moved = {}
    for line, level in pairs(heat_before) do
      moved[line + 2] = level
    end
    now = heat_levels(cpu_buf)
    check(vim.deep_equal(now, moved), 'after inserting 2 lines: %s, expected %s', describe_lines(now), describe_lines(moved))

    -- An edited hot line loses its heat (the server no longer has a number for it).
    local hot = hottest_hint_lines(hints)[1] + 2
    local text = vim.api.nvim_buf_get_lines(cpu_buf, hot, hot + 1, false)[1]
    vim.api.nvim_buf_set_lines(cpu_buf, hot, hot + 1, false, { text .. '  # edited' })
    heat_for_current_version()
    now = heat_levels(cpu_buf)
    check(now[hot] == nil, 'the edited line %d still has heat: %s', hot + 1, describe_lines(now))

    -- Undone: the file's text again, and its heat.
    vim.cmd('silent undo 0')
    heat_for_current_version()
    now = heat_levels(cpu_buf)
    check(vim.deep_equal(now, heat_before), 'after undo: %s, expected %s', describe_lines(now), describe_lines(heat_before))
    check(not vim.bo[cpu_buf].modified, 'cpu_bound.py is still modified after the undo')
  end)
  client.handlers['scalene/lineHeat'] = handler
  if not ok then
    error(err, 0)
  end
end)

test('8. :ScaleneProfileCpu passes the program arguments; a bare -- is refused with the server message', function()
  local argv_buf = fresh(project .. '/argv.py', ARGV_PY)
  os.remove(argv_out)
  local done = run_and_wait('ScaleneProfileCpu --name=value plain', 'argv.py')
  local text = wait_for('argv.py to write ' .. argv_out, T_SETTLE, function()
    return vim.uv.fs_stat(argv_out) and read_file(argv_out)
  end)
  local argv = vim.json.decode(text)
  check(vim.deep_equal(argv, { '--name=value', 'plain' }), 'the program got %s', text)
  local by_line = {}
  poll(T_SETTLE, 100, function()
    by_line = shown_hints(argv_buf)
    return next(by_line) ~= nil
  end)
  check(next(by_line), 'no hint on argv.py after the CPU-only run (end: %q)', done.value.message or '')
  for line, label in pairs(by_line) do
    check(label:match('^%d+%.%d%% CPU$'), 'CPU-only run, but line %d shows %q', line + 1, label)
  end

  local from = #notes
  vim.cmd('ScaleneProfile a -- b')
  local refused = wait_for('the error for a bare --', T_REQUEST, function()
    return find_note('`%-%-`', from)
  end)
  check(refused.level == vim.log.levels.ERROR, 'shown at level %s: %q', tostring(refused.level), refused.msg)
  check(refused.msg:find('Fix:', 1, true), 'the message has no fix: %q', refused.msg)
  out(('# 8: argv %s; hints %s; refused: %q'):format(text, describe_lines(by_line), refused.msg:sub(1, 80)))
end)

test('9. :ScaleneCancel stops a 60 s run; status() is empty afterwards', function()
  os.remove(loop_marker)
  local loop_buf = open(project .. '/loop60.py')
  attached_client(loop_buf)
  local from = #progress
  vim.cmd('ScaleneProfile')
  local begin = wait_for('$/progress begin "Scalene: profiling loop60.py"', T_REQUEST, function()
    return find_begin('Scalene: profiling loop60.py', from)
  end)
  local ok, err = pcall(function()
    wait_for('loop60.py to start under Scalene (it creates loop60.started)', T_RUN, function()
      return vim.uv.fs_stat(loop_marker) ~= nil or find_end(begin.token) ~= nil
    end)
    check(not find_end(begin.token), 'the 60 s run ended before it was cancelled: %s', inspect1(find_end(begin.token)))
    check(require('scalene').status():match('^Scalene: '), 'status() while running: %q', require('scalene').status())
  end)
  -- Cancelled also after a failure, so that no 60 s run outlives this scenario.
  vim.cmd('ScaleneCancel')
  local done = wait_for('the end of the run after :ScaleneCancel', T_RUN, function()
    return find_end(begin.token)
  end)
  if not ok then
    error(err, 0)
  end
  local message = done.value.message or ''
  check(message:find('cancelled', 1, true), 'the run ended with %q, not cancelled', message)
  local ended = wait_for('the runStatus end of the cancelled run', T_SETTLE, function()
    local run = statuses_of(begin.token)
    return #run > 0 and run[#run].params.phase == 'end' and run[#run].params
  end)
  check(ended.status == 'cancelled', 'the runStatus end says %s', inspect1(ended))
  check(require('scalene').status() == '', 'status() after the cancel: %q', require('scalene').status())
  out(('# 9: end %q'):format(message))
end)

test('10. :ScaleneLoad (file completion) shows a captured profile: exact hints and heat', function()
  local loaded_json, loaded_data = captured_copy(loaded_dir)
  local loaded_py = loaded_dir .. '/cpu_bound.py'
  write_file(loaded_py, CPU_BOUND)
  H.wipe(loaded_py) -- opened after the load
  fresh(cpu_path, CPU_BOUND) -- :ScaleneLoad from another file of the project

  local completions = vim.fn.getcompletion('ScaleneLoad ' .. loaded_dir .. '/cpu_bound.j', 'cmdline')
  check(vim.list_contains(completions, loaded_json), ':ScaleneLoad completes %s to %s', loaded_dir .. '/cpu_bound.j', inspect1(completions))

  load(loaded_json)
  local loaded_buf = open(loaded_py)
  attached_client(loaded_buf)
  local actual = wait_for_hints(loaded_buf, H.expected_hints(loaded_data))
  -- The hottest line (15: 32.2% CPU) and the largest peak (13: 12.2 MB) are both at the top level.
  local levels = {}
  wait_for('heat on the loaded file', T_SETTLE, function()
    levels = heat_levels(loaded_buf)
    return levels[14] and levels[12]
  end)
  check(levels[14] == LEVELS and levels[12] == LEVELS, 'lines 13 and 15 are not at level %d: %s', LEVELS, describe_lines(levels))
  out(('# 10: hints %s; heat %s'):format(describe_lines(actual), describe_lines(levels)))
end)

test('11. :ScaleneClear removes hints, diagnostics and heat', function()
  -- Two files with a profile each, showing hints (waited for), heat and diagnostics.
  local bufs = { (show_captured(loaded_dir)), (show_captured(captured_dir)) }
  local missing
  local shown = poll(T_SETTLE, 100, function()
    missing = {}
    for _, buf in ipairs(bufs) do
      local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':~:.')
      if not next(heat_levels(buf)) then
        missing[#missing + 1] = name .. ' heat'
      end
      if #scalene_diagnostics(buf) == 0 then
        missing[#missing + 1] = name .. ' diagnostics'
      end
    end
    return #missing == 0
  end)
  check(shown, 'before :ScaleneClear, not shown: %s', table.concat(missing, ', '))
  vim.cmd('ScaleneClear')
  local left
  local ok = poll(T_SETTLE, 100, function()
    left = {}
    for _, buf in ipairs(bufs) do
      local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':~:.')
      if next(heat_levels(buf)) then
        left[#left + 1] = name .. ' heat'
      end
      if next(shown_hints(buf)) then
        left[#left + 1] = name .. ' hints'
      end
      if #scalene_diagnostics(buf) > 0 then
        left[#left + 1] = name .. ' diagnostics'
      end
    end
    return #left == 0
  end)
  check(ok, 'still shown after :ScaleneClear: %s', table.concat(left, ', '))
end)

test('12. :checkhealth scalene: binary, interpreter, Scalene and MCP endpoint OK', function()
  fresh(cpu_path, CPU_BOUND) -- the project's server is running
  local lines = checkhealth()
  local report = table.concat(lines, '\n')
  for _, pattern in ipairs({ 'OK scalene%-lsp %d+%.%d+', 'OK interpreter: ', 'OK Scalene %d', 'OK MCP endpoint http://127%.0%.0%.1:%d+' }) do
    check(#grep(lines, pattern) > 0, 'no line matching %q in:\n%s', pattern, report)
  end
  check(#grep(lines, 'ERROR') == 0, 'errors: %s', inspect1(grep(lines, 'ERROR')))
  out('# 12: ' .. inspect1(grep(lines, 'OK ')))
end)

test('13. :checkhealth scalene: a project venv without Scalene is an error with the fix', function()
  fresh(cpu_path, CPU_BOUND) -- the first project's server is running
  local bad = vim.fn.tempname() .. '-scalene-noscalene'
  vim.fn.mkdir(bad, 'p')
  write_file(bad .. '/pyproject.toml', '[project]\nname = "no-scalene"\nversion = "0"\n')
  write_file(bad .. '/cpu_bound.py', CPU_BOUND)
  local python3 = vim.fn.exepath('python3')
  check(python3 ~= '', 'python3 is not on PATH (needed to make a venv without Scalene)')
  local made = vim.system({ python3, '-m', 'venv', '--without-pip', bad .. '/.venv' }, { text = true }):wait(T_RUN)
  check(made.code == 0, 'python3 -m venv --without-pip failed: %s', made.stderr or '')
  local ok, err = pcall(function()
    local bad_buf = open(bad .. '/cpu_bound.py')
    local client = attached_client(bad_buf)
    check(client.root_dir == bad, 'the file in %s got the client of %s', bad, tostring(client.root_dir))
    local lines = checkhealth()
    local report = table.concat(lines, '\n')
    local errors = grep(lines, 'ERROR')
    check(#errors > 0, 'no ERROR in:\n%s', report)
    local scalene_error
    for _, line in ipairs(errors) do
      if line:find(bad, 1, true) and line:find('pip install scalene', 1, true) then
        scalene_error = line
      end
    end
    check(scalene_error, 'no error naming %s with the fix `pip install scalene` in:\n%s', bad, report)
    check(report:find("settings = { python =", 1, true), 'no advice to set `python` in:\n%s', report)
    check(#grep(lines, 'OK Scalene %d') > 0, 'the first project no longer reports Scalene OK:\n%s', report)
    out('# 13: ' .. scalene_error)
  end)
  -- The project without Scalene goes away again (its error would be in every later health report).
  H.wipe(bad .. '/cpu_bound.py')
  for _, c in ipairs(vim.lsp.get_clients({ name = 'scalene', _uninitialized = true })) do
    if c.root_dir == bad then
      c:stop()
      -- Gone from the client list (a stopping client is still listed, and health would ask it).
      wait_for('the server of ' .. bad .. ' to exit', T_REQUEST, function()
        return not vim.lsp.get_client_by_id(c.id)
      end)
    end
  end
  if not ok then
    error(err, 0)
  end
end)

test('14. :help scalene: the help file has valid tags for every command', function()
  -- helptags writes a tags file next to the help file: do it on a copy.
  local docroot = vim.fn.tempname() .. '-scalene-doc'
  vim.fn.mkdir(docroot .. '/doc', 'p')
  write_file(docroot .. '/doc/scalene.txt', read_file(ROOT .. '/editors/nvim/doc/scalene.txt'))
  local ok, err = pcall(vim.cmd, 'helptags ' .. vim.fn.fnameescape(docroot .. '/doc'))
  check(ok, ':helptags failed: %s', tostring(err))
  vim.opt.runtimepath:append(docroot)
  -- Every :Scalene* command the plugin defines, and at least the known ones.
  local names = vim.tbl_filter(function(name)
    return name:match('^Scalene')
  end, vim.tbl_keys(vim.api.nvim_get_commands({})))
  table.sort(names)
  for _, name in ipairs(COMMANDS) do
    check(vim.list_contains(names, name), 'no :%s command', name)
  end
  for _, name in ipairs(names) do
    ok, err = pcall(vim.cmd, 'help :' .. name)
    check(ok, ':help :%s failed: %s', name, tostring(err))
    check(vim.bo.buftype == 'help' and vim.api.nvim_buf_get_name(0):match('scalene%.txt$'), ':help :%s opened %s', name, vim.api.nvim_buf_get_name(0))
    vim.cmd('helpclose')
  end
end)


test('15. :ScaleneSaveBaseline before a profile, :ScaleneCompare before a baseline: errors with the fix', function()
  -- A file no scenario profiles, and an empty store.
  fresh(project .. '/unprofiled.py', APP_V1)
  vim.fn.delete(store, 'rf')
  local from = #notes
  vim.cmd('ScaleneSaveBaseline')
  local no_profile = wait_for('the error of :ScaleneSaveBaseline without a profile', T_REQUEST, function()
    return find_note('^Scalene: no profile covers unprofiled%.py', from)
  end)
  check(no_profile.level == vim.log.levels.ERROR, 'shown at level %s: %q', tostring(no_profile.level), no_profile.msg)
  check(no_profile.msg:find('Fix: profile it first', 1, true), 'the message has no fix: %q', no_profile.msg)

  from = #notes
  local from_progress = #progress
  vim.cmd('ScaleneCompare')
  local no_baseline = wait_for('the error of :ScaleneCompare without a baseline', T_REQUEST, function()
    return find_note('^Scalene: no saved profile is named "baseline"', from)
  end)
  check(no_baseline.level == vim.log.levels.ERROR, 'shown at level %s: %q', tostring(no_baseline.level), no_baseline.msg)
  check(no_baseline.msg:find('(saved: none)', 1, true), 'the message does not list the saved profiles: %q', no_baseline.msg)
  check(no_baseline.msg:find(':ScaleneSaveBaseline', 1, true), 'the message does not name :ScaleneSaveBaseline: %q', no_baseline.msg)
  check(not find_begin('Scalene: profiling unprofiled.py', from_progress), 'a run started without a baseline')
  check(not vim.uv.fs_stat(store .. '/baseline.json'), 'a baseline was saved')
  out(('# 15: %q'):format(no_baseline.msg))
end)

--- The scalene diagnostics of a buffer with one of these codes.
local function with_code(buf, codes)
  return vim.tbl_filter(function(d)
    return vim.list_contains(codes, d.code)
  end, scalene_diagnostics(buf))
end

--- The 0-based lines of slow() in app.py's current text: `def` to `return`.
local function slow_lines(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local first
  for i, line in ipairs(lines) do
    if line == 'def slow(n):' then
      first = i - 1
    elseif first and line == '    return total' then
      return first, i - 1
    end
  end
  H.fail('no slow() in app.py: %s', inspect1(lines))
end

--- Replaces app.py's text in its buffer (not written: :ScaleneProfile and :ScaleneCompare write it).
local function set_app_text(buf, text)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text:gsub('\n$', ''), '\n', { plain = true }))
end

--- :ScaleneProfileCpu on app.py; fails unless the run ended well.
local function profile_app()
  local done = run_and_wait('ScaleneProfileCpu', 'app.py')
  check((done.value.message or ''):match('^ok '), 'the run of app.py ended with %q', done.value.message or '')
end

--- A fresh app.py (version 1), profiled, its profile saved as `baseline` by :ScaleneSaveBaseline; returns
--- its buffer.
local function app_with_baseline()
  local app_buf = fresh(project .. '/app.py', APP_V1)
  profile_app()
  wait_for('cpu-hotspot diagnostics on app.py', T_SETTLE, function()
    return #with_code(app_buf, { 'cpu-hotspot' }) > 0
  end)
  local from = #notes
  vim.cmd('ScaleneSaveBaseline')
  local saved = wait_for('the "saved" message', T_REQUEST, function()
    return find_note('^Scalene: saved ', from)
  end)
  local saved_path = vim.fn.fnamemodify(store .. '/baseline.json', ':~')
  check(saved.msg == ('Scalene: saved baseline (%s)'):format(saved_path), 'the message is %q', saved.msg)
  check(vim.uv.fs_stat(store .. '/baseline.json'), 'no %s', store .. '/baseline.json')
  return app_buf
end

test('16. :ScaleneSaveBaseline, a 6x slower slow(), :ScaleneCompare: a run, then regression diagnostics and hints; :ScaleneExitCompare: plain again', function()
  local app_buf = app_with_baseline()

  -- The user changes the program (not written yet: :ScaleneCompare writes it, like :ScaleneProfile).
  set_app_text(app_buf, APP_V2)
  local from = #notes
  local from_progress, from_messages = #progress, #messages
  vim.cmd('ScaleneCompare')
  local started = wait_for('the "profiling ... to compare" message', T_REQUEST, function()
    return find_note('^Scalene: profiling app%.py to compare it with baseline `baseline` %(run%-%d+%)$', from)
  end)
  check(not vim.bo[app_buf].modified and read_file(project .. '/app.py') == APP_V2, ':ScaleneCompare did not write app.py first')
  local begin = wait_for('$/progress begin of the compare run', T_REQUEST, function()
    return find_begin('Scalene: profiling app.py', from_progress)
  end)
  local done = wait_for('the end of the compare run', T_RUN, function()
    return find_end(begin.token)
  end)
  check((done.value.message or ''):match('^ok '), 'the compare run ended with %q', done.value.message or '')
  local message = wait_for("the server's comparison message", T_SETTLE, function()
    return find_message('Scalene: app%.py compared with baseline `baseline`: ', from_messages)
  end)
  check(message.type == vim.lsp.protocol.MessageType.Warning, 'a regression shown as type %s', tostring(message.type))
  check(message.message:find('slow (app.py:', 1, true), 'the comparison does not name slow(): %q', message.message)

  local first, last = slow_lines(app_buf)
  local regressions = wait_for('a cpu-regression diagnostic in slow()', T_SETTLE, function()
    local found = vim.tbl_filter(function(d)
      return d.lnum >= first and d.lnum <= last
    end, with_code(app_buf, { 'cpu-regression' }))
    return #found > 0 and found
  end)
  check(regressions[1].severity == vim.diagnostic.severity.WARN, 'severity %s', tostring(regressions[1].severity))
  check(
    regressions[1].message:find('slower than baseline `baseline`: ', 1, true),
    'the diagnostic says %q',
    regressions[1].message
  )
  check(#with_code(app_buf, { 'cpu-hotspot' }) == 0, 'plain cpu-hotspot diagnostics in compare mode')
  local hints = {}
  local delta_hint = poll(T_SETTLE, 100, function()
    hints = shown_hints(app_buf)
    for line, label in pairs(hints) do
      if line >= first and line <= last and label:match('^%+%d+%.%d+ s CPU %(%+') then
        return true
      end
    end
  end)
  check(
    delta_hint,
    'no "+N s CPU (+N%%)" hint in slow() (lines %d-%d): %s; diagnostics %s; %q',
    first + 1,
    last + 1,
    describe_lines(hints),
    inspect1(vim.tbl_map(function(d)
      return { d.lnum + 1, d.code }
    end, scalene_diagnostics(app_buf))),
    message.message
  )
  out(('# 16: %q; %q; hints %s'):format(message.message, regressions[1].message, describe_lines(hints)))

  from = #notes
  vim.cmd('ScaleneExitCompare')
  wait_for('the "left compare mode" message', T_REQUEST, function()
    return find_note('^Scalene: left compare mode$', from)
  end)
  local ok = poll(T_SETTLE, 100, function()
    hints = shown_hints(app_buf)
    local plain = next(hints) ~= nil
    for _, label in pairs(hints) do
      plain = plain and H.label_ok(label)
    end
    return plain
      and #with_code(app_buf, { 'cpu-regression', 'memory-regression', 'improvement' }) == 0
      and #with_code(app_buf, { 'cpu-hotspot' }) > 0
  end)
  check(
    ok,
    'not plain after :ScaleneExitCompare: hints %s, diagnostics %s',
    describe_lines(hints),
    inspect1(vim.tbl_map(function(d)
      return d.code
    end, scalene_diagnostics(app_buf)))
  )
end)

test('17. :ScaleneCompare on an unchanged file compares at once (a warning naming the regression); exit twice', function()
  local app_buf = app_with_baseline()
  set_app_text(app_buf, APP_V2)
  profile_app() -- its newest profile is of the text as it is
  local from, from_progress = #notes, #progress
  vim.cmd('ScaleneCompare baseline')
  local note = wait_for('the comparison message', T_REQUEST, function()
    return find_note('^Scalene: app%.py compared with baseline `baseline`: ', from)
  end)
  check(note.level == vim.log.levels.WARN, 'a regression shown at level %s: %q', tostring(note.level), note.msg)
  check(note.msg:find('slow (app.py:', 1, true), 'the message does not name slow(): %q', note.msg)
  check(not find_begin('Scalene: profiling app.py', from_progress), 'it profiled again')
  wait_for('cpu-regression diagnostics again', T_SETTLE, function()
    return #with_code(app_buf, { 'cpu-regression' }) > 0
  end)
  from = #notes
  vim.cmd('ScaleneExitCompare')
  wait_for('the "left compare mode" message', T_REQUEST, function()
    return find_note('^Scalene: left compare mode$', from)
  end)
  vim.cmd('ScaleneExitCompare')
  wait_for('the "not in compare mode" message', T_REQUEST, function()
    return find_note('^Scalene: not in compare mode$', from)
  end)
  out(('# 17: %q'):format(note.msg))
end)

--- Runs fn(), which sets spin_begin to its run's progress begin; whatever happens, spin.py is then told
--- to stop, and after a failure its end is awaited (so that no run outlives a failed test).
local spin_begin
local function stopping_spin(fn)
  os.remove(spin_stop)
  spin_begin = nil
  local ok, err = pcall(fn)
  write_file(spin_stop, '')
  if not ok then
    local begin = spin_begin
    if begin then
      vim.wait(T_RUN, function()
        return find_end(begin.token) ~= nil
      end, 50)
    end
    error(err, 0)
  end
end

test('18. :ScaleneProfileLive: hints while the run goes on; :ScalenePause/:ScaleneResume say the recording state', function()
  local spin_buf = fresh(project .. '/spin.py', SPIN_PY)
  local begin, hints
  local from_note = #notes
  stopping_spin(function()
    local from_progress = #progress
    vim.cmd('ScaleneProfileLive')
    begin = wait_for('$/progress begin of the live run', T_REQUEST, function()
      return find_begin('Scalene: profiling spin.py', from_progress)
    end)
    spin_begin = begin
    check(begin.value.title == 'Scalene: profiling spin.py live', 'the title is %q', begin.value.title or '')
    hints = {}
    poll(T_RUN, 100, function()
      hints = shown_hints(spin_buf)
      return next(hints) ~= nil or find_end(begin.token) ~= nil
    end)
    check(not find_end(begin.token), 'the run ended before a hint was shown: %s', inspect1(find_end(begin.token)))
    check(next(hints), 'no hint while the run goes on')
    for line, label in pairs(hints) do
      check(H.label_ok(label), 'hint on line %d has label %q', line + 1, label)
    end
    wait_for('"hottest so far" in status()', T_SETTLE, function()
      return require('scalene').status():find(' · hottest so far: spin.py:', 1, true)
    end)

    -- The server answers at once; the status line shows when Scalene confirmed the pause.
    local from = #notes
    vim.cmd('ScalenePause')
    local paused = wait_for('the "pausing recording" message', T_REQUEST, function()
      return find_note('^Scalene: run%-%d+ pausing recording$', from) or find_note('^Scalene: run%-%d+ recording paused$', from)
    end)
    wait_for('"recording paused" in status()', T_SETTLE, function()
      local status = require('scalene').status()
      return status:find(' · recording paused', 1, true) and not status:find('pausing recording', 1, true)
    end)
    from = #notes
    vim.cmd('ScalenePause')
    wait_for('the "already paused" message', T_REQUEST, function()
      return find_note('^Scalene: run%-%d+ already paused$', from)
    end)
    from = #notes
    vim.cmd('ScaleneResume')
    local resumed = wait_for('the "resuming recording" message', T_REQUEST, function()
      return find_note('^Scalene: run%-%d+ resuming recording$', from) or find_note('^Scalene: run%-%d+ recording resumed$', from)
    end)
    check(resumed.level == vim.log.levels.INFO, 'shown at level %s', tostring(resumed.level))
    check(paused.msg:match('run%-%d+') == resumed.msg:match('run%-%d+'), '%q and %q name other runs', paused.msg, resumed.msg)
    out(('# 18: hints %s; %q; %q'):format(describe_lines(hints), paused.msg, resumed.msg))
  end)
  local done = wait_for('the end of the live run', T_RUN, function()
    return find_end(begin.token)
  end)
  check((done.value.message or ''):match('^ok in .* · hottest: spin%.py:'), 'the live run ended with %q', done.value.message or '')
  check(require('scalene').status() == '', 'status() after the run: %q', require('scalene').status())
  -- The summary names the file, not "spin.py live".
  wait_for('the summary notification of the live run', T_SETTLE, function()
    return find_note('^Scalene: spin%.py: ok in ', from_note)
  end)
end)

test('19. :ScaleneProfileLive! starts with recording paused; :ScaleneResume records', function()
  local spin_buf = fresh(project .. '/spin.py', SPIN_PY)
  local begin
  stopping_spin(function()
    local from_progress = #progress
    vim.cmd('ScaleneProfileLive!')
    begin = wait_for('$/progress begin of the live run', T_REQUEST, function()
      return find_begin('Scalene: profiling spin.py live', from_progress)
    end)
    spin_begin = begin
    wait_for('"recording paused" in status()', T_SETTLE, function()
      return require('scalene').status():find(' · recording paused', 1, true) or find_end(begin.token)
    end)
    check(not find_end(begin.token), 'the run ended: %s', inspect1(find_end(begin.token)))
    local from = #notes
    vim.cmd('ScaleneResume')
    local resumed = wait_for('the "resuming recording" message', T_REQUEST, function()
      return find_note('^Scalene: run%-%d+ resuming recording$', from) or find_note('^Scalene: run%-%d+ recording resumed$', from)
    end)
    -- What the resumed recording saw, in the statusline (from a new live snapshot).
    local status = wait_for('status() with "hottest so far" and no "recording paused"', T_SETTLE, function()
      local text = require('scalene').status()
      return not text:find('recording', 1, true) and text:find(' · hottest so far: spin.py:', 1, true) and text
    end)
    out(('# 19: %q; status %q'):format(resumed.msg, status))
  end)
  local done = wait_for('the end of the live run', T_RUN, function()
    return find_end(begin.token)
  end)
  check((done.value.message or ''):match('^ok in .* · hottest: spin%.py:'), 'the live run ended with %q', done.value.message or '')
end)

test('20. where the server is not attached, an action says why and what to do; one about the newest run still reaches the server', function()
  fresh(cpu_path, CPU_BOUND) -- the server is running
  vim.cmd('enew')
  local scratch = vim.api.nvim_get_current_buf()
  vim.bo[scratch].filetype = 'text'
  local ok, err = pcall(function()
    check(not client_of(scratch), 'the server attached to a text buffer')
    local from = #notes
    pcall(vim.cmd, 'ScaleneProfile') -- an error shown while a command runs raises it, as :echoerr does
    local note = find_note('^Scalene: ', from)
    local want = 'Scalene: scalene-lsp is not attached to this buffer (filetype "text"). Fix: run this in a Python buffer.'
    check(note and note.msg == want and note.level == vim.log.levels.ERROR, ':ScaleneProfile said %s', inspect1(note))
    from = #notes
    vim.cmd('ScaleneExitCompare')
    wait_for('the answer to :ScaleneExitCompare', T_REQUEST, function()
      return find_note('^Scalene: not in compare mode$', from) or find_note('^Scalene: left compare mode$', from)
    end)
  end)
  vim.api.nvim_buf_delete(scratch, { force = true })
  if not ok then
    error(err, 0)
  end
end)

test('21. :ScaleneCallers after a real run lists both callers of a helper, costliest first, at their call sites', function()
  local dir = project .. '/calls'
  vim.fn.mkdir(dir, 'p')
  local main_text = read_file(ROOT .. '/fixtures/programs/call_paths/main.py')
  local helpers_text = read_file(ROOT .. '/fixtures/programs/call_paths/helpers.py')
  fresh(dir .. '/helpers.py', helpers_text)
  fresh(dir .. '/main.py', main_text)
  local finish = run_and_wait('ScaleneProfileCpu', 'main.py')
  check(finish.value.message and finish.value.message:find('^ok'), 'the run ended %s', inspect1(finish.value))
  local helpers_buf = open(dir .. '/helpers.py')
  attached_client(helpers_buf)
  local loop = vim.fn.search('total += i \\* i % 7')
  check(loop > 0, 'the loop line of score() is in helpers.py')
  vim.api.nvim_win_set_cursor(0, { loop, 8 })
  vim.fn.setqflist({}, 'r', { title = 'none', items = {} })
  vim.cmd('ScaleneCallers')
  local qf = wait_for('the callers in the quickfix list', T_REQUEST, function()
    local got = vim.fn.getqflist({ title = 1, items = 1 })
    return got.title:find('callers of score', 1, true) and got
  end)
  local lines = vim.split(main_text, '\n', { plain = true })
  local function line_of(needle)
    for i, line in ipairs(lines) do
      if line:find(needle, 1, true) then
        return i
      end
    end
  end
  local texts = vim.tbl_map(function(entry)
    return entry.text
  end, qf.items)
  out(('# 21: %s'):format(inspect1(texts)))
  check(#qf.items == 2, 'two callers: %s', inspect1(texts))
  check(qf.items[1].text:find('^heavy_batch: ') and qf.items[2].text:find('^light_batch: '), 'heavy_batch first: %s', inspect1(texts))
  check(qf.items[1].lnum == line_of('score(2_700_000)') and qf.items[2].lnum == line_of('score(900_000)'), 'at the call sites: %s', inspect1(qf.items))
  check(vim.api.nvim_buf_get_name(qf.items[1].bufnr):find('/calls/main.py$'), 'in main.py')
  check(qf.items[1].text:find('%% of CPU through this call'), 'with its share: %s', qf.items[1].text)
  vim.cmd('cclose')
  -- :ScaleneExport writes the same profile's call paths (folded stacks: heavy_batch's line heavier).
  local folded = dir .. '/calls.collapsed.txt'
  vim.cmd('ScaleneExport collapsed ' .. vim.fn.fnameescape(folded))
  wait_for('the collapsed stacks written', T_REQUEST, function()
    return vim.fn.filereadable(folded) == 1
  end)
  local weights = { heavy = 0, light = 0 }
  for _, line in ipairs(vim.fn.readfile(folded)) do
    local stack, count = line:match('^(.*) (%d+)$')
    check(stack, 'a folded line: %s', line)
    if stack:find('heavy_batch', 1, true) and stack:find('score', 1, true) then
      weights.heavy = weights.heavy + tonumber(count)
    elseif stack:find('light_batch', 1, true) and stack:find('score', 1, true) then
      weights.light = weights.light + tonumber(count)
    end
  end
  out(('# 21 export: %s'):format(inspect1(weights)))
  check(weights.heavy > weights.light and weights.light > 0, 'score through heavy_batch outweighs light_batch: %s', inspect1(weights))
end)


test('22. :ScaleneAttach lists the running Python processes (vim.ui.select), attaches to a web server started from a terminal; requests light up its handler, labelled py-spy; :ScaleneDetach ends it and the server keeps serving', function()
  local script = project .. '/web_server.py'
  write_file(script, read_file(ROOT .. '/fixtures/programs/slow_server.py'))
  local port_file = project .. '/web_server.port'
  os.remove(port_file)
  local target = vim.system({ PYTHON, script, port_file }, { cwd = project })
  local requests = {}
  --- One GET, sent by a Python client in the background (Neovim answers the server meanwhile).
  local function send_request()
    local port = read_file(port_file)
    local code = 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode(), end="")'
    table.insert(requests, vim.system({ PYTHON, '-c', code, 'http://127.0.0.1:' .. port .. '/' }, { text = true }))
  end
  local ok, err = pcall(function()
    wait_for('the web server to listen', T_REQUEST, function()
      return vim.uv.fs_stat(port_file)
    end)
    local buf = open(script)
    local client = attached_client(buf)
    local shown
    local original_select = vim.ui.select
    vim.ui.select = function(items, opts, on_choice)
      shown = { items = items, lines = vim.tbl_map(opts.format_item, items) }
      for i, item in ipairs(items) do
        if item.pid == target.pid then
          return on_choice(item, i)
        end
      end
      on_choice(nil, nil)
    end
    local from = #progress
    local picked, pick_err = pcall(function()
      -- The target may still be starting: pick it once the server lists it.
      wait_for('the target in the process list', T_REQUEST, function()
        shown = nil
        vim.cmd('ScaleneAttach')
        wait_for('the :ScaleneAttach list', T_REQUEST, function()
          return shown
        end)
        return vim.iter(shown.items):any(function(item)
          return item.pid == target.pid
        end)
      end)
    end)
    vim.ui.select = original_select
    if not picked then
      error(pick_err, 0)
    end
    out(('# 22: %s'):format(inspect1(vim.list_slice(shown.lines, 1, 2))))
    local begin = wait_for('$/progress begin "Scalene: attached to"', T_REQUEST, function()
      return find_begin('Scalene: attached to ' .. target.pid, from)
    end)
    local line = nil
    for i, text in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
      if text:find('total = (total * 31 + i) % 1_000_003', 1, true) and not line then
        line = i - 1
      end
    end
    -- Requests while attached: the handler's checksum loop gets a hint.
    wait_for('a hint on the handler\'s loop line', T_RUN, function()
      if #vim.tbl_filter(function(request)
        return not request:is_closing()
      end, requests) == 0 then
        send_request()
      end
      return shown_hints(buf)[line]
    end)
    local hover = client:request_sync('textDocument/hover', {
      textDocument = { uri = vim.uri_from_bufnr(buf) },
      position = { line = line, character = 8 },
    }, T_REQUEST, buf)
    local text = hover and hover.result and hover.result.contents and hover.result.contents.value or ''
    check(text:find('py-spy', 1, true) and text:find('pid ' .. target.pid, 1, true), 'the hover says py-spy sampled it: %q', text:sub(1, 200))
    vim.cmd('ScaleneDetach')
    wait_for('the end of the attach', T_REQUEST, function()
      return find_end(begin.token)
    end)
    local stat = read_file('/proc/' .. target.pid .. '/stat')
    local state = stat:match('%) (%a)')
    check(state ~= 'T' and state ~= 't', 'the target is stopped (%s) after :ScaleneDetach', state)
    for _, request in ipairs(requests) do
      request:wait(30000)
    end
    requests = {}
    send_request()
    local answer = requests[1]:wait(30000)
    check(answer.code == 0 and answer.stdout:match('^checksum %d+'), 'the server answers after :ScaleneDetach: %s %q', answer.code, answer.stdout .. answer.stderr)
  end)
  for _, request in ipairs(requests) do
    request:kill(9)
  end
  target:kill(9)
  if not ok then
    error(err, 0)
  end
end)

test('23. :ScaleneProfileTests runs a pytest suite once; :ScaleneTests lists its slowest tests with their hot lines', function()
  local dir = project .. '/suite_tests'
  vim.fn.mkdir(dir, 'p')
  write_file(dir .. '/work_nv.py', 'def burn(n):\n    total = 0\n    for i in range(n):\n        total += i * i % 7\n    return total\n')
  write_file(dir .. '/test_nv.py', table.concat({
    'import os, sys',
    'sys.path.insert(0, os.path.dirname(__file__))',
    'from work_nv import burn',
    '',
    '',
    'def test_heavy():',
    '    assert burn(6_000_000) >= 0',
    '',
    '',
    'def test_light():',
    '    assert burn(1_000_000) >= 0',
    '',
  }, '\n'))
  local buf = fresh(dir .. '/test_nv.py', read_file(dir .. '/test_nv.py'))
  local from = #progress
  vim.cmd('ScaleneProfileTests suite_tests/test_nv.py')
  local begin = wait_for('$/progress begin "Scalene: profiling the pytest suite"', T_REQUEST, function()
    return find_begin('Scalene: profiling the pytest suite', from)
  end)
  local finish = wait_for('the end of the suite run', T_RUN, function()
    return find_end(begin.token)
  end)
  check(finish.value.message and finish.value.message:find('^ok'), 'the run ended %s', inspect1(finish.value))
  vim.fn.setqflist({}, 'r', { title = 'none', items = {} })
  vim.cmd('ScaleneTests')
  local qf = wait_for('the tests in the quickfix list', T_REQUEST, function()
    local got = vim.fn.getqflist({ title = 1, items = 1 })
    return got.title:find('slowest tests', 1, true) and got
  end)
  local texts = vim.tbl_map(function(entry)
    return entry.text
  end, qf.items)
  out(('# 23: %s'):format(inspect1(texts)))
  check(qf.items[1].text:find('test_nv.py::test_heavy$'), 'the heavy test first: %s', inspect1(texts))
  check(qf.items[1].lnum == 6 and vim.api.nvim_buf_get_name(qf.items[1].bufnr):find('/suite_tests/test_nv.py$'), 'at its def: %s', inspect1(qf.items[1]))
  check(qf.items[2].text:find('total += i * i % 7', 1, true) and vim.api.nvim_buf_get_name(qf.items[2].bufnr):find('/work_nv.py$'), 'then its hot line: %s', inspect1(texts))
  vim.cmd('cclose')
  local lenses = wait_for('a cost lens on test_heavy', T_REQUEST, function()
    local found = {}
    for _, lens in ipairs(vim.lsp.codelens.get(buf)) do
      if lens.command and lens.command.title:find('of suite', 1, true) then
        found[#found + 1] = lens
      end
    end
    if #found == 0 then
      vim.lsp.codelens.refresh({ bufnr = buf })
    end
    return #found > 0 and found
  end)
  check(#lenses == 2, 'a lens above each test: %s', inspect1(lenses))
end)

H.finish()
