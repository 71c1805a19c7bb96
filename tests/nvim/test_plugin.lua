-- Headless Neovim (0.11+) test of the editors/nvim plugin through require('scalene').setup(): the
-- :Scalene* commands, inlay hints, diagnostics, the heat map, :ScaleneHottest, status() and
-- :checkhealth scalene, against the real server and real Scalene.
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

-- ---------------------------------------------------------------------------------------------------
-- Project: a temp dir with a pyproject.toml, a .venv (a link to the venv with Scalene: the server finds
-- it the way it finds a user's), cpu_bound.py, a program that records its arguments, a 60 s loop.
local project = vim.fn.tempname() .. '-scalene-plugin'
vim.fn.mkdir(project, 'p')
write_file(project .. '/pyproject.toml', '[project]\nname = "scalene-nvim-plugin-test"\nversion = "0"\n')
write_file(project .. '/cpu_bound.py', read_file(ROOT .. '/fixtures/programs/cpu_bound.py'))
assert(vim.uv.fs_symlink(vim.fn.fnamemodify(PYTHON, ':h:h'), project .. '/.venv'))

local argv_out = project .. '/argv.json'
write_file(
  project .. '/argv.py',
  table.concat({
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
)

local loop_marker = H.write_loop_program(project)

-- ---------------------------------------------------------------------------------------------------
-- Editor: a UI is attached, so that Neovim redraws and draws inlay hints as in a terminal (headless
-- Neovim still writes messages to stderr itself: the UI only needs to exist); the plugin is loaded as a
-- plugin manager does (runtimepath + plugin/), then setup().
vim.ui_attach(vim.api.nvim_create_namespace('scalene.test.ui'), { ext_messages = true }, function() end)

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

-- ---------------------------------------------------------------------------------------------------
test('1. setup() refuses bad options with a message naming them', function()
  local ok, err = pcall(require('scalene').setup, { heat = { levels = 1 } })
  check(not ok and tostring(err):find('heat.levels', 1, true), 'setup({heat = {levels = 1}}) gave %s', tostring(err))
  ok, err = pcall(require('scalene').setup, { colour = true })
  check(not ok and tostring(err):find('colour', 1, true), 'setup({colour = true}) gave %s', tostring(err))
  check(not vim.lsp.is_enabled('scalene'), 'a refused setup() enabled the server')
end)

require('scalene').setup({
  cmd = { BIN, 'serve' },
  settings = { timeout = 300 },
  heat = { levels = LEVELS },
  keymaps = { hottest = '<Space>sh' },
})

local cpu_buf = open(project .. '/cpu_bound.py')

test('2. setup(): the server attaches with the settings; hints on; commands and keymap defined', function()
  local client = attached_client(cpu_buf)
  check(
    vim.tbl_get(client.config, 'settings', 'scalene', 'timeout') == 300
      and vim.tbl_get(client.config, 'init_options', 'timeout') == 300,
    'settings did not reach the client config: settings %s, init_options %s',
    inspect1(client.config.settings),
    inspect1(client.config.init_options)
  )
  check(vim.tbl_get(client.capabilities, 'experimental', 'scaleneLineHeat') == true, 'the client did not ask for scalene/lineHeat')
  check(vim.lsp.inlay_hint.is_enabled({ bufnr = cpu_buf }), 'inlay hints are not enabled in cpu_bound.py')
  local commands = vim.api.nvim_get_commands({})
  for _, name in ipairs({ 'ScaleneProfile', 'ScaleneProfileCpu', 'ScaleneCancel', 'ScaleneClear', 'ScaleneLoad', 'ScaleneHottest' }) do
    check(commands[name], 'no :%s command', name)
  end
  local map = vim.fn.maparg('<Space>sh', 'n', false, true)
  check(map.buffer == 1 and (map.desc or ''):find('Scalene', 1, true), 'no buffer-local <Space>sh mapping: %s', inspect1(map))
end)

local profiled -- the cpu_bound.py run's progress end (test 3)

test('3. :ScaleneProfile runs with progress; status() reads "Scalene: N s" meanwhile; the summary is shown', function()
  local from_note = #notes
  local done, begin = run_and_wait('ScaleneProfile', 'cpu_bound.py')
  profiled = done
  local during = {}
  for _, p in ipairs(progress) do
    if p.token == begin.token and p.value.kind ~= 'end' then
      during[#during + 1] = p.status
    end
  end
  check(#during > 0, 'no progress event before the end')
  for _, status in ipairs(during) do
    check(status:match('^Scalene: starting$') or status:match('^Scalene: %d+ s$'), 'status() during the run: %q', status)
  end
  check(done.status == '', 'status() after the run ended: %q', done.status)
  out(('# 3: status() during the run %s; end %q'):format(inspect1(during), done.value.message or ''))
  local summary = wait_for('the summary notification', T_SETTLE, function()
    return find_note('^Scalene: cpu_bound%.py: ok in ', from_note)
  end)
  check(summary.level == vim.log.levels.INFO, 'summary level %s', tostring(summary.level))
end)

local hints -- { [line] = label } on cpu_bound.py (test 4)

test('4. hints and diagnostics appear on the hot lines', function()
  check(profiled, 'no profile (test 3 failed)')
  local ok = poll(T_SETTLE, 100, function()
    hints = shown_hints(cpu_buf)
    for line in pairs(hints) do
      if HOT_LINES[line + 1] then
        return true
      end
    end
  end)
  check(ok, 'no inlay hint on a hot line (7, 8, 13, 15): %s', describe_lines(hints))
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

local heat_before -- cpu_bound.py's heat map (test 5)

test(('5. heat: hot lines highlighted, the hottest at ScaleneHeat%d; a user colour kept'):format(LEVELS), function()
  check(hints, 'no hints (test 4 failed)')
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
  heat_before = levels
  out('# 5: heat levels ' .. describe_lines(levels))
end)

test('6. :ScaleneHottest lists the hottest lines; picking the first jumps to it', function()
  check(hints, 'no hints (test 4 failed)')
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
  local client = client_of(cpu_buf)
  check(client and heat_before, 'no client or no heat (test 5 failed)')
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
  local argv_buf = open(project .. '/argv.py')
  attached_client(argv_buf)
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
  vim.api.nvim_set_current_buf(cpu_buf)
end)

test('9. :ScaleneCancel stops a 60 s run; status() is empty afterwards', function()
  local loop_buf = open(project .. '/loop60.py')
  attached_client(loop_buf)
  local from = #progress
  vim.cmd('ScaleneProfile')
  local begin = wait_for('$/progress begin "Scalene: profiling loop60.py"', T_REQUEST, function()
    return find_begin('Scalene: profiling loop60.py', from)
  end)
  wait_for('loop60.py to start under Scalene (it creates loop60.started)', T_RUN, function()
    return vim.uv.fs_stat(loop_marker) ~= nil or find_end(begin.token) ~= nil
  end)
  check(not find_end(begin.token), 'the 60 s run ended before it was cancelled: %s', inspect1(find_end(begin.token)))
  check(require('scalene').status():match('^Scalene: '), 'status() while running: %q', require('scalene').status())
  vim.cmd('ScaleneCancel')
  local done = wait_for('the end of the run after :ScaleneCancel', T_RUN, function()
    return find_end(begin.token)
  end)
  local message = done.value.message or ''
  check(message:find('cancelled', 1, true), 'the run ended with %q, not cancelled', message)
  check(require('scalene').status() == '', 'status() after the cancel: %q', require('scalene').status())
  out(('# 9: end %q'):format(message))
  vim.api.nvim_set_current_buf(cpu_buf)
end)

-- The captured profile of cpu_bound.py, pointed at a copy in the project (project/loaded/).
local loaded_dir = project .. '/loaded'
local loaded_py = loaded_dir .. '/cpu_bound.py'
local loaded_json, loaded_data
local loaded_buf

test('10. :ScaleneLoad (file completion) shows a captured profile: exact hints and heat', function()
  vim.fn.mkdir(loaded_dir, 'p')
  write_file(loaded_py, read_file(ROOT .. '/fixtures/programs/cpu_bound.py'))
  local json_path = ROOT .. '/fixtures/scalene/2.4.0/cpu_bound.json'
  local data = vim.json.decode(read_file(json_path), { luanil = { object = true, array = true } })
  local from_dir = data.program:match('^(.*/fixtures/programs)/cpu_bound%.py$')
  check(from_dir, 'unexpected program in %s: %s', json_path, data.program)
  loaded_json, loaded_data = H.relocated_profile(json_path, from_dir, loaded_dir, loaded_dir .. '/cpu_bound.json')
  check(loaded_data.program == loaded_py, 'the relocated JSON names %s', loaded_data.program)

  local completions = vim.fn.getcompletion('ScaleneLoad ' .. loaded_dir .. '/cpu_bound.j', 'cmdline')
  check(vim.list_contains(completions, loaded_json), ':ScaleneLoad completes %s to %s', loaded_dir .. '/cpu_bound.j', inspect1(completions))

  local from = #notes
  vim.cmd('ScaleneLoad ' .. vim.fn.fnameescape(loaded_json))
  wait_for('the "loaded" message', T_REQUEST, function()
    return find_note('^Scalene: loaded ', from)
  end)
  loaded_buf = open(loaded_py)
  attached_client(loaded_buf)
  local expected = H.expected_hints(loaded_data)
  local actual, problems = {}, {}
  poll(T_SETTLE, 100, function()
    actual = shown_hints(loaded_buf)
    problems = H.compare(expected, actual)
    return #problems == 0
  end)
  check(#problems == 0, '%s', table.concat(problems, '; '))
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
  check(loaded_buf, 'no loaded buffer (test 10 failed)')
  vim.cmd('ScaleneClear')
  local left
  local ok = poll(T_SETTLE, 100, function()
    left = {}
    for _, buf in ipairs({ cpu_buf, loaded_buf }) do
      local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':t')
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
  vim.api.nvim_set_current_buf(cpu_buf)
end)

test('12. :checkhealth scalene: binary, interpreter, Scalene and MCP endpoint OK', function()
  local lines = checkhealth()
  local report = table.concat(lines, '\n')
  for _, pattern in ipairs({ 'OK scalene%-lsp %d+%.%d+', 'OK interpreter: ', 'OK Scalene %d', 'OK MCP endpoint http://127%.0%.0%.1:%d+' }) do
    check(#grep(lines, pattern) > 0, 'no line matching %q in:\n%s', pattern, report)
  end
  check(#grep(lines, 'ERROR') == 0, 'errors: %s', inspect1(grep(lines, 'ERROR')))
  out('# 12: ' .. inspect1(grep(lines, 'OK ')))
end)

test('13. :checkhealth scalene: a project venv without Scalene is an error with the fix', function()
  local bad = vim.fn.tempname() .. '-scalene-noscalene'
  vim.fn.mkdir(bad, 'p')
  write_file(bad .. '/pyproject.toml', '[project]\nname = "no-scalene"\nversion = "0"\n')
  write_file(bad .. '/cpu_bound.py', read_file(ROOT .. '/fixtures/programs/cpu_bound.py'))
  local python3 = vim.fn.exepath('python3')
  check(python3 ~= '', 'python3 is not on PATH (needed to make a venv without Scalene)')
  local made = vim.system({ python3, '-m', 'venv', '--without-pip', bad .. '/.venv' }, { text = true }):wait(T_RUN)
  check(made.code == 0, 'python3 -m venv --without-pip failed: %s', made.stderr or '')
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

test('14. :help scalene: the help file has valid tags for every command', function()
  -- helptags writes a tags file next to the help file: do it on a copy.
  local docroot = vim.fn.tempname() .. '-scalene-doc'
  vim.fn.mkdir(docroot .. '/doc', 'p')
  write_file(docroot .. '/doc/scalene.txt', read_file(ROOT .. '/editors/nvim/doc/scalene.txt'))
  local ok, err = pcall(vim.cmd, 'helptags ' .. vim.fn.fnameescape(docroot .. '/doc'))
  check(ok, ':helptags failed: %s', tostring(err))
  vim.opt.runtimepath:append(docroot)
  for _, name in ipairs({ 'ScaleneProfile', 'ScaleneProfileCpu', 'ScaleneCancel', 'ScaleneClear', 'ScaleneLoad', 'ScaleneHottest' }) do
    ok, err = pcall(vim.cmd, 'help :' .. name)
    check(ok, ':help :%s failed: %s', name, tostring(err))
    check(vim.bo.buftype == 'help' and vim.api.nvim_buf_get_name(0):match('scalene%.txt$'), ':help :%s opened %s', name, vim.api.nvim_buf_get_name(0))
    vim.cmd('helpclose')
  end
end)

H.finish()
