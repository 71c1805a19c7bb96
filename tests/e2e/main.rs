//! Integration tests: real Scalene on real Python programs, through the engine API and the real binary.
//! They need the pinned venv (`scripts/setup-python`, done by `scripts/test`).

mod architecture;
mod cli;
mod compare;
mod lsp_compare;
mod faults;
mod live;
mod lsp_edits;
mod lsp_editor_requests;
mod lsp_initialize;
mod lsp_live;
mod lsp_load;
mod lsp_profile;
mod runner;
mod saved;
mod schema;
mod support;
