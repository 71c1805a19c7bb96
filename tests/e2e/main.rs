//! Integration tests: real Scalene on real Python programs, through the engine API and the real binary.
//! They need the pinned venv (`scripts/setup-python`, done by `scripts/test`). A file's prefix names the
//! layer it drives: `cli_` the binary's commands, `engine_` the engine's API, `lsp_` a language-server
//! session, `host_` the binary in every mode, `docs_` the docs against the code, `ci_` docs/ci.md's recipe
//! run as written.

mod architecture;
mod ci_recipe;
mod cli;
mod cli_attach;
mod cli_compare;
mod cli_exports;
mod cli_saved;
mod cli_suite;
mod docs_schema;
mod engine_live;
mod engine_runner;
mod engine_suite;
mod host_faults;
mod lsp_attach;
mod lsp_calls;
mod lsp_compare;
mod lsp_edits;
mod lsp_editor_requests;
mod lsp_initialize;
mod lsp_live;
mod lsp_load;
mod lsp_profile;
mod lsp_run_status;
mod lsp_suite;
mod support;
