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

    /// Runs git in `dir` (a test's own repository, with its own identity), panicking with git's stderr
    /// when it fails: the tests run where the project is checked out, so git is there.
    fn git_sync(dir: &Path, args: &[&str]) -> String {
        let output = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("git runs (it is needed to check out this project)");
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    #[tokio::test]
    async fn commit_and_dirty_flag_of_a_repository_and_nothing_outside_one() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(git_state(tmp.path()).await, None, "not a repository");
        git_sync(tmp.path(), &["init", "-q"]);
        assert_eq!(git_state(tmp.path()).await, None, "a repository without a commit has no commit to name");
        std::fs::write(tmp.path().join("a.py"), "x = 1\n").unwrap();
        git_sync(tmp.path(), &["add", "a.py"]);
        git_sync(tmp.path(), &["commit", "-qm", "one"]);
        let head = git_sync(tmp.path(), &["rev-parse", "HEAD"]);
        let clean = git_state(tmp.path()).await.expect("a repository with a commit");
        assert_eq!(clean.commit, head, "the commit checked out");
        assert!(!clean.dirty);
        std::fs::write(tmp.path().join("untracked.py"), "y = 1\n").unwrap();
        assert!(!git_state(tmp.path()).await.unwrap().dirty, "an untracked file does not make it dirty");
        std::fs::write(tmp.path().join("a.py"), "x = 2\n").unwrap();
        let dirty = git_state(tmp.path()).await.unwrap();
        assert_eq!(dirty.commit, clean.commit);
        assert!(dirty.dirty);
    }
}
