-- Headless Neovim (0.11+) test of scalene-lsp through the zero-config path: editors/nvim on the
-- runtimepath (its plugin/ file sourced, as a plugin manager does), vim.g.scalene_lsp_cmd, plain
-- vim.lsp.config settings and vim.lsp.enable('scalene'); no setup() call (test_plugin.lua covers that).
-- Run by tests/nvim/run.sh, which passes (environment):
--   SCALENE_NVIM_BIN     absolute path of the scalene-lsp binary
--   SCALENE_NVIM_ROOT    the repo root
--   SCALENE_NVIM_PYTHON  a python with Scalene installed (the `python` setting)
--   SCALENE_NVIM_LOG     (optional) set: log all LSP traffic (run.sh copies lsp.log there)
-- Prints one line per test (`ok - name` / `not ok - name: reason`), then `N passed, M failed`, and exits
-- with 0 when nothing failed, else 1 (2 when the test script itself broke). Each scenario sets up the
-- buffers and profiles it needs (see harness.lua), so any one runs alone and in any order.

local BIN = assert(os.getenv('SCALENE_NVIM_BIN'), 'SCALENE_NVIM_BIN is not set')
local ROOT = assert(os.getenv('SCALENE_NVIM_ROOT'), 'SCALENE_NVIM_ROOT is not set')
local PYTHON = assert(os.getenv('SCALENE_NVIM_PYTHON'), 'SCALENE_NVIM_PYTHON is not set')

local H = dofile(ROOT .. '/tests/nvim/harness.lua')
local out, fail, check, test, poll, wait_for, inspect1 = H.out, H.fail, H.check, H.test, H.poll, H.wait_for, H.inspect1
local read_file, write_file = H.read_file, H.write_file
local label_text, label_ok, describe_lines, expected_hints, compare =
  H.label_text, H.label_ok, H.describe_lines, H.expected_hints, H.compare

-- Timeouts (ms). A Scalene run of a fixture takes ~2-5 s; allow a slow CI machine plenty more.
local T_ATTACH = 20000
local T_REQUEST = 10000
local T_RUN = 120000
local T_SETTLE = 20000

local HOT_LINES = { [7] = true, [8] = true, [13] = true, [15] = true } -- cpu_bound.py, 1-based

-- ---------------------------------------------------------------------------------------------------
-- Project: a fresh temp dir with a pyproject.toml, a copy of fixtures/programs/cpu_bound.py and a
-- long-running program.
local project = vim.fn.tempname() .. '-scalene-project'
vim.fn.mkdir(project, 'p')
write_file(project .. '/pyproject.toml', '[project]\nname = "scalene-nvim-test"\nversion = "0"\n')
write_file(project .. '/cpu_bound.py', read_file(ROOT .. '/fixtures/programs/cpu_bound.py'))
local loop_marker = H.write_loop_program(project)

-- ---------------------------------------------------------------------------------------------------
-- Editor setup: the repo's editors/nvim on the runtimepath, the binary under test, the settings.
-- SCALENE_NVIM_LOG=path (see run.sh) keeps a debug-level lsp.log with all the LSP traffic.
if os.getenv('SCALENE_NVIM_LOG') then
  vim.lsp.log.set_level('debug')
end
vim.cmd('filetype on')
vim.opt.runtimepath:prepend(ROOT .. '/editors/nvim')
vim.cmd('runtime! plugin/scalene.lua') -- what a plugin manager (or startup without -u NONE) does
vim.g.scalene_lsp_cmd = { BIN, 'serve' }
vim.lsp.config('scalene', {
  settings = { scalene = { python = PYTHON } },
  -- One server for every buffer, also for the repo's fixture file opened by show_captured (its root
  -- differs from the temp project's), so that a profile loaded through it covers that file.
  reuse_client = function(client, config)
    return client.name == config.name and not client:is_stopped()
  end,
})
vim.lsp.enable('scalene')

-- Progress events ($/progress through the LspProgress autocmd), per token, in order.
local progress = {} --- @type {token: string|integer, value: table}[]
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(ev)
    local params = ev.data and ev.data.params or {}
    if type(params.value) == 'table' then
      progress[#progress + 1] = { token = params.token, value = params.value }
    end
  end,
})

