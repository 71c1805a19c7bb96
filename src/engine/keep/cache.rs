//! The in-memory profile store: bounded by count and bytes (LRU) with a TTL, indexed by key (canonical
//! path + content hash + options) and by every file a profile covers.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;

use crate::engine::profile::model::{FileProfile, Profile};

/// Bounds of the cache.
#[derive(Clone, Debug)]
pub struct CacheSettings {
    pub max_profiles: u64,
    pub max_bytes: u64,
    pub ttl: Duration,
}

impl Default for CacheSettings {
    fn default() -> CacheSettings {
        CacheSettings { max_profiles: 64, max_bytes: 256 * 1024 * 1024, ttl: Duration::from_secs(3600) }
    }
}

/// A short, process-unique handle for a cached profile (`p7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileId(pub u64);

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl ProfileId {
    pub fn parse(text: &str) -> Option<ProfileId> {
        text.strip_prefix('p').unwrap_or(text).parse().ok().map(ProfileId)
    }
}

/// Where a profile came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProfileOrigin {
    /// Profiled here, by a run of the engine.
    Run,
    /// Read from a Scalene JSON file.
    Loaded,
    /// Sampled by py-spy from a process scalene-lsp attached to (`Engine::start_attach`).
    Attached,
}

impl ProfileOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileOrigin::Run => "run",
            ProfileOrigin::Loaded => "loaded",
            ProfileOrigin::Attached => "attached",
        }
    }
}

/// What a profile was made from: the same key means the same program, content and options.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProfileKey {
    pub origin: ProfileOrigin,
    /// Canonical path of the profiled program (or of the loaded JSON file).
    pub path: PathBuf,
    /// blake3 of the program's (or JSON file's) bytes.
    pub content_hash: String,
    /// A digest of everything else that changes the result (args, mode, interpreter, ...).
    pub options: String,
}

/// A profile in the cache.
#[derive(Debug)]
pub struct CachedProfile {
    pub id: ProfileId,
    pub key: ProfileKey,
    pub profile: Profile,
}

impl CachedProfile {
    /// The index of `path` among the profile's files: an exact match, else a file with the same
    /// canonical path (the profile or the caller may name it through a symlink).
    pub fn file_index(&self, path: &Path) -> Option<usize> {
        let files = &self.profile.files;
        if let Some(index) = files.iter().position(|file| file.path == path) {
            return Some(index);
        }
        let canonical = path.canonicalize().ok()?;
        files.iter().position(|file| file.path == canonical).or_else(|| {
            files.iter().position(|file| file.path.canonicalize().is_ok_and(|other| other == canonical))
        })
    }
}

/// One file of a cached profile: what every front end shows for a document or path.
#[derive(Clone, Debug)]
pub struct CoveredFile {
    pub entry: Arc<CachedProfile>,
    pub index: usize,
}

impl CoveredFile {
    /// `path` in `entry`, if the profile measured it.
    pub fn of(entry: Arc<CachedProfile>, path: &Path) -> Option<CoveredFile> {
        let index = entry.file_index(path)?;
        Some(CoveredFile { entry, index })
    }

    pub fn file(&self) -> &FileProfile {
        &self.entry.profile.files[self.index]
    }
}

/// A change to the cache, for front ends that show profiles (the editor, MCP resources).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheEvent {
    Added(ProfileId),
    /// Removed explicitly, replaced, evicted or expired.
    Removed(ProfileId),
}

pub struct ProfileCache {
    profiles: moka::sync::Cache<ProfileId, Arc<CachedProfile>>,
    indexes: Arc<Indexes>,
    next_id: AtomicU64,
    events: tokio::sync::broadcast::Sender<CacheEvent>,
    /// The newest profiles replaced by a newer one of the same key (a live run's snapshots), newest last.
    replaced: std::sync::Mutex<std::collections::VecDeque<ProfileId>>,
}

/// How many replaced profile ids `ProfileCache::was_replaced` remembers.
const REPLACED_KEPT: usize = 1024;

#[derive(Default)]
struct Indexes {
    by_key: DashMap<ProfileKey, ProfileId>,
    /// Every file a profile covers → the ids covering it, oldest first.
    by_file: DashMap<PathBuf, Vec<ProfileId>>,
}

