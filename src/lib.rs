//! scalene-lsp: Scalene's per-line CPU and memory profiles for editors (LSP), agents (MCP) and the
//! terminal (CLI). See ARCHITECTURE.md for the map.

pub mod cli;
pub mod engine;
pub mod lsp;
pub mod mcp;
