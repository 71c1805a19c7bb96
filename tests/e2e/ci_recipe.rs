//! docs/ci.md's recipe, run as written: the commands block is read from the document (and the GitHub
//! workflow and GitLab job are checked to run the same lines), then run with bash, real Scalene and the
//! real binary on a git repository made here: base → a commit that makes one function three times
//! slower must fail the gate with a SARIF result and a Markdown row on that function's line; that
//! commit → one that changes nothing must pass with zero SARIF results. No timing is asserted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::cli_compare::assert_valid_sarif;
use crate::support;

/// The fenced block after `<!-- ci-recipe: NAME` in docs/ci.md, as lines.
fn block(doc: &str, name: &str) -> Vec<String> {
    let marker = format!("<!-- ci-recipe: {name}");
    let start = doc.find(&marker).unwrap_or_else(|| panic!("docs/ci.md has no {marker:?} marker"));
    let after = &doc[start..];
    let open = after.find("```").expect("a fenced block after the marker");
    let body = &after[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let end = body.find("\n```").expect("the block ends");
    body[..end].lines().map(str::to_string).collect()
}

fn recipe() -> Vec<String> {
    let doc = std::fs::read_to_string(support::repo().join("docs/ci.md")).unwrap();
    let commands = block(&doc, "commands");
    let trimmed = |lines: Vec<String>| lines.iter().map(|line| line.trim().trim_start_matches("- ").to_string()).collect::<Vec<String>>();
    let (github, gitlab) = (trimmed(block(&doc, "github")), trimmed(block(&doc, "gitlab")));
    for line in &commands {
        assert!(github.contains(line), "the GitHub workflow in docs/ci.md does not run the recipe's line {line:?}");
        let gitlab_line = line.replace("--format github", "--format text");
        assert!(gitlab.contains(&gitlab_line), "the GitLab job in docs/ci.md does not run the recipe's line {gitlab_line:?}");
    }
    assert!(commands.len() >= 5 && commands.last().unwrap().contains("--fail-on regressed"), "{commands:#?}");
    commands
}

const RUN: &str = "\
from work import crunch, mix, steady, words

if __name__ == \"__main__\":
    print(crunch(3_000_000))
    print(steady(8_000_000))
    print(mix(3_000_000))
    print(words(1_000_000))
";

const WORK: &str = "\
def crunch(n):
    total = 0
    for i in range(LOOPS):
        total += i * i % 7
    return total


def steady(n):
    total = 0
    for i in range(n):
        total ^= i
    return total


def mix(n):
    return sum(i % 3 for i in range(n))


def words(n):
    return len(\" \".join(str(i) for i in range(n)))
";

fn work_v1() -> String {
    format!("\"\"\"The benchmark's work.\"\"\"\n\n\n{}", WORK.replace("LOOPS", "n"))
}

/// crunch() does three times the work, and lines are inserted above it.
fn work_v2() -> String {
    format!("\"\"\"The benchmark's work.\n\nVersion 2: crunch() counts three times as far.\n\"\"\"\n\n\n{}", WORK.replace("LOOPS", "3 * n"))
}

fn git(repo: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=CI recipe", "-c", "user.email=ci@example.com", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn commit(repo: &Path, files: &[(&str, &str)], message: &str) -> String {
    for (name, text) in files {
        let path = repo.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
    git(repo, &["rev-parse", "HEAD"])
}

/// Runs the recipe's lines with bash (`-eo pipefail`, as GitHub Actions runs a step) in `repo` at
/// `head`, comparing with `base`, the reports in `out`.
fn run_recipe(commands: &[String], repo: &Path, base: &str, head: &str, out: &Path) -> Output {
    git(repo, &["checkout", "-q", head]);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_scalene-lsp"));
    let path = format!("{}:{}", binary.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let venv = support::python().parent().unwrap().parent().unwrap().to_path_buf();
    let script = commands.join("\n");
    Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
        .current_dir(repo)
        .env("PATH", path)
        .env("VIRTUAL_ENV", venv)
        .env("BASE_SHA", base)
        .env("PROGRAM", "bench/run.py")
        .env("OUT", out)
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "octo/bench")
        .env("GITHUB_SHA", head)
        .env("RUST_LOG", "warn")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|line| line.contains(needle)).unwrap_or_else(|| panic!("{needle:?}")) as u64 + 1
}

#[test]
fn the_ci_recipe_flags_a_three_times_slower_function_on_its_line_and_passes_a_change_that_changes_nothing() {
    let commands = recipe();
    let temp = tempfile::Builder::new().prefix("scalene-lsp-ci-recipe-").tempdir().unwrap();
    let repo = temp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    let base = commit(&repo, &[("README.md", "A benchmark.\n"), ("bench/run.py", RUN), ("bench/work.py", &work_v1())], "a benchmark");
    let slower = commit(&repo, &[("bench/work.py", &work_v2())], "crunch: count three times as far");
    let same = commit(&repo, &[("README.md", "A benchmark, documented.\n")], "README only");

    // base → slower: the gate fails (5), every report names crunch() on its new line in bench/work.py.
    let out = temp.path().join("out-slower");
    let output = run_recipe(&commands, &repo, &base, &slower, &out);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(5), "the recipe's gate fails on the regression:\n{stdout}\n{stderr}");
    let def_line = line_of(&work_v2(), "def crunch");
    let loop_line = line_of(&work_v2(), "range(3 * n)");
    assert!(stdout.contains(&format!("::warning file=bench/work.py,line={def_line},title=crunch() got slower::")), "{stdout}");
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(out.join("scalene.sarif")).unwrap()).unwrap();
    assert_valid_sarif(&sarif);
    let run = &sarif["runs"][0];
    let root = std::fs::canonicalize(&repo).unwrap();
    assert_eq!(run["originalUriBaseIds"]["SRCROOT"]["uri"], format!("file://{}/", root.display()));
    let results = run["results"].as_array().unwrap();
    let at = |line: u64| {
        results.iter().find(|result| {
            let location = &result["locations"][0]["physicalLocation"];
            location["artifactLocation"]["uri"] == "bench/work.py" && location["artifactLocation"]["uriBaseId"] == "SRCROOT" && location["region"]["startLine"] == line
        })
    };
    let crunch = at(def_line).unwrap_or_else(|| panic!("no result on crunch()'s line {def_line}: {results:#?}"));
    assert_eq!((crunch["ruleId"].as_str(), crunch["level"].as_str()), (Some("cpu-regression"), Some("warning")), "{crunch:#}");
    let message = crunch["message"]["text"].as_str().unwrap();
    assert!(message.contains(" s → ") && message.contains("error rate"), "{message}");
    // The biggest regression comes first. (Other functions may be named too when the machine's load
    // moved between the two series more than the unchanged code could show; this test does not ask
    // the noise rule for more than it promises on a shared machine.)
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64(), Some(def_line), "{results:#?}");
    assert!(at(loop_line).is_some_and(|result| result["level"] == "warning"), "the loop that counts further: {results:#?}");
    let markdown = std::fs::read_to_string(out.join("scalene.md")).unwrap();
    let link = format!("[bench/work.py:{def_line}](https://github.example/octo/bench/blob/{slower}/bench/work.py#L{def_line})");
    assert!(markdown.starts_with("### 🔺 scalene-lsp:") && markdown.contains(&link) && markdown.contains("`crunch()`"), "{markdown}");
    assert!(markdown.contains(&format!("git checkout {base}")), "how to reproduce: {markdown}");

    // slower → same (README only): nothing to report, the gate passes.
    let out = temp.path().join("out-same");
    let output = run_recipe(&commands, &repo, &slower, &same, &out);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "a change that changes nothing passes:\n{stdout}\n{stderr}");
    assert!(!stdout.contains("::warning"), "{stdout}");
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(out.join("scalene.sarif")).unwrap()).unwrap();
    assert_valid_sarif(&sarif);
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(0), "{sarif:#}");
    let markdown = std::fs::read_to_string(out.join("scalene.md")).unwrap();
    assert!(markdown.starts_with("### ✅ scalene-lsp: no regressions beyond the noise"), "{markdown}");
}
