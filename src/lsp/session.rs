//! Session state: open documents (versioned), settings, client capabilities, workspace roots, runs in
//! progress. Handlers take a cheap `DocumentSnapshot` under no lock and compute outside it.
//!
//! Architecture Invariant: an older document version never overwrites a newer one, and no lock is held
//! across an `.await`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use dashmap::DashMap;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Uri;

use super::baseline::{CompareMode, CompareView};
use super::capabilities::ResolvedClientCapabilities;
use super::document::{Document, Encoding};
use super::endpoint::{AgentEndpoint, EndpointStarter};
use super::settings::Settings;
use crate::engine::keep::cache::{CachedProfile, CoveredFile, ProfileId};
use crate::engine::profile::model::FileProfile;
use crate::engine::profile::remap::LineMap;
use crate::engine::workspace::Roots;
use crate::engine::{Engine, RunId};

/// A run started from this session.
#[derive(Clone, Debug)]
pub struct EditorRun {
    pub uri: Uri,
    /// Its work-done progress token (`scalene-run-N`): a cancel from the client names it.
    pub token: String,
}

pub struct Session {
    pub engine: Engine,
    pub client: Client,
    documents: DashMap<Uri, Arc<Document>>,
    settings: RwLock<Arc<Settings>>,
    capabilities: OnceLock<ResolvedClientCapabilities>,
    roots: crate::engine::workspace::SharedRoots,
    /// Starts the agents' endpoint (from the host; None: no endpoint).
    pub endpoint_starter: Option<EndpointStarter>,
    /// The agents' endpoint, while it runs.
    pub endpoint: std::sync::Mutex<Option<Box<dyn AgentEndpoint>>>,
    /// Warnings found before the client could show them (during initialize), sent from `initialized`.
    deferred_warnings: std::sync::Mutex<Vec<String>>,
    hidden: AtomicBool,
    pub runs: DashMap<RunId, EditorRun>,
    /// Documents that currently have scalene diagnostics published.
    pub published: dashmap::DashSet<Uri>,
    /// Documents whose last `scalene/lineHeat` had lines (the client draws them until told otherwise).
    pub heat_sent: dashmap::DashSet<Uri>,
    line_maps: DashMap<Uri, CachedLineMap>,
    /// Compare mode (a saved baseline against a newer profile), until exited or replaced.
    compare: RwLock<Option<Arc<CompareMode>>>,
    /// Line maps from the compared profile's files to the documents, per version.
    compare_maps: DashMap<Uri, CachedLineMap>,
    /// When the user last changed a document (refreshes wait until typing pauses).
    last_edit: std::sync::Mutex<Option<std::time::Instant>>,
    /// Whether the user was told that a profile has no call paths (said once per session).
    pub told_no_call_paths: AtomicBool,
}

/// A document's line map for one version of its text and one profile.
struct CachedLineMap {
    version: i32,
    profile: ProfileId,
    map: Arc<LineMap>,
}

/// Everything a feature needs about one open document, taken at one moment.
pub struct DocumentSnapshot {
    pub uri: Uri,
    pub document: Arc<Document>,
    pub settings: Arc<Settings>,
    pub encoding: Encoding,
    pub hidden: bool,
    pub profile: Option<ProfileView>,
    /// Compare mode for this document: set while the compared profile is the newest covering it.
    pub compare: Option<CompareView>,
    /// The newest pytest suite run that ran a test defined in this document (for test files only).
    pub suite: Option<Arc<CachedProfile>>,
}

/// The profile covering a document, with its lines mapped to the document's current text.
pub struct ProfileView {
    pub entry: Arc<CachedProfile>,
    file_index: usize,
    pub line_map: Arc<LineMap>,
}

impl ProfileView {
    pub fn file(&self) -> &FileProfile {
        &self.entry.profile.files[self.file_index]
    }

    /// True when the document no longer matches what was profiled.
    pub fn is_stale(&self) -> bool {
        !self.line_map.identical
    }
}

/// The file a `file://` URI names; None for any other scheme (an unsaved buffer, a notebook cell, a
/// remote file): only files on this machine's disk can be profiled.
pub fn uri_path(uri: &Uri) -> Option<PathBuf> {
    if !uri.scheme().as_str().eq_ignore_ascii_case("file") {
        return None;
    }
    uri.to_file_path().map(|path| path.into_owned())
}

