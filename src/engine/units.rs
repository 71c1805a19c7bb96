//! Units and names shown to users: megabytes (MiB, as Scalene reports them) ↔ bytes, and a path's
//! short name. One home, so that every front end converts and shortens the same way.

use std::path::Path;

/// Bytes in one of Scalene's megabytes (it reports MiB).
pub const BYTES_PER_MB: f64 = 1024.0 * 1024.0;

/// `bytes` in MB.
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / BYTES_PER_MB
}

/// `mb` MB in bytes (a setting or flag given in MB; saturates at `u64::MAX`, negatives give 0).
pub fn bytes(mb: f64) -> u64 {
    (mb * BYTES_PER_MB) as u64
}

/// A path's file name (`/proj/src/app.py` → `app.py`), or the whole path when it has none.
pub fn short_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned())
}

/// `short_name` of a path given as text, borrowed.
pub fn short_name_str(path: &str) -> &str {
    Path::new(path).file_name().and_then(|name| name.to_str()).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn megabytes_and_bytes_round_trip_and_names_shorten() {
        assert_eq!(bytes(512.0), 512 * 1024 * 1024);
        assert_eq!(mb(3 * 1024 * 1024), 3.0);
        assert_eq!(bytes(-1.0), 0);
        assert_eq!(bytes(f64::INFINITY), u64::MAX);
        assert_eq!(short_name(Path::new("/proj/src/app.py")), "app.py");
        assert_eq!(short_name(Path::new("/")), "/");
        assert_eq!(short_name_str("/proj/b.py"), "b.py");
        assert_eq!(short_name_str("-m pkg"), "-m pkg");
    }
}
