-- The tiny test harness shared by the headless Neovim tests (dofile'd by each test_*.lua).
-- test(name, fn) declares a scenario; finish() runs them in order, each printing `ok - name` or
-- `not ok - name: reason`, then prints `N passed, M failed` and ends Neovim with 0 when nothing failed,
-- else 1. A test fails by raising fail('reason'); any other error is reported with its traceback's first
-- lines. No helper here asserts a timing: timeouts only bound waits.
-- Each scenario sets up what it needs (files, buffers, profiles, settings), so any one runs alone and in
-- any order; the code outside the scenarios (the project, the editor set-up) runs first, once:
--   SCALENE_NVIM_ONLY=text     runs only the scenarios whose name contains `text` (plain text)
--   SCALENE_NVIM_ORDER=reverse runs them last to first
local H = {}

function H.out(line)
  io.stdout:write(line, '\n')
  io.stdout:flush()
end

local FAIL = {}
function H.fail(fmt, ...)
  error(setmetatable({ msg = select('#', ...) > 0 and fmt:format(...) or fmt }, FAIL), 0)
end
function H.check(cond, fmt, ...)
  if not cond then
    H.fail(fmt, ...)
  end
  return cond
end

local scenarios = {} --- @type {name: string, fn: function}[]
function H.test(name, fn)
  scenarios[#scenarios + 1] = { name = name, fn = fn }
end

--- The scenarios finish() runs: SCALENE_NVIM_ONLY and SCALENE_NVIM_ORDER applied.
local function selected()
  local only = os.getenv('SCALENE_NVIM_ONLY') or ''
  local order = os.getenv('SCALENE_NVIM_ORDER') or ''
  if order ~= '' and order ~= 'reverse' then
    error(('SCALENE_NVIM_ORDER=%s: only `reverse` (or empty) is known'):format(order))
  end
  local chosen = {}
  for _, scenario in ipairs(scenarios) do
    if scenario.name:find(only, 1, true) then
      chosen[#chosen + 1] = scenario
    end
  end
  if order == 'reverse' then
    local reversed = {}
    for i = #chosen, 1, -1 do
      reversed[#reversed + 1] = chosen[i]
    end
    chosen = reversed
  end
  return chosen
end

--- Runs the scenarios, prints the summary and ends Neovim (exit code 0 when nothing failed, else 1).
function H.finish()
  local passed, failed = 0, 0
  for _, scenario in ipairs(selected()) do
    local ok, err = xpcall(scenario.fn, function(e)
      if getmetatable(e) == FAIL then
        return e.msg
      end
      return 'error: ' .. debug.traceback(tostring(e), 2):gsub('\n', ' | '):sub(1, 600)
    end)
    if ok then
      passed = passed + 1
      H.out('ok - ' .. scenario.name)
    else
      failed = failed + 1
      H.out(('not ok - %s: %s'):format(scenario.name, tostring(err):gsub('\n', ' ')))
    end
  end
  H.out(('%d passed, %d failed'):format(passed, failed))
  if failed == 0 then
    vim.cmd('qall!')
  else
    vim.cmd('cquit 1')
  end
end

--- Polls fn() (which may send synchronous LSP requests) every `interval` ms until it returns true;
--- returns whether it did before the timeout. (Not vim.wait(timeout, fn): request_sync inside a
--- vim.wait callback nests event loops, and the outer wait's timer re-enters fn.)
function H.poll(timeout, interval, fn)
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
function H.wait_for(what, timeout, cond)
  local value
  local done = vim.wait(timeout, function()
    value = cond()
    return value ~= nil and value ~= false
  end, 50)
  if not done then
    H.fail('timed out after %.0f s waiting for %s', timeout / 1000, what)
  end
  return value
end

function H.inspect1(v)
  return vim.inspect(v, { newline = ' ', indent = '' })
end

function H.read_file(path)
  local f = assert(io.open(path, 'rb'))
  local text = f:read('*a')
  f:close()
  return text
end
function H.write_file(path, text)
  local f = assert(io.open(path, 'wb'))
  f:write(text)
  f:close()
end

--- Replaces every occurrence of the plain string `old` in `text` by `new`.
function H.replace_all(text, old, new)
  local start, pieces = 1, {}
  while true do
    local s, e = text:find(old, start, true)
    if not s then
      break
    end
    pieces[#pieces + 1] = text:sub(start, s - 1) .. new
    start = e + 1
  end
  pieces[#pieces + 1] = text:sub(start)
  return table.concat(pieces)
end

--- A copy (at `dest`) of a captured Scalene JSON whose paths under `from_dir` point to `to_dir` instead
--- (the JSON names files by the absolute paths they had when captured). Returns the copy's path and its
--- decoded data.
function H.relocated_profile(json_path, from_dir, to_dir, dest)
  local escaped_from = vim.json.encode(from_dir):sub(2, -2) -- as it appears inside JSON strings
  local escaped_to = vim.json.encode(to_dir):sub(2, -2)
  H.write_file(dest, H.replace_all(H.read_file(json_path), escaped_from, escaped_to))
  return dest, vim.json.decode(H.read_file(dest), { luanil = { object = true, array = true } })
end

--- The label of an LSP inlay hint (a string or label parts).
function H.label_text(hint)
  if type(hint.label) == 'string' then
    return hint.label
  end
  local parts = {}
  for _, part in ipairs(hint.label or {}) do
    parts[#parts + 1] = part.value
  end
  return table.concat(parts)
end

local LABEL_PATTERNS = { '^%d+%.%d%% CPU$', '^%d+%.%d MB$', '^%d+%.%d%% CPU · %d+%.%d MB$' }
--- Whether a hint label has a documented form (`N.N% CPU`, `N.N MB` or both).
function H.label_ok(label)
  for _, pat in ipairs(LABEL_PATTERNS) do
    if label:match(pat) then
      return true
    end
  end
  return false
end

--- { [0-based line] = label } as text: {7: "21.2% CPU", ...} (1-based lines).
function H.describe_lines(by_line)
  local keys = vim.tbl_keys(by_line)
  table.sort(keys)
  local parts = {}
  for _, l in ipairs(keys) do
    parts[#parts + 1] = ('%d: %q'):format(l + 1, tostring(by_line[l]))
  end
  return '{' .. table.concat(parts, ', ') .. '}'
end

--- The expected hint label per 0-based line, computed from the Scalene JSON (docs/lsp.md, Inlay hints).
function H.expected_hints(data)
  local file = data.files[data.program]
  H.check(file, 'the JSON has no files entry for its program %s', data.program)
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

--- The differences between two { [line] = label } maps, as readable strings.
function H.compare(expected, actual)
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

--- Writes `project`/loop60.py: a program that runs for 60 s (tests cancel it long before) and creates
--- `project`/loop60.started when it begins, so a test knows Scalene is past its start-up and sampling.
--- Returns the marker's path.
function H.write_loop_program(project)
  local marker = project .. '/loop60.started'
  H.write_file(
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
      '    open(' .. vim.json.encode(marker) .. ', "w").close()',
      '    print(spin())',
      '',
    }, '\n')
  )
  return marker
end

--- Wipes the buffer of `path`, if there is one (its text, undo history, extmarks, marks).
function H.wipe(path)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(buf) == path then
      vim.api.nvim_buf_delete(buf, { force = true })
    end
  end
end

return H
