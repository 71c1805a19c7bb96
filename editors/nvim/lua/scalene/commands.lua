--- The :Scalene* user commands (each a thin wrapper over an action of lua/scalene/actions.lua).
local M = {}

local function actions()
  return require('scalene.actions')
end

--- Creates (or replaces) the commands.
function M.create()
  local create = vim.api.nvim_create_user_command
  create('ScaleneProfile', function(cmd)
    actions().profile({ args = cmd.fargs })
  end, {
    nargs = '*',
    complete = 'file',
    desc = 'Scalene: profile this file (CPU + memory); arguments go to the program',
  })
  create('ScaleneProfileCpu', function(cmd)
    actions().profile({ args = cmd.fargs, mode = 'cpu' })
  end, {
    nargs = '*',
    complete = 'file',
    desc = 'Scalene: profile this file, CPU only (faster); arguments go to the program',
  })
  create('ScaleneProfileLive', function(cmd)
    actions().profile({ args = cmd.fargs, live = true, paused = cmd.bang })
  end, {
    nargs = '*',
    bang = true,
    complete = 'file',
    desc = 'Scalene: profile this file live (annotations follow the run); with !, recording starts paused',
  })
  create('ScalenePause', function()
    actions().pause()
  end, { nargs = 0, desc = 'Scalene: pause the recording of the newest run (the program goes on)' })
  create('ScaleneResume', function()
    actions().resume()
  end, { nargs = 0, desc = 'Scalene: resume the recording of the newest run' })
  create('ScaleneCancel', function()
    actions().cancel()
  end, { nargs = 0, desc = 'Scalene: stop the newest run (its partial profile is kept)' })
  create('ScaleneAttach', function(cmd)
    local pid = tonumber(cmd.fargs[1])
    if cmd.fargs[1] and not pid then
      return vim.notify(('Scalene: :ScaleneAttach takes a process id, got %q'):format(cmd.fargs[1]), vim.log.levels.ERROR)
    end
    actions().attach({ pid = pid })
  end, { nargs = '?', desc = 'Scalene: sample a running Python process with py-spy (a pick list without a pid)' })
  create('ScaleneDetach', function()
    actions().detach()
  end, { nargs = 0, desc = 'Scalene: end the attach (the process keeps running)' })
  create('ScaleneClear', function()
    actions().clear()
  end, { nargs = 0, desc = 'Scalene: remove every profile (hints, diagnostics, heat)' })
  create('ScaleneLoad', function(cmd)
    actions().load(cmd.args)
  end, { nargs = 1, complete = 'file', desc = 'Scalene: show a Scalene JSON profile' })
  create('ScaleneHottest', function()
    actions().hottest()
  end, { nargs = 0, desc = 'Scalene: pick one of the hottest lines and jump to it' })
  create('ScaleneProfileTests', function(cmd)
    actions().profile_tests({ args = cmd.fargs })
  end, {
    nargs = '*',
    complete = 'file',
    desc = 'Scalene: profile the whole pytest suite once (CPU); arguments go to pytest (paths, -k, -m)',
  })
  create('ScaleneTests', function(cmd)
    actions().tests({ limit = tonumber(cmd.fargs[1]) })
  end, { nargs = '?', desc = 'Scalene: the slowest tests of the last suite run and their hot lines (quickfix)' })
  create('ScaleneCallers', function()
    actions().callers()
  end, { nargs = 0, desc = 'Scalene: the profiled callers of the function under the cursor, costliest first (quickfix)' })
  create('ScaleneExport', function(cmd)
    actions().export({ format = cmd.fargs[1], path = cmd.fargs[2] })
  end, {
    nargs = '+',
    complete = function(_, line)
      if #vim.split(line, '%s+', { trimempty = true }) <= 2 and not line:find('%S+%s+%S+%s') then
        return { 'flamegraph', 'speedscope', 'cpuprofile', 'collapsed' }
      end
      return vim.fn.getcompletion(line:match('%S*$'), 'file')
    end,
    desc = 'Scalene: export the newest profile of this file (flamegraph|speedscope|cpuprofile|collapsed FILE)',
  })
  create('ScaleneSaveBaseline', function(cmd)
    actions().save_baseline({ name = cmd.fargs[1] })
  end, { nargs = '?', desc = 'Scalene: save the newest profile of this file as a baseline (default name: baseline)' })
  create('ScaleneCompare', function(cmd)
    actions().compare({ baseline = cmd.fargs[1] })
  end, { nargs = '?', desc = 'Scalene: compare this file with a saved baseline (default: baseline)' })
  create('ScaleneExitCompare', function()
    actions().exit_compare()
  end, { nargs = 0, desc = 'Scalene: leave compare mode (plain numbers again)' })
end

return M
