//! The keep wing: where profiles are kept. The bounded in-memory cache (cache.rs), saved profiles on
//! disk (storage.rs), bounded reading of profile files (profile_file.rs) and loading a profile from one
//! (loading.rs).
//!
//! It builds on the profile wing (what is kept) and never starts a process.

pub mod cache;
pub mod export_file;
pub mod loading;
pub mod profile_file;
pub mod storage;