impl Indexes {
    fn remove(&self, entry: &CachedProfile) {
        self.by_key.remove_if(&entry.key, |_, id| *id == entry.id);
        for path in covered_paths(&entry.profile) {
            if let Some(mut ids) = self.by_file.get_mut(&path) {
                ids.retain(|id| *id != entry.id);
            }
            self.by_file.remove_if(&path, |_, ids| ids.is_empty());
        }
    }
}

fn covered_paths(profile: &Profile) -> impl Iterator<Item = PathBuf> + '_ {
    let program = Path::new(&profile.program);
    let program = program.is_absolute().then(|| program.to_path_buf());
    profile.files.iter().map(|file| file.path.clone()).chain(program)
}

impl ProfileCache {
    pub fn new(settings: &CacheSettings) -> ProfileCache {
        let indexes = Arc::new(Indexes::default());
        let listener_indexes = indexes.clone();
        let (events, _) = tokio::sync::broadcast::channel(256);
        let listener_events: tokio::sync::broadcast::Sender<CacheEvent> = events.clone();
        // Weighing each entry at least max_bytes / max_profiles bounds the count and the bytes with
        // moka's single weigher: at most max_profiles entries, at most max_bytes in all.
        let min_weight = (settings.max_bytes / settings.max_profiles.max(1)).max(1);
        let profiles = moka::sync::Cache::builder()
            .max_capacity(settings.max_bytes)
            .weigher(move |_id: &ProfileId, entry: &Arc<CachedProfile>| {
                (entry.profile.approx_bytes() as u64).max(min_weight).min(u32::MAX as u64) as u32
            })
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .time_to_live(settings.ttl)
            .eviction_listener(move |id: Arc<ProfileId>, entry: Arc<CachedProfile>, _cause| {
                listener_indexes.remove(&entry);
                let _ = listener_events.send(CacheEvent::Removed(*id));
            })
            .build();
        ProfileCache { profiles, indexes, next_id: AtomicU64::new(1), events, replaced: Default::default() }
    }

    /// Stores a profile, replacing any with the same key. Returns the cached entry.
    pub fn insert(&self, key: ProfileKey, profile: Profile) -> Arc<CachedProfile> {
        self.insert_then(key, profile, |_| {})
    }

    /// Inserts, then calls `before_announce` with the entry before subscribers hear of it: whatever it
    /// records (a run's newest snapshot) is in place when they look.
    pub fn insert_then(&self, key: ProfileKey, profile: Profile, before_announce: impl FnOnce(&Arc<CachedProfile>)) -> Arc<CachedProfile> {
        let id = ProfileId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let entry = Arc::new(CachedProfile { id, key: key.clone(), profile });
        if let Some(old) = self.indexes.by_key.insert(key, id) {
            let mut replaced = self.replaced.lock().unwrap_or_else(|poison| poison.into_inner());
            replaced.push_back(old);
            if replaced.len() > REPLACED_KEPT {
                replaced.pop_front();
            }
            drop(replaced);
            self.profiles.invalidate(&old);
        }
        for path in covered_paths(&entry.profile) {
            self.indexes.by_file.entry(path).or_default().push(id);
        }
        self.profiles.insert(id, entry.clone());
        before_announce(&entry);
        let _ = self.events.send(CacheEvent::Added(id));
        entry
    }

    /// True when `id` left the cache because a newer profile with the same key replaced it (a live
    /// run's next snapshot, or a run of the same program with the same options): whoever showed it shows
    /// the newer one already.
    pub fn was_replaced(&self, id: ProfileId) -> bool {
        self.replaced.lock().unwrap_or_else(|poison| poison.into_inner()).contains(&id)
    }

    /// Cache changes from now on. A slow receiver may see `Lagged`: treat it as "something changed".
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<CacheEvent> {
        self.events.subscribe()
    }

    pub fn get(&self, id: ProfileId) -> Option<Arc<CachedProfile>> {
        self.profiles.get(&id)
    }

    pub fn get_by_key(&self, key: &ProfileKey) -> Option<Arc<CachedProfile>> {
        let id = *self.indexes.by_key.get(key)?;
        self.get(id)
    }

    /// The newest profile that covers `path` (the profiled program or any file it measured).
    pub fn latest_for_file(&self, path: &Path) -> Option<Arc<CachedProfile>> {
        let ids = self.indexes.by_file.get(path)?.clone();
        ids.iter().rev().find_map(|id| self.get(*id))
    }

