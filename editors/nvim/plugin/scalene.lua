-- scalene-lsp for Neovim 0.11+: the :Scalene* commands and the autocmds behind inlay hints, the heat
-- map and progress. Loading this file starts nothing: the server starts for Python buffers once
-- vim.lsp.enable('scalene') or require('scalene').setup() has run.
if vim.g.loaded_scalene then
  return
end
vim.g.loaded_scalene = true

if vim.fn.has('nvim-0.11') == 0 then
  vim.notify_once('scalene-lsp needs Neovim 0.11 or newer (vim.lsp.config / vim.lsp.enable).', vim.log.levels.WARN)
  return
end

require('scalene')._ensure()
