//! Where a run came from: the git state of its project (commit, and whether tracked files had
//! uncommitted changes), read while the run goes on so it costs the run nothing. Outside a git
//! repository, without git, or when git is slow or fails, there is simply no git state.

use std::path::Path;
use std::time::Duration;

use crate::engine::profile::model::GitState;

/// How long git may take before the state is given up.
const GIT_TIMEOUT: Duration = Duration::from_secs(5);

/// True when `dir` or a folder above it has `.git` (a directory, or a file for worktrees).
fn in_repository(dir: &Path) -> bool {
    dir.ancestors().any(|folder| folder.join(".git").exists())
}

async fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let mut command = tokio::process::Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(args)
        // Never take the index lock: the user's own git commands must not fail because of us.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(GIT_TIMEOUT, command.output()).await.ok()?.ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The git state of the repository containing `dir`, if any.
pub async fn git_state(dir: &Path) -> Option<GitState> {
    if !in_repository(dir) {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--verify", "HEAD"]).await?.trim().to_string();
    if commit.is_empty() {
        return None;
    }
    let status = git(dir, &["status", "--porcelain", "--untracked-files=no"]).await?;
    Some(GitState { commit, dirty: !status.trim().is_empty() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_sync(dir: &Path, args: &[&str]) -> bool {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .is_ok_and(|output| output.status.success())
    }

    #[tokio::test]
    async fn commit_and_dirty_flag_of_a_repository_and_nothing_outside_one() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(git_state(tmp.path()).await, None, "not a repository");
        if !git_sync(tmp.path(), &["init", "-q"]) {
            eprintln!("git is not installed: skipping the repository part");
            return;
        }
        std::fs::write(tmp.path().join("a.py"), "x = 1\n").unwrap();
        assert!(git_sync(tmp.path(), &["add", "a.py"]) && git_sync(tmp.path(), &["commit", "-qm", "one"]));
        let clean = git_state(tmp.path()).await.expect("a repository with a commit");
        assert_eq!(clean.commit.len(), 40, "{clean:?}");
        assert!(!clean.dirty);
        std::fs::write(tmp.path().join("a.py"), "x = 2\n").unwrap();
        let dirty = git_state(tmp.path()).await.unwrap();
        assert_eq!(dirty.commit, clean.commit);
        assert!(dirty.dirty);
    }
}