    /// The newest profile covering `path` (as given, else canonicalised), with `path`'s file in it; None
    /// when no profile covers it or the newest one has no numbers for it.
    pub fn covering(&self, path: &Path) -> Option<CoveredFile> {
        let entry = self.latest_for_file(path).or_else(|| self.latest_for_file(&path.canonicalize().ok()?))?;
        CoveredFile::of(entry, path)
    }

    /// The newest profile of a pytest suite run (`Profile::tests`); with `file`, the newest with a test
    /// defined in that file (as given, or canonicalised).
    pub fn latest_suite(&self, file: Option<&Path>) -> Option<Arc<CachedProfile>> {
        let canonical = file.and_then(|file| file.canonicalize().ok());
        let has_test_in = |suite: &crate::engine::profile::suite::TestSuite| match file {
            None => true,
            Some(file) => suite.tests.iter().any(|test| test.file == file || Some(&test.file) == canonical.as_ref()),
        };
        self.list().into_iter().rev().find(|entry| entry.profile.tests.as_deref().is_some_and(has_test_in))
    }

    /// Every cached profile, oldest first.
    pub fn list(&self) -> Vec<Arc<CachedProfile>> {
        let mut all: Vec<_> = self.profiles.iter().map(|(_, entry)| entry).collect();
        all.sort_by_key(|entry| entry.id);
        all
    }

    pub fn remove(&self, id: ProfileId) -> bool {
        self.profiles.remove(&id).is_some()
    }

    /// Removes every profile covering `path`; returns how many.
    pub fn remove_covering(&self, path: &Path) -> usize {
        let ids = self.indexes.by_file.get(path).map(|ids| ids.clone()).unwrap_or_default();
        ids.into_iter().filter(|id| self.remove(*id)).count()
    }

    pub fn clear(&self) {
        self.profiles.invalidate_all();
        self.profiles.run_pending_tasks();
    }

    /// Applies pending evictions now (moka does it lazily); for tests and reports.
    pub fn run_pending_tasks(&self) {
        self.profiles.run_pending_tasks();
    }

