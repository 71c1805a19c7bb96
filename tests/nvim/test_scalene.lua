-- Headless Neovim (0.11+) test of scalene-lsp through editors/nvim/lsp/scalene.lua.
-- Run by tests/nvim/run.sh, which passes (environment):
--   SCALENE_NVIM_BIN     absolute path of the scalene-lsp binary
--   SCALENE_NVIM_ROOT    the repo root
--   SCALENE_NVIM_PYTHON  a python with Scalene installed (the `python` setting)
--   SCALENE_NVIM_LOG     (optional) set: log all LSP traffic (run.sh copies lsp.log there)
-- Prints one line per test (`ok - name` / `not ok - name: reason`), then `N passed, M failed`, and exits
-- with 0 when nothing failed, else 1 (2 when the test script itself broke).

local BIN = assert(os.getenv('SCALENE_NVIM_BIN'), 'SCALENE_NVIM_BIN is not set')
local ROOT = assert(os.getenv('SCALENE_NVIM_ROOT'), 'SCALENE_NVIM_ROOT is not set')
local PYTHON = assert(os.getenv('SCALENE_NVIM_PYTHON'), 'SCALENE_NVIM_PYTHON is not set')

-- Timeouts (ms). A Scalene run of a fixture takes ~2-5 s; allow a slow CI machine plenty more.
local T_ATTACH = 20000
local T_REQUEST = 10000
local T_RUN = 120000
local T_SETTLE = 20000

local HOT_LINES = { [7] = true, [8] = true, [13] = true, [15] = true } -- cpu_bound.py, 1-based

local function out(line)
  io.stdout:write(line, '\n')
  io.stdout:flush()
end

-- ---------------------------------------------------------------------------------------------------
-- Tiny test harness: a test fails by raising fail('reason'); any other error is reported with its
-- traceback's first lines.
local FAIL = {}
local function fail(fmt, ...)
  error(setmetatable({ msg = select('#', ...) > 0 and fmt:format(...) or fmt }, FAIL), 0)
end
local function check(cond, fmt, ...)
  if not cond then
    fail(fmt, ...)
  end
  return cond
end

local passed, failed = 0, 0
local function test(name, fn)
  local ok, err = xpcall(fn, function(e)
    if getmetatable(e) == FAIL then
      return e.msg
    end
    return 'error: ' .. debug.traceback(tostring(e), 2):gsub('\n', ' | '):sub(1, 600)
  end)
  if ok then
    passed = passed + 1
    out('ok - ' .. name)
  else
    failed = failed + 1
    out(('not ok - %s: %s'):format(name, tostring(err):gsub('\n', ' ')))
  end
end