--- The first progress `begin` (after index `from`) whose title contains `title`.
local function find_begin(title, from)
  for i = (from or 0) + 1, #progress do
    local p = progress[i]
    if p.value.kind == 'begin' and (p.value.title or ''):find(title, 1, true) then
      return p, i
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

local function open(path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local buf = vim.api.nvim_get_current_buf()
  check(vim.bo[buf].filetype == 'python', 'filetype of %s is %q, not python', path, vim.bo[buf].filetype)
  return buf
end

local function client_of(buf)
  return vim.lsp.get_clients({ bufnr = buf, name = 'scalene' })[1]
end

--- Opens `path` and waits for the scalene client to attach to it; returns the buffer and the client.
local function open_attached(path)
  local buf = open(path)
  local client = wait_for('the scalene client to attach to ' .. path, T_ATTACH, function()
    local c = client_of(buf)
    return c and c.initialized and c
  end)
  return buf, client
end

--- A synchronous request; fails on timeout or an error response.
local function request(client, method, params, buf)
  local resp, err = client:request_sync(method, params, T_REQUEST, buf)
  if not resp then
    fail('%s: no response (%s)', method, tostring(err))
  end
  if resp.err then
    fail('%s: error response %s', method, inspect1(resp.err))
  end
  return resp.result
end

local function exec(client, command, args, buf)
  return request(client, 'workspace/executeCommand', { command = command, arguments = { args } }, buf)
end

--- The buffer's inlay hints, as { [0-based line] = label } (fails on two hints on one line).
local function hints_by_line(client, buf)
  local n = vim.api.nvim_buf_line_count(buf)
  local result = request(client, 'textDocument/inlayHint', {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = { line = 0, character = 0 }, ['end'] = { line = n, character = 0 } },
  }, buf) or {}
  local by_line = {}
  for _, hint in ipairs(result) do
    local line = hint.position.line
    check(by_line[line] == nil, 'two hints on line %d: %q and %q', line + 1, tostring(by_line[line]), label_text(hint))
    by_line[line] = label_text(hint)
  end
  return by_line, result
end

local function scalene_diagnostics(buf)
  return vim.tbl_filter(function(d)
    return d.source == 'scalene'
  end, vim.diagnostic.get(buf))
end

-- The captured profile of cpu_bound.py (exact numbers): the JSON names the program by the absolute path
-- it had when captured (<root>/fixtures/...).
local json_path = ROOT .. '/fixtures/scalene/2.4.0/cpu_bound.json'

--- The captured JSON, or when this checkout is elsewhere a copy whose paths point into this checkout.
local function captured_profile()
  local data = vim.json.decode(read_file(json_path), { luanil = { object = true, array = true } })
  local old_root = data.program:match('^(.*)/fixtures/programs/cpu_bound%.py$')
  check(old_root, 'unexpected program in %s: %s', json_path, data.program)
  if old_root == ROOT then
    return json_path, data
  end
  return H.relocated_profile(json_path, old_root, ROOT, project .. '/captured_cpu_bound.json')
end