    pub fn len(&self) -> u64 {
        self.profiles.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn weighted_size(&self) -> u64 {
        self.profiles.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::profile::metrics::LineMetrics;
    use crate::engine::profile::model::{FileProfile, LineStats, RunStatus};

    fn profile(program: &str, files: &[&str], n_lines: u32) -> Profile {
        let mut profile = Profile::empty(RunStatus::Ok, program.into());
        profile.files = files
            .iter()
            .map(|path| FileProfile {
                path: path.into(),
                cpu_percent: 50.0,
                lines: (1..=n_lines).map(|line| LineStats { line, metrics: LineMetrics { cpu_python: 1.0, ..LineMetrics::default() }, ..LineStats::default() }).collect(),
                functions: Vec::new(),
                leaks: Vec::new(),
                source: "".into(),
            })
            .collect();
        profile
    }

    fn key(path: &str, hash: &str) -> ProfileKey {
        ProfileKey { origin: ProfileOrigin::Run, path: path.into(), content_hash: hash.into(), options: "memory".into() }
    }

    #[test]
    fn insert_then_records_before_subscribers_hear_of_the_entry() {
        let cache = ProfileCache::new(&CacheSettings::default());
        let mut events = cache.subscribe();
        let mut seen_in_closure = None;
        let entry = cache.insert_then(key("/p/main.py", "a"), profile("/p/main.py", &["/p/main.py"], 1), |entry| {
            seen_in_closure = Some((entry.id, events.try_recv().is_err()));
        });
        assert_eq!(seen_in_closure, Some((entry.id, true)), "the closure ran with the entry, before the announcement");
        assert_eq!(events.try_recv().ok(), Some(CacheEvent::Added(entry.id)));
    }

    #[test]
    fn a_profile_is_found_by_every_file_it_covers() {
        let cache = ProfileCache::new(&CacheSettings::default());
        let entry = cache.insert(key("/p/main.py", "a"), profile("/p/main.py", &["/p/pkg/a.py", "/p/pkg/b.py"], 3));
        for path in ["/p/main.py", "/p/pkg/a.py", "/p/pkg/b.py"] {
            assert_eq!(cache.latest_for_file(Path::new(path)).unwrap().id, entry.id, "{path}");
        }
        assert!(cache.latest_for_file(Path::new("/p/other.py")).is_none());
    }

    #[test]
    fn the_newest_profile_of_a_file_wins_and_same_key_replaces() {
        let cache = ProfileCache::new(&CacheSettings::default());
        let first = cache.insert(key("/p/main.py", "a"), profile("/p/main.py", &["/p/main.py"], 1));
        let second = cache.insert(key("/p/main.py", "b"), profile("/p/main.py", &["/p/main.py"], 2));
        assert_eq!(cache.latest_for_file(Path::new("/p/main.py")).unwrap().id, second.id);
        let third = cache.insert(key("/p/main.py", "a"), profile("/p/main.py", &["/p/main.py"], 3));
        cache.run_pending_tasks();
        assert!(cache.get(first.id).is_none(), "same key replaces the older profile");
        assert_eq!(cache.get_by_key(&key("/p/main.py", "a")).unwrap().id, third.id);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn count_bound_evicts_and_cleans_the_file_index() {
        let cache = ProfileCache::new(&CacheSettings { max_profiles: 4, max_bytes: 1 << 30, ttl: Duration::from_secs(60) });
        for n in 0..10 {
            let path = format!("/p/f{n}.py");
            cache.insert(key(&path, "a"), profile(&path, &[&path], 1));
            cache.run_pending_tasks();
        }
        assert!(cache.len() <= 4, "{} profiles kept", cache.len());
        assert!(cache.latest_for_file(Path::new("/p/f9.py")).is_some());
        let kept_files = (0..10).filter(|n| cache.latest_for_file(Path::new(&format!("/p/f{n}.py"))).is_some()).count();
        assert_eq!(kept_files as u64, cache.len());
    }

    #[test]
    fn byte_bound_holds_for_large_profiles() {
        let max_bytes = 4 * 1024 * 1024;
        let cache = ProfileCache::new(&CacheSettings { max_profiles: 64, max_bytes, ttl: Duration::from_secs(60) });
        let big = profile("/p/big.py", &["/p/big.py"], 0);
        let line_bytes = profile("/p/x.py", &["/p/x.py"], 1000).approx_bytes() - big.approx_bytes();
        assert!(line_bytes > 100_000, "1000 lines weigh {line_bytes} bytes");
        for n in 0..20 {
            let path = format!("/p/big{n}.py");
            cache.insert(key(&path, "a"), profile(&path, &[&path], 5000));
            cache.run_pending_tasks();
        }
        assert!(cache.weighted_size() <= max_bytes, "{} > {max_bytes}", cache.weighted_size());
        assert!(cache.len() < 20);
    }

    #[test]
    fn ttl_expires_profiles() {
        let cache = ProfileCache::new(&CacheSettings { max_profiles: 8, max_bytes: 1 << 30, ttl: Duration::from_millis(50) });
        let entry = cache.insert(key("/p/a.py", "a"), profile("/p/a.py", &["/p/a.py"], 1));
        std::thread::sleep(Duration::from_millis(120));
        assert!(cache.get(entry.id).is_none());
        cache.run_pending_tasks();
        assert!(cache.latest_for_file(Path::new("/p/a.py")).is_none());
    }

    #[test]
    fn every_change_is_announced() {
        let cache = ProfileCache::new(&CacheSettings::default());
        let mut events = cache.subscribe();
        let first = cache.insert(key("/p/a.py", "1"), profile("/p/a.py", &["/p/a.py"], 1));
        let second = cache.insert(key("/p/a.py", "1"), profile("/p/a.py", &["/p/a.py"], 2));
        cache.run_pending_tasks();
        let mut seen = Vec::new();
        while let Ok(event) = events.try_recv() {
            seen.push(event);
        }
        assert!(seen.contains(&CacheEvent::Added(first.id)) && seen.contains(&CacheEvent::Added(second.id)), "{seen:?}");
        assert!(seen.contains(&CacheEvent::Removed(first.id)), "the replaced profile is announced: {seen:?}");
        assert!(cache.was_replaced(first.id) && !cache.was_replaced(second.id));
    }

    #[test]
    fn remove_covering_clears_every_profile_of_a_file() {
        let cache = ProfileCache::new(&CacheSettings::default());
        cache.insert(key("/p/a.py", "1"), profile("/p/a.py", &["/p/a.py", "/p/lib.py"], 1));
        cache.insert(key("/p/b.py", "1"), profile("/p/b.py", &["/p/b.py", "/p/lib.py"], 1));
        assert_eq!(cache.remove_covering(Path::new("/p/lib.py")), 2);
        cache.run_pending_tasks();
        assert!(cache.is_empty());
        assert!(cache.latest_for_file(Path::new("/p/a.py")).is_none());
    }
}
