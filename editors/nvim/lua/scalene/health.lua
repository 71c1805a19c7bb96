--- :checkhealth scalene — the binary, the interpreter and Scalene a profile would use, the MCP endpoint.
local M = {}

local health = vim.health
local lsp = require('scalene.lsp')

local T_VERSION = 10000 -- ms for `scalene-lsp --version`
local T_ENVIRONMENT = 30000 -- ms for scalene/environment (the first check imports Scalene: ~1 s)
local T_PROBE = 3000 -- ms for the MCP endpoint to answer

local RESTART = "restart the server: `:lua vim.lsp.enable('scalene', false); vim.lsp.enable('scalene')`, then :edit a Python file"

local function resolved_config()
  local ok, config = pcall(function()
    return vim.lsp.config[lsp.name]
  end)
  return ok and config or nil
end

local function check_binary()
  health.start('scalene-lsp: the server')
  if vim.fn.has('nvim-0.11') == 1 then
    local v = vim.version()
    health.ok(('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch))
  else
    health.error('Neovim 0.11 or newer is needed (vim.lsp.config / vim.lsp.enable).', { 'Upgrade Neovim.' })
  end
  local config = resolved_config()
  if not config then
    health.error("no LSP config named 'scalene'", {
      'Put editors/nvim on the runtimepath (it has lsp/scalene.lua), e.g. with your plugin manager, or vim.opt.rtp:append("/path/to/scalene-lsp/editors/nvim").',
    })
    return
  end
  local cmd = config.cmd
  if type(cmd) == 'function' then
    health.info('cmd is a function (an RPC client), so the binary cannot be checked from here')
  elseif type(cmd) ~= 'table' or type(cmd[1]) ~= 'string' then
    health.error(('cmd is %s, not a list like { "scalene-lsp", "serve" }'):format(vim.inspect(cmd)), {
      "Set it: require('scalene').setup({ cmd = { '/path/to/scalene-lsp', 'serve' } })",
    })
  else
    local exe = vim.fn.exepath(cmd[1])
    if exe == '' then
      health.error(('scalene-lsp not found: %q is not an executable (on PATH or as a path)'):format(cmd[1]), {
        'Install it: `cargo install --path .` in a clone of scalene-lsp (puts it in ~/.cargo/bin; make sure that is on PATH).',
        "Or point to the binary: require('scalene').setup({ cmd = { '/path/to/scalene-lsp', 'serve' } })",
      })
    else
      local ok, result = pcall(function()
        return vim.system({ exe, '--version' }, { text = true }):wait(T_VERSION)
      end)
      local version = ok and result.code == 0 and vim.trim(result.stdout or '') or ''
      if version:match('^scalene%-lsp ') then
        health.ok(('%s (%s)'):format(version, exe))
      else
        health.error(
          ('%s --version did not answer `scalene-lsp <version>`: %s'):format(
            exe,
            ok and vim.trim((result.stderr or '') .. ' exit ' .. tostring(result.code)) or tostring(result)
          ),
          { 'Reinstall scalene-lsp (`cargo install --path .`), or point `cmd` at a working binary.' }
        )
      end
    end
  end
  if vim.lsp.is_enabled(lsp.name) then
    health.ok("enabled for Python buffers (vim.lsp.enable('scalene'))")
  else
    health.warn('not enabled: it will not start for Python buffers', {
      "Call require('scalene').setup() or vim.lsp.enable('scalene') in your config.",
    })
  end
end

--- The first buffer a client is attached to (the environment depends on the file's project).
local function first_buffer(client)
  local buffers = vim.tbl_keys(client.attached_buffers)
  table.sort(buffers)
  return buffers[1]
end

local PYTHON_FIX = "Or choose an interpreter that has Scalene: require('scalene').setup({ settings = { python = '/path/to/venv/bin/python' } })"

local function check_environment(client)
  local bufnr = first_buffer(client)
  local params = bufnr and { uri = vim.uri_from_bufnr(bufnr) } or vim.empty_dict()
  local where = bufnr and vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':~:.') or 'the workspace'
  health.info(('client %d (root %s), for %s'):format(client.id, client.root_dir or '-', where))
  local response, err = client:request_sync('scalene/environment', params, T_ENVIRONMENT, bufnr)
  if not response then
    health.error(('scalene/environment got no answer (%s)'):format(tostring(err)), { RESTART })
    return
  end
  if response.err then
    health.error(('scalene/environment failed: %s'):format(response.err.message or vim.inspect(response.err)), {
      'Update scalene-lsp: this plugin needs a server with scalene/environment.',
    })
    return
  end
  local env = response.result or {}
  if env.ok then
    health.ok(('interpreter: %s (Python %s; %s)'):format(env.python, env.pythonVersion or '?', env.source or '?'))
    health.ok(('Scalene %s'):format(env.scaleneVersion or '?'))
    if env.projectRoot then
      health.info('project root: ' .. env.projectRoot)
    end
    return
  end
  local message = env.message or ('the environment cannot run Scalene (%s)'):format(env.kind or '?')
  if env.kind == 'scalene_missing' or env.kind == 'scalene_unsupported' then
    health.ok(('interpreter: %s (%s)'):format(env.python or '?', env.source or '?'))
    health.error(('Scalene: %s'):format(message), { PYTHON_FIX })
  else
    health.error(('interpreter: %s'):format(message), { PYTHON_FIX })
  end
end

local function check_environments()
  health.start('scalene-lsp: interpreter and Scalene')
  local clients = lsp.clients()
  if #clients == 0 then
    health.warn('no scalene-lsp client is running, so the interpreter was not checked', {
      'Open a Python file of your project (the server starts for it), then run :checkhealth scalene again.',
    })
    return
  end
  for _, client in ipairs(clients) do
    check_environment(client)
  end
end

--- Sends `GET path` (with the bearer token when known) and returns the HTTP status of the answer.
---@return integer? status, string? error
local function probe(host, port, path, token)
  local tcp = vim.uv.new_tcp()
  if not tcp then
    return nil, 'could not create a TCP socket'
  end
  local status, failure, done = nil, nil, false
  local buffer = ''
  local function finish(err)
    failure = failure or err
    done = true
    if not tcp:is_closing() then
      tcp:close()
    end
  end
  local request = ('GET %s HTTP/1.1\r\nHost: %s:%d\r\n%sConnection: close\r\n\r\n'):format(
    path,
    host,
    port,
    token and ('Authorization: Bearer %s\r\n'):format(token) or ''
  )
  tcp:connect(host, port, function(err)
    if err then
      return finish(err)
    end
    tcp:read_start(function(read_err, chunk)
      if read_err then
        return finish(read_err)
      end
      if not chunk then
        return finish(status and nil or 'the connection closed without an answer')
      end
      buffer = buffer .. chunk
      local code = buffer:match('^HTTP/%d[%.%d]* (%d%d%d)')
      if code then
        status = tonumber(code)
        finish()
      end
    end)
    tcp:write(request)
  end)
  vim.wait(T_PROBE, function()
    return done
  end, 20)
  if not done then
    finish('no answer within ' .. T_PROBE / 1000 .. ' s')
  end
  return status, failure
end

local function check_mcp()
  health.start('scalene-lsp: MCP endpoint for agents')
  local clients = lsp.clients()
  if #clients == 0 then
    health.info('no scalene-lsp client is running (the endpoint starts with the server)')
    return
  end
  for _, client in ipairs(clients) do
    local endpoint = lsp.mcp_endpoint(client)
    if not endpoint then
      health.info(('client %d serves no MCP endpoint (setting mcp.enabled is false)'):format(client.id))
    else
      local host, port, path = endpoint.url:match('^http://([^/:]+):(%d+)(/.*)$')
      if not host then
        health.warn(('client %d: MCP endpoint %s is not a http://host:port/path URL'):format(client.id, endpoint.url))
      else
        -- With the token, a plain GET is answered 406 (an MCP client must accept an event stream):
        -- proof that the endpoint is up and takes the token. Without it (URL from the initialize
        -- result only), 401 is the answer that proves it is up.
        local status, err = probe(host, tonumber(port), path, endpoint.token)
        local up = false
        if status and endpoint.token then
          up = status ~= 401 and status ~= 403 and status < 500
        elseif status then
          up = status == 401
        end
        if up then
          health.ok(('MCP endpoint %s answers (client %d)%s'):format(
            endpoint.url,
            client.id,
            endpoint.token and ' and accepts the token from scalene/mcpEndpoint' or ''
          ))
          health.info('Agents connect with `scalene-lsp mcp` (it finds this session), or to the URL with the token.')
        else
          health.error(
            ('MCP endpoint %s does not answer as expected: %s'):format(
              endpoint.url,
              status and ('HTTP %d %s'):format(status, endpoint.token and 'with the token' or 'without a token (expected 401)')
                or tostring(err)
            ),
            { RESTART, 'See the server log: `:lua vim.cmd.edit(vim.lsp.log.get_filename())`.' }
          )
        end
      end
    end
  end
end

function M.check()
  check_binary()
  check_environments()
  check_mcp()
end

return M