--- scalene.loadProfile of the captured profile (through the client of cpu_bound.py), then its program
--- (the repo's fixtures/programs/cpu_bound.py) in a new buffer, once it shows exactly the profile's
--- hints. Only this loads a profile of that file (no scenario runs it), so what a buffer of it showed
--- before had the same numbers. Returns the buffer, the client, the hints, the JSON's data and the
--- scalene.loadProfile result.
local function show_captured()
  local cpu_buf, client = open_attached(project .. '/cpu_bound.py')
  local path, data = captured_profile()
  H.wipe(data.program) -- opened after the load; an earlier scenario may have edited it (never written)
  local result = exec(client, 'scalene.loadProfile', { path = path }, cpu_buf)
  local buf, c = open_attached(data.program)
  check(c.id == client.id, 'the captured program got another client (id %d, not %d)', c.id, client.id)
  local expected = expected_hints(data)
  check(next(expected), 'no line of the captured profile should have a hint: the fixture looks wrong')
  local actual, problems = {}, {}
  -- didOpen goes out with the attach; poll briefly in case the hints come a moment later.
  poll(T_SETTLE, 200, function()
    actual = hints_by_line(client, buf)
    problems = compare(expected, actual)
    return #problems == 0
  end)
  check(#problems == 0, '%s', table.concat(problems, '; '))
  return buf, client, actual, data, result
end

-- ---------------------------------------------------------------------------------------------------
local cpu_path = project .. '/cpu_bound.py'

test('a. client attaches and advertises the capabilities', function()
  local _, client = open_attached(cpu_path)
  local caps = client.server_capabilities or {}
  local missing = {}
  for _, cap in ipairs({ 'inlayHintProvider', 'hoverProvider', 'codeActionProvider', 'executeCommandProvider' }) do
    if not caps[cap] then
      missing[#missing + 1] = cap
    end
  end
  check(#missing == 0, 'server does not advertise %s', table.concat(missing, ', '))
  -- lsp/scalene.lua with the plugin's modules asks for the notifications status() and the heat map use.
  local experimental = client.capabilities.experimental or {}
  check(experimental.scaleneRunStatus == true and experimental.scaleneLineHeat == true, 'the client asked for %s', inspect1(experimental))
end)

test('b. code action "Profile this file with Scalene" profiles with progress and diagnostics', function()
  local cpu_buf, client = open_attached(cpu_path)
  local actions = request(client, 'textDocument/codeAction', {
    textDocument = { uri = vim.uri_from_bufnr(cpu_buf) },
    range = { start = { line = 0, character = 0 }, ['end'] = { line = 0, character = 0 } },
    context = { diagnostics = {} },
  }, cpu_buf) or {}
  local action
  for _, a in ipairs(actions) do
    if a.title == 'Profile this file with Scalene' then
      action = a
    end
  end
  local titles = vim.tbl_map(function(a)
    return a.title
  end, actions)
  check(action, 'no code action titled "Profile this file with Scalene" (got %s)', inspect1(titles))
  -- A CodeAction carries a Command in .command; a bare Command has .command as a string.
  local command = type(action.command) == 'table' and action.command or action
  check(type(command.command) == 'string', 'code action has no command: %s', inspect1(action))

  local from = #progress
  local response
  client:exec_cmd(command, { bufnr = cpu_buf }, function(err, result)
    response = { err = err, result = result }
  end)
  wait_for('the response to ' .. command.command, T_REQUEST, function()
    return response
  end)
  check(not response.err, '%s failed: %s', command.command, inspect1(response.err))
  check(
    type(response.result) == 'table' and type(response.result.run_id) == 'string',
    '%s returned %s, expected {run_id = "run-N"}',
    command.command,
    inspect1(response.result)
  )

  local begin = wait_for('$/progress begin "Scalene: profiling cpu_bound.py"', T_REQUEST, function()
    return find_begin('Scalene: profiling cpu_bound.py', from)
  end)
  local done = wait_for('$/progress end of the cpu_bound.py run', T_RUN, function()
    return find_end(begin.token)
  end)
  out(('# b: progress end message: %q'):format(done.value.message or ''))
  -- A run that ended well: its profile is the newest, the one the diagnostics below are from.
  check((done.value.message or ''):match('^ok '), 'the run ended with %q', done.value.message or '')
  wait_for(
    ('a scalene cpu-hotspot diagnostic on line 7, 8, 13 or 15 (progress end: %q)'):format(done.value.message or ''),
    T_SETTLE,
    function()
      for _, d in ipairs(scalene_diagnostics(cpu_buf)) do
        if d.code == 'cpu-hotspot' and HOT_LINES[d.lnum + 1] then
          return true
        end
      end
    end
  )
end)

test('c. inlay hints after a run have the documented labels and cover a hot line', function()
  local cpu_buf, client = open_attached(cpu_path)
  local from = #progress
  exec(client, 'scalene.profile', { uri = vim.uri_from_bufnr(cpu_buf) }, cpu_buf)
  local begin = wait_for('$/progress begin "Scalene: profiling cpu_bound.py"', T_REQUEST, function()
    return find_begin('Scalene: profiling cpu_bound.py', from)
  end)
  local done = wait_for('$/progress end of the cpu_bound.py run', T_RUN, function()
    return find_end(begin.token)
  end)
  -- A run that ended well: its profile is the newest, the one the hints below are from.
  check((done.value.message or ''):match('^ok '), 'the run ended with %q', done.value.message or '')
  local by_line = {}
  poll(T_SETTLE, 200, function()
    by_line = hints_by_line(client, cpu_buf)
    return next(by_line) ~= nil
  end)
  check(next(by_line), 'no inlay hints on cpu_bound.py after the profile')
  for line, label in pairs(by_line) do
    check(label_ok(label), 'hint on line %d has label %q, not `N.N%% CPU`, `N.N MB` or both', line + 1, label)
  end
  local hinted_line
  for line in pairs(by_line) do
    if HOT_LINES[line + 1] then
      hinted_line = line
    end
  end
  check(hinted_line, 'no hint on a hot line (7, 8, 13, 15); hints: %s', describe_lines(by_line))
end)

test('d. hover on a hinted line shows CPU', function()
  local buf, client, hints = show_captured()
  local hinted_line
  for line in pairs(hints) do
    if HOT_LINES[line + 1] then
      hinted_line = line
    end
  end
  check(hinted_line, 'no hint on a hot line (7, 8, 13, 15): %s', describe_lines(hints))
  local result = request(client, 'textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = hinted_line, character = 4 },
  }, buf)
  check(result and result.contents, 'hover on line %d returned %s', hinted_line + 1, inspect1(result))
  local contents = result.contents
  check(
    type(contents) == 'table' and contents.kind == 'markdown',
    'hover contents are not MarkupContent markdown: %s',
    inspect1(contents):sub(1, 200)
  )
  check(contents.value:find('CPU', 1, true), 'hover markdown has no "CPU": %q', contents.value:sub(1, 300))
end)

test('e. scalene.loadProfile shows the captured numbers exactly', function()
  local _, _, hints, data, result = show_captured()
  check(
    type(result) == 'table' and type(result.profile_id) == 'string' and type(result.files) == 'table',
    'scalene.loadProfile returned %s, expected {profile_id, files}',
    inspect1(result)
  )
  local uri = vim.uri_from_fname(data.program)
  check(vim.tbl_contains(result.files, uri), 'scalene.loadProfile files %s do not include %s', inspect1(result.files), uri)
  out('# e: hints ' .. describe_lines(hints))
end)

test('f. hints follow an edit (two lines inserted at the top)', function()
  local loaded_buf, client, loaded_hints = show_captured()
  vim.api.nvim_buf_set_lines(loaded_buf, 0, 0, false, { '# inserted line 1', '# inserted line 2' })
  local expected = {}
  for line, label in pairs(loaded_hints) do
    expected[line + 2] = label
  end
  local actual, problems = {}, {}
  -- The didChange goes out (debounced) before the next request; poll until the hints have moved.
  poll(T_SETTLE, 200, function()
    actual = hints_by_line(client, loaded_buf)
    problems = compare(expected, actual)
    return #problems == 0
  end)
  check(#problems == 0, 'after the edit: %s', table.concat(problems, '; '))
  out('# f: hints ' .. describe_lines(actual))
end)

test('g. scalene.cancel stops a 60 s run (partial profile, or an end message saying cancelled)', function()
  os.remove(loop_marker)
  local loop_buf, client = open_attached(project .. '/loop60.py')
  local from = #progress
  local started = vim.uv.hrtime()
  local result = exec(client, 'scalene.profile', { uri = vim.uri_from_bufnr(loop_buf) }, loop_buf)
  check(
    type(result) == 'table' and type(result.run_id) == 'string',
    'scalene.profile returned %s, expected {run_id}',
    inspect1(result)
  )
  local begin = wait_for('$/progress begin "Scalene: profiling loop60.py"', T_REQUEST, function()
    return find_begin('Scalene: profiling loop60.py', from)
  end)
  local ok, err = pcall(function()
    check(not find_end(begin.token), 'the 60 s run ended before it was cancelled: %s', inspect1(find_end(begin.token)))
    -- Let the program run (past Scalene's start-up) a few seconds, so that there are samples for a
    -- partial profile.
    wait_for('loop60.py to start under Scalene (it creates loop60.started)', T_RUN, function()
      return vim.uv.fs_stat(loop_marker) ~= nil or find_end(begin.token) ~= nil
    end)
    vim.wait(3000, function()
      return find_end(begin.token) ~= nil
    end, 100)
    check(not find_end(begin.token), 'the 60 s run ended on its own: %s', inspect1(find_end(begin.token)))
  end)
  -- Cancelled also after a failure, so that no 60 s run outlives this scenario.
  local cancel = exec(client, 'scalene.cancel', vim.empty_dict(), loop_buf)
  if not ok then
    wait_for('$/progress end after scalene.cancel', 30000, function()
      return find_end(begin.token)
    end)
    error(err, 0)
  end
  check(
    type(cancel) == 'table' and cancel.cancelled == true,
    'scalene.cancel returned %s, expected {cancelled = true}',
    inspect1(cancel)
  )
  local done = wait_for('$/progress end after scalene.cancel', 30000, function()
    return find_end(begin.token)
  end)
  local elapsed = (vim.uv.hrtime() - started) / 1e9
  check(elapsed < 50, 'the run ended only after %.0f s: cancel did not stop it', elapsed)
  local message = done.value.message or ''

  -- The partial profile: a diagnostic or a hint on loop60.py (or at least the end says `cancelled`).
  local partial
  poll(T_SETTLE, 250, function()
    if #scalene_diagnostics(loop_buf) > 0 then
      partial = 'diagnostic'
    elseif next((hints_by_line(client, loop_buf))) then
      partial = 'hint'
    end
    return partial ~= nil
  end)
  local reports = {}
  for _, p in ipairs(progress) do
    if p.token == begin.token and p.value.kind == 'report' then
      reports[#reports + 1] = p.value.message or ''
    end
  end
  out(('# g: reports %s; partial profile: %s; progress end message: %q'):format(
    inspect1(reports), partial or 'none', message))
  check(
    partial or message:find('cancelled', 1, true),
    'no diagnostic or hint on loop60.py and the progress end message %q does not say cancelled',
    message
  )
end)

test('h. zero-config: inlay hints are on, the :Scalene* commands exist, the heat map is drawn', function()
  -- A profile shown on a file: the captured one (only this shows a profile of that file, see show_captured).
  local buf, client = show_captured()
  check(vim.lsp.inlay_hint.is_enabled({ bufnr = buf }), 'inlay hints are not enabled in cpu_bound.py')
  local commands = vim.api.nvim_get_commands({})
  for _, name in ipairs({ 'ScaleneProfile', 'ScaleneProfileCpu', 'ScaleneCancel', 'ScaleneClear', 'ScaleneLoad', 'ScaleneHottest' }) do
    check(commands[name], 'no :%s command', name)
  end
  check(
    vim.tbl_get(client.capabilities, 'experimental', 'scaleneLineHeat') == true,
    'the client did not ask for scalene/lineHeat: experimental = %s',
    inspect1(client.capabilities.experimental)
  )
  -- Its hot lines are highlighted.
  local heat = {}
  wait_for('heat highlights (namespace scalene.heat) on cpu_bound.py', T_SETTLE, function()
    local ns = vim.api.nvim_get_namespaces()['scalene.heat']
    heat = {}
    for _, mark in ipairs(ns and vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true }) or {}) do
      heat[mark[2]] = mark[4].line_hl_group
    end
    return next(heat) ~= nil
  end)
  local on_hot_line = false
  for line, group in pairs(heat) do
    check(tostring(group):match('^ScaleneHeat[1-5]$'), 'line %d has highlight %s, not ScaleneHeat1..5', line + 1, tostring(group))
    on_hot_line = on_hot_line or HOT_LINES[line + 1]
  end
  check(on_hot_line, 'no heat on a hot line (7, 8, 13, 15): %s', describe_lines(heat))
  out('# h: heat ' .. describe_lines(heat))
end)

test("i. the workspace root is the nearest folder with any of the server's root markers (as it finds a project)", function()
  -- outer/ has pyproject.toml and .git, outer/inner/ a venv/: the server's project root for
  -- outer/inner/pkg/mod.py is outer/inner (find_project_root); ranked markers would give outer.
  local outer = vim.fn.tempname() .. '-scalene-roots'
  vim.fn.mkdir(outer .. '/.git', 'p')
  vim.fn.mkdir(outer .. '/inner/venv', 'p')
  vim.fn.mkdir(outer .. '/inner/pkg', 'p')
  write_file(outer .. '/pyproject.toml', '')
  write_file(outer .. '/inner/pkg/mod.py', '')
  local markers = vim.lsp.config.scalene.root_markers
  local root = vim.fs.root(outer .. '/inner/pkg/mod.py', markers)
  check(root == outer .. '/inner', 'root %s, not %s (root_markers %s)', tostring(root), outer .. '/inner', inspect1(markers))
  check(vim.fs.root(outer .. '/mod.py', markers) == outer, 'no root at %s', outer)
end)

H.finish()