impl Session {
    pub fn new(engine: Engine, client: Client, endpoint_starter: Option<EndpointStarter>) -> Session {
        Session {
            engine,
            client,
            documents: DashMap::new(),
            settings: RwLock::new(Arc::new(Settings::default())),
            capabilities: OnceLock::new(),
            roots: Arc::new(RwLock::new(Vec::new())),
            endpoint_starter,
            endpoint: std::sync::Mutex::new(None),
            deferred_warnings: std::sync::Mutex::new(Vec::new()),
            hidden: AtomicBool::new(false),
            runs: DashMap::new(),
            published: dashmap::DashSet::new(),
            heat_sent: dashmap::DashSet::new(),
            line_maps: DashMap::new(),
            compare: RwLock::new(None),
            compare_maps: DashMap::new(),
            last_edit: std::sync::Mutex::new(None),
            told_no_call_paths: AtomicBool::new(false),
        }
    }

    /// Enters compare mode (Some) or leaves it (None).
    pub fn set_compare(&self, mode: Option<Arc<CompareMode>>) {
        *self.compare.write().unwrap_or_else(|poison| poison.into_inner()) = mode;
        self.compare_maps.clear();
    }

    pub fn compare_mode(&self) -> Option<Arc<CompareMode>> {
        self.compare.read().unwrap_or_else(|poison| poison.into_inner()).clone()
    }

    /// Whether to send a document's annotations of one kind (`sent` remembers which documents have
    /// some on the client): always when there are some, once more when they became none (so the client
    /// clears them), then not again.
    pub fn worth_sending(sent: &dashmap::DashSet<Uri>, uri: &Uri, any: bool) -> bool {
        if any {
            sent.insert(uri.clone());
            true
        } else {
            sent.remove(uri).is_some()
        }
    }

    /// How long to wait before refreshing annotations from a new profile: until typing has paused for
    /// the live snapshot interval (None: refresh now).
    pub fn refresh_delay(&self) -> Option<std::time::Duration> {
        let last = (*self.last_edit.lock().unwrap_or_else(|p| p.into_inner()))?;
        self.settings().live_interval.checked_sub(last.elapsed()).filter(|left| !left.is_zero())
    }

    /// Keeps a warning to show once the client is initialized.
    pub fn defer_warning(&self, warning: String) {
        self.deferred_warnings.lock().unwrap_or_else(|p| p.into_inner()).push(warning);
    }

    pub fn take_deferred_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.deferred_warnings.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn set_capabilities(&self, capabilities: ResolvedClientCapabilities) {
        let _ = self.capabilities.set(capabilities);
    }

    pub fn capabilities(&self) -> ResolvedClientCapabilities {
        self.capabilities.get().cloned().unwrap_or_else(|| ResolvedClientCapabilities::new(&Default::default()))
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings.read().unwrap_or_else(|poison| poison.into_inner()).clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        // The store is the engine's: agents on this engine save to the same place.
        self.engine.set_store(settings.store.clone());
        *self.settings.write().unwrap_or_else(|poison| poison.into_inner()) = Arc::new(settings);
    }

    pub fn set_roots(&self, roots: Vec<PathBuf>) {
        *self.roots.write().unwrap_or_else(|poison| poison.into_inner()) = roots;
    }

    /// The roots, shared with the MCP endpoint (its tools are confined to them).
    pub fn shared_roots(&self) -> crate::engine::workspace::SharedRoots {
        self.roots.clone()
    }

    pub fn roots(&self) -> Vec<PathBuf> {
        self.roots.read().unwrap_or_else(|poison| poison.into_inner()).clone()
    }

    /// The workspace roots now, canonicalised once (the same confinement rules as MCP's tools).
    pub fn roots_snapshot(&self) -> Roots {
        Roots::snapshot(&self.roots)
    }

