//! Shared helpers: the test interpreter, fixture paths, temp workspaces, process checks.

pub mod lsp_client;
pub mod terminal;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter with Scalene: $SCALENE_LSP_TEST_PYTHON or the repo's .venv.
pub fn python() -> PathBuf {
    let python = std::env::var_os("SCALENE_LSP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"));
    assert!(
        python.is_file(),
        "no test interpreter at {}: run scripts/setup-python (scripts/test does) or set SCALENE_LSP_TEST_PYTHON",
        python.display()
    );
    python
}

/// The real binary as a user runs it: colour not forced off, no active virtual environment, warnings
/// only on stderr.
pub fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scalene-lsp"));
    command.env_remove("NO_COLOR").env_remove("VIRTUAL_ENV").env("RUST_LOG", "warn");
    command
}

/// Runs a command to its end: its output, and its stdout and stderr as text.
pub fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    (output, stdout, stderr)
}

pub fn program(name: &str) -> PathBuf {
    repo().join("fixtures/programs").join(name)
}

pub fn scalene_fixture(version: &str, name: &str) -> PathBuf {
    repo().join("fixtures/scalene").join(version).join(format!("{name}.json"))
}

/// A temp folder with a `pyproject.toml`, so it is its own project root.
pub struct TempProject {
    pub dir: tempfile::TempDir,
}

impl TempProject {
    pub fn new() -> TempProject {
        let dir = tempfile::Builder::new().prefix("scalene-lsp-test-").tempdir().unwrap();
        std::fs::write(dir.path().join("pyproject.toml"), "[project]\nname = \"t\"\n").unwrap();
        TempProject { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A real venv without pip (fast). With `with_scalene`, a .pth file makes the test venv's
    /// site-packages (and so Scalene) importable in it.
    pub fn venv(&self, name: &str, with_scalene: bool) -> PathBuf {
        let venv = self.dir.path().join(name);
        let status = Command::new("python3").args(["-m", "venv", "--without-pip"]).arg(&venv).status().unwrap();
        assert!(status.success());
        if with_scalene {
            let site = Command::new(python())
                .args(["-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                .output()
                .unwrap();
            let site = String::from_utf8(site.stdout).unwrap();
            let target = Command::new(venv.join("bin/python"))
                .args(["-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                .output()
                .unwrap();
            let target = PathBuf::from(String::from_utf8(target.stdout).unwrap().trim());
            std::fs::write(target.join("test-scalene.pth"), site.trim()).unwrap();
        }
        venv.join("bin/python")
    }
}

/// Pids of live processes whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let is_zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|stat| stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
            .unwrap_or(true);
        if !is_zombie && String::from_utf8_lossy(&cmdline).contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

/// Entries of a folder (the engine's temp root in tests: run dirs must not outlive their run).
pub fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

/// A Python program that burns CPU (and some memory) for about `seconds`. Given a path as its first
/// argument, it writes that file once it runs (so a test knows Scalene has started it).
pub fn long_program(seconds: f64) -> String {
    format!(
        "import pathlib\n\
         import sys\n\
         import time\n\
         \n\
         def spin():\n\
         \x20   total = 0\n\
         \x20   for i in range(200_000):\n\
         \x20       total += i % 7\n\
         \x20   return total\n\
         \n\
         def main():\n\
         \x20   if len(sys.argv) > 1:\n\
         \x20       pathlib.Path(sys.argv[1]).write_text(\"running\")\n\
         \x20   end = time.time() + {seconds}\n\
         \x20   keep = []\n\
         \x20   while time.time() < end:\n\
         \x20       spin()\n\
         \x20       keep.append(bytearray(10_000))\n\
         \n\
         if __name__ == \"__main__\":\n\
         \x20   main()\n"
    )
}
