--- The :Scalene* user commands (each a thin wrapper over require('scalene')).
local M = {}

local function scalene()
  return require('scalene')
end

--- Creates (or replaces) the commands.
function M.create()
  local create = vim.api.nvim_create_user_command
  create('ScaleneProfile', function(cmd)
    scalene().profile({ args = cmd.fargs })
  end, {
    nargs = '*',
    complete = 'file',
    desc = 'Scalene: profile this file (CPU + memory); arguments go to the program',
  })
  create('ScaleneProfileCpu', function(cmd)
    scalene().profile({ args = cmd.fargs, mode = 'cpu' })
  end, {
    nargs = '*',
    complete = 'file',
    desc = 'Scalene: profile this file, CPU only (faster); arguments go to the program',
  })
  create('ScaleneCancel', function()
    scalene().cancel()
  end, { nargs = 0, desc = 'Scalene: stop the newest run (its partial profile is kept)' })
  create('ScaleneClear', function()
    scalene().clear()
  end, { nargs = 0, desc = 'Scalene: remove every profile (hints, diagnostics, heat)' })
  create('ScaleneLoad', function(cmd)
    scalene().load(cmd.args)
  end, { nargs = 1, complete = 'file', desc = 'Scalene: show a Scalene JSON profile' })
  create('ScaleneHottest', function()
    scalene().hottest()
  end, { nargs = 0, desc = 'Scalene: pick one of the hottest lines and jump to it' })
end

return M