--- Polls fn() (which may send synchronous LSP requests) every `interval` ms until it returns true;
--- returns whether it did before the timeout. (Not vim.wait(timeout, fn): request_sync inside a
--- vim.wait callback nests event loops, and the outer wait's timer re-enters fn.)
local function poll(timeout, interval, fn)
  local deadline = vim.uv.now() + timeout
  while true do
    if fn() then
      return true
    end
    vim.uv.update_time()
    if vim.uv.now() >= deadline then
      return false
    end
    vim.wait(interval)
  end
end

--- Waits for cond() (no LSP requests in it: see poll) to return a truthy value; fails with a clear
--- reason on timeout.
local function wait_for(what, timeout, cond)
  local value
  local done = vim.wait(timeout, function()
    value = cond()
    return value ~= nil and value ~= false
  end, 50)
  if not done then
    fail('timed out after %.0f s waiting for %s', timeout / 1000, what)
  end
  return value
end

local function inspect1(v)
  return vim.inspect(v, { newline = ' ', indent = '' })
end

-- ---------------------------------------------------------------------------------------------------
-- Project: a fresh temp dir with a pyproject.toml, a copy of fixtures/programs/cpu_bound.py and a
-- long-running program.
local function read_file(path)
  local f = assert(io.open(path, 'rb'))
  local text = f:read('*a')
  f:close()
  return text
end
local function write_file(path, text)
  local f = assert(io.open(path, 'wb'))
  f:write(text)
  f:close()
end

local project = vim.fn.tempname() .. '-scalene-project'
vim.fn.mkdir(project, 'p')
write_file(project .. '/pyproject.toml', '[project]\nname = "scalene-nvim-test"\nversion = "0"\n')
write_file(project .. '/cpu_bound.py', read_file(ROOT .. '/fixtures/programs/cpu_bound.py'))
-- A program that runs for 60 s (test g cancels it long before). It creates loop60.started when it
-- begins, so that the test knows Scalene is past its start-up and sampling.
local loop_marker = project .. '/loop60.started'
write_file(
  project .. '/loop60.py',
  table.concat({
    'import time',
    '',
    '',
    'def spin():',
    '    end = time.time() + 60',
    '    n = 0',
    '    while time.time() < end:',
    '        n += 1',
    '    return n',
    '',
    '',
    'if __name__ == "__main__":',
    '    open(' .. vim.json.encode(loop_marker) .. ', "w").close()',
    '    print(spin())',
    '',
  }, '\n')
)

-- ---------------------------------------------------------------------------------------------------
-- Editor setup: the repo's editors/nvim on the runtimepath, the binary under test, the settings.
-- SCALENE_NVIM_LOG=path (see run.sh) keeps a debug-level lsp.log with all the LSP traffic.
if os.getenv('SCALENE_NVIM_LOG') then
  vim.lsp.log.set_level('debug')
end
vim.cmd('filetype on')
vim.opt.runtimepath:prepend(ROOT .. '/editors/nvim')
vim.g.scalene_lsp_cmd = { BIN, 'serve' }
vim.lsp.config('scalene', {
  settings = { scalene = { python = PYTHON } },
  -- One server for every buffer, also for the repo's fixture file opened in test e (its root differs
  -- from the temp project's), so that a profile loaded through it covers that file.
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
local function need_client(buf)
  return check(client_of(buf), 'no scalene client attached to %s', vim.api.nvim_buf_get_name(buf))
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

local function label_text(hint)
  if type(hint.label) == 'string' then
    return hint.label
  end
  local parts = {}
  for _, part in ipairs(hint.label or {}) do
    parts[#parts + 1] = part.value
  end
  return table.concat(parts)
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

local function describe_lines(by_line)
  local keys = vim.tbl_keys(by_line)
  table.sort(keys)
  local parts = {}
  for _, l in ipairs(keys) do
    parts[#parts + 1] = ('%d: %q'):format(l + 1, by_line[l])
  end
  return '{' .. table.concat(parts, ', ') .. '}'
end

-- ---------------------------------------------------------------------------------------------------
local cpu_path = project .. '/cpu_bound.py'
local cpu_buf = open(cpu_path)
local hinted_line -- a 0-based line of cpu_bound.py with a hint (from test c)

test('a. client attaches and advertises the capabilities', function()
  local client = wait_for('the scalene client to attach to cpu_bound.py', T_ATTACH, function()
    local c = client_of(cpu_buf)
    return c and c.initialized and c
  end)
  local caps = client.server_capabilities or {}
  local missing = {}
  for _, cap in ipairs({ 'inlayHintProvider', 'hoverProvider', 'codeActionProvider', 'executeCommandProvider' }) do
    if not caps[cap] then
      missing[#missing + 1] = cap
    end
  end
  check(#missing == 0, 'server does not advertise %s', table.concat(missing, ', '))
end)

test('b. code action "Profile this file with Scalene" profiles with progress and diagnostics', function()
  local client = need_client(cpu_buf)
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

local LABEL_PATTERNS = { '^%d+%.%d%% CPU$', '^%d+%.%d MB$', '^%d+%.%d%% CPU · %d+%.%d MB$' }
local function label_ok(label)
  for _, pat in ipairs(LABEL_PATTERNS) do
    if label:match(pat) then
      return true
    end
  end
  return false
end

test('c. inlay hints have the documented labels and cover a hot line', function()
  local client = need_client(cpu_buf)
  local by_line = hints_by_line(client, cpu_buf)
  check(next(by_line), 'no inlay hints on cpu_bound.py after the profile')
  for line, label in pairs(by_line) do
    check(label_ok(label), 'hint on line %d has label %q, not `N.N%% CPU`, `N.N MB` or both', line + 1, label)
  end
  for line in pairs(by_line) do
    if HOT_LINES[line + 1] then
      hinted_line = line
    end
  end
  check(hinted_line, 'no hint on a hot line (7, 8, 13, 15); hints: %s', describe_lines(by_line))
end)

test('d. hover on a hinted line shows CPU', function()
  local client = need_client(cpu_buf)
  check(hinted_line, 'no hinted line (test c failed)')
  local result = request(client, 'textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(cpu_buf) },
    position = { line = hinted_line, character = 4 },
  }, cpu_buf)
  check(result and result.contents, 'hover on line %d returned %s', hinted_line + 1, inspect1(result))
  local contents = result.contents
  check(
    type(contents) == 'table' and contents.kind == 'markdown',
    'hover contents are not MarkupContent markdown: %s',
    inspect1(contents):sub(1, 200)
  )
  check(contents.value:find('CPU', 1, true), 'hover markdown has no "CPU": %q', contents.value:sub(1, 300))
end)

-- Test e/f: a captured profile with exact numbers.
local json_path = ROOT .. '/fixtures/scalene/2.4.0/cpu_bound.json'
local loaded_buf, loaded_hints

--- The captured JSON names the program by the absolute path it had when captured (<root>/fixtures/...).
--- When this checkout is elsewhere, load a copy whose paths point into this checkout.
local function captured_profile()
  local text = read_file(json_path)
  local data = vim.json.decode(text, { luanil = { object = true, array = true } })
  local old_root = data.program:match('^(.*)/fixtures/programs/cpu_bound%.py$')
  check(old_root, 'unexpected program in %s: %s', json_path, data.program)
  if old_root == ROOT then
    return json_path, data
  end
  local copy = project .. '/captured_cpu_bound.json'
  local escaped = vim.json.encode(old_root):sub(2, -2) -- as it appears inside JSON strings
  local replacement = vim.json.encode(ROOT):sub(2, -2)
  local start, pieces = 1, {}
  while true do
    local s, e = text:find(escaped, start, true)
    if not s then
      break
    end
    pieces[#pieces + 1] = text:sub(start, s - 1) .. replacement
    start = e + 1
  end
  pieces[#pieces + 1] = text:sub(start)
  write_file(copy, table.concat(pieces))
  return copy, vim.json.decode(read_file(copy), { luanil = { object = true, array = true } })
end

--- The expected hint label per 0-based line, computed from the Scalene JSON (docs/lsp.md, Inlay hints).
local function expected_hints(data)
  local file = data.files[data.program]
  check(file, 'the JSON has no files entry for its program %s', data.program)
  local expected = {}
  for _, l in ipairs(file.lines) do
    local cpu = (l.n_cpu_percent_python or 0) + (l.n_cpu_percent_c or 0) + (l.n_sys_percent or 0)
    local peak = data.memory and (l.n_peak_mb or 0) or 0
    local label
    if cpu >= 1.0 then
      label = ('%.1f%% CPU'):format(cpu)
      if peak > 0 then
        label = label .. (' · %.1f MB'):format(peak)
      end
    elseif peak >= 1.0 then
      label = ('%.1f MB'):format(peak)
    end
    expected[l.lineno - 1] = label
  end
  return expected
end

local function compare(expected, actual)
  local problems = {}
  local lines = vim.tbl_keys(vim.tbl_extend('force', {}, expected, actual))
  table.sort(lines)
  for _, l in ipairs(lines) do
    if expected[l] ~= actual[l] then
      problems[#problems + 1] = ('line %d: expected %s, got %s'):format(
        l + 1,
        expected[l] and ('%q'):format(expected[l]) or 'no hint',
        actual[l] and ('%q'):format(actual[l]) or 'no hint'
      )
    end
  end
  return problems
end

test('e. scalene.loadProfile shows the captured numbers exactly', function()
  local client = need_client(cpu_buf)
  local path, data = captured_profile()
  local result = exec(client, 'scalene.loadProfile', { path = path }, cpu_buf)
  check(
    type(result) == 'table' and type(result.profile_id) == 'string' and type(result.files) == 'table',
    'scalene.loadProfile returned %s, expected {profile_id, files}',
    inspect1(result)
  )
  local uri = vim.uri_from_fname(data.program)
  check(vim.tbl_contains(result.files, uri), 'scalene.loadProfile files %s do not include %s', inspect1(result.files), uri)

  loaded_buf = open(data.program)
  local c = wait_for('the scalene client to attach to ' .. data.program, T_ATTACH, function()
    return client_of(loaded_buf)
  end)
  check(c.id == client.id, 'the captured program got another client (id %d, not %d)', c.id, client.id)

  local expected = expected_hints(data)
  check(next(expected), 'no line of the captured profile should have a hint: the fixture looks wrong')
  local actual, problems = {}, {}
  -- didOpen goes out with the attach; poll briefly in case the hints come a moment later.
  poll(T_SETTLE, 200, function()
    actual = hints_by_line(client, loaded_buf)
    problems = compare(expected, actual)
    return #problems == 0
  end)
  check(#problems == 0, '%s', table.concat(problems, '; '))
  out('# e: hints ' .. describe_lines(actual))
  loaded_hints = actual
end)

test('f. hints follow an edit (two lines inserted at the top)', function()
  local client = need_client(cpu_buf)
  check(loaded_buf and loaded_hints, 'no loaded profile (test e failed)')
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
  local client = need_client(cpu_buf)
  local loop_buf = open(project .. '/loop60.py')
  wait_for('the scalene client to attach to loop60.py', T_ATTACH, function()
    return client_of(loop_buf)
  end)
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

  local cancel = exec(client, 'scalene.cancel', vim.empty_dict(), loop_buf)
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

out(('%d passed, %d failed'):format(passed, failed))
if failed == 0 then
  vim.cmd('qall!')
else
  vim.cmd('cquit 1')
end
