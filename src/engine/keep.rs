//! The keep wing: where profiles are kept. The bounded in-memory cache (cache.rs), saved profiles on
//! disk (storage.rs) and bounded reading of profile files (profile_file.rs).
//!
//! It builds on the profile wing (what is kept) and never starts a process.

pub mod cache;
pub mod profile_file;
pub mod storage;
