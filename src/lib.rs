//! scalene-lsp: Scalene's per-line CPU and memory profiles for editors (LSP), agents (MCP) and the
//! terminal (CLI). See ARCHITECTURE.md for the map: `engine` at the bottom, `lsp` and `mcp` side by side
//! over it, `host` and `cli` on top.

pub mod cli;
pub mod engine;
mod host;
mod lsp;
mod mcp;