    /// A file the editor asks to run: canonical and inside a workspace root (any file when the editor
    /// opened no folder), or the reason with the fix.
    pub fn confine(&self, path: &Path) -> Result<PathBuf, String> {
        let roots = self.roots_snapshot();
        if roots.is_empty() {
            return Ok(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
        }
        roots.resolve(&path.to_string_lossy())
    }

    pub fn hidden(&self) -> bool {
        self.hidden.load(Ordering::Relaxed)
    }

    /// Shows hidden annotations or hides shown ones; returns whether they are visible now.
    pub fn toggle_visibility(&self) -> bool {
        // The previous value was "hidden": after the flip, they are visible exactly when they were hidden.
        self.hidden.fetch_xor(true, Ordering::Relaxed)
    }

    pub fn open(&self, uri: Uri, document: Document) {
        self.documents.insert(uri, Arc::new(document));
    }

    /// Replaces the text unless the stored version is newer. Returns false when the change was stale.
    pub fn change(&self, uri: &Uri, version: i32, text: String) -> bool {
        match self.documents.get_mut(uri) {
            Some(mut entry) if entry.version < version => {
                let language_id = entry.language_id.clone();
                *entry = Arc::new(Document::new(version, language_id, text));
                *self.last_edit.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
                true
            }
            Some(entry) => {
                tracing::debug!(uri = uri.as_str(), stored = entry.version, version, "ignored an out-of-date change");
                false
            }
            None => false,
        }
    }

    pub fn close(&self, uri: &Uri) {
        self.documents.remove(uri);
        self.line_maps.remove(uri);
        self.compare_maps.remove(uri);
    }

    pub fn document(&self, uri: &Uri) -> Option<Arc<Document>> {
        self.documents.get(uri).map(|entry| entry.clone())
    }

    pub fn open_uris(&self) -> Vec<Uri> {
        self.documents.iter().map(|entry| entry.key().clone()).collect()
    }

    pub fn snapshot(&self, uri: &Uri) -> Option<DocumentSnapshot> {
        let document = self.document(uri)?;
        let path = uri_path(uri)?;
        let profile = self.engine.cache().covering(&path).map(|covered| {
            let line_map = self.line_map(uri, &document, &covered);
            ProfileView { entry: covered.entry, file_index: covered.index, line_map }
        });
        let compare = self.compare_view(uri, &document, &path, profile.as_ref());
        let is_test_file = path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py")));
        let suite = if is_test_file { self.engine.cache().latest_suite(Some(&path)) } else { None };
        Some(DocumentSnapshot {
            uri: uri.clone(),
            document,
            settings: self.settings(),
            encoding: self.capabilities().encoding,
            hidden: self.hidden(),
            profile,
            compare,
            suite,
        })
    }

    /// Compare mode for a document: only while the compared profile is the newest covering it.
    fn compare_view(&self, uri: &Uri, document: &Document, path: &Path, profile: Option<&ProfileView>) -> Option<CompareView> {
        let mode = self.compare_mode()?;
        if profile.is_some_and(|view| view.entry.id != mode.after.id) {
            return None;
        }
        let file = mode.after_file(path)?;
        // Take the cached map out before inserting: a DashMap guard held across `insert` deadlocks.
        let cached = self
            .compare_maps
            .get(uri)
            .filter(|cached| cached.version == document.version && cached.profile == mode.after.id)
            .map(|cached| cached.map.clone());
        let map = match cached {
            Some(map) => map,
            None => {
                let map = Arc::new(if file.source.is_empty() {
                    LineMap::unknown(document.n_lines() as usize, false)
                } else {
                    LineMap::new(&file.source, &document.text)
                });
                self.compare_maps.insert(uri.clone(), CachedLineMap { version: document.version, profile: mode.after.id, map: map.clone() });
                map
            }
        };
        mode.view(path, map)
    }

    /// The line map between a profile's copy of a file and the document's text, cached per version.
    fn line_map(&self, uri: &Uri, document: &Document, covered: &CoveredFile) -> Arc<LineMap> {
        if let Some(cached) = self.line_maps.get(uri)
            && cached.version == document.version
            && cached.profile == covered.entry.id
        {
            return cached.map.clone();
        }
        let file = covered.file();
        let map = if file.source.is_empty() {
            LineMap::unknown(document.n_lines() as usize, true)
        } else {
            LineMap::new(&file.source, &document.text)
        };
        let map = Arc::new(map);
        self.line_maps.insert(uri.clone(), CachedLineMap { version: document.version, profile: covered.entry.id, map: map.clone() });
        map
    }

    /// The run in progress for a document, if any.
    pub fn run_for(&self, uri: &Uri) -> Option<RunId> {
        self.runs.iter().filter(|entry| entry.value().uri == *uri).map(|entry| *entry.key()).max()
    }
}
