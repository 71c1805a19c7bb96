//! The engine against real Scalene: statuses, argv, cancel, timeout, clean-up, errors, sharing.

use std::path::Path;
use std::time::Duration;

use scalene_lsp::engine::{
    Engine, EngineError, EngineSettings, Mode, ProfileRequest, RunStatus, Program, keep::cache::CacheSettings,
};

use crate::support::{self, TempProject};

/// An engine whose run dirs go to a private temp root, so a test can check that none is left.
fn engine(temp_root: &Path, max_runs: usize) -> Engine {
    Engine::new(EngineSettings {
        max_concurrent_runs: max_runs,
        default_timeout: Duration::from_secs(120),
        cache: CacheSettings::default(),
        temp_root: temp_root.to_path_buf(),
        discovery_env: Default::default(),
        preflight_store: None,
        // The engine's runs here get the real binary as their watchdog, as the CLI's do.
        watchdog: Some(env!("CARGO_BIN_EXE_scalene-lsp").into()),
        ..EngineSettings::default()
    })
}

fn request(path: &Path) -> ProfileRequest {
    ProfileRequest {
        program: Some(Program::Script(path.to_path_buf())),
        python: Some(support::python()),
        ..ProfileRequest::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn fixture_programs_give_their_statuses_and_leave_nothing_behind() {
    let temp_root = tempfile::tempdir().unwrap();
    let engine = engine(temp_root.path(), 2);
    runtime().block_on(async {
        let cpu = engine.profile(request(&support::program("cpu_bound.py"))).await.unwrap();
        assert_eq!(cpu.profile.status, RunStatus::Ok);
        assert_eq!(cpu.profile.exit_code, Some(0));
        assert_eq!(cpu.profile.scalene_version.as_deref(), Some("2.4.0"));
        let file = &cpu.profile.files[0];
        let hot = file.lines.iter().max_by(|a, b| a.cpu_total().total_cmp(&b.cpu_total())).unwrap();
        assert!([8, 7, 13, 15].contains(&hot.line), "hottest line {}", hot.line);
        assert!(cpu.profile.memory);

        let raises = engine.profile(request(&support::program("raises.py"))).await.unwrap();
        assert_eq!(raises.profile.status, RunStatus::ProgramFailed);
        assert_eq!(raises.profile.exit_code, Some(1));
        assert!(raises.profile.files[0].lines.iter().any(|line| line.cpu_total() > 10.0), "the profile up to the crash is kept");
        let stderr = raises.profile.stderr_tail.as_deref().unwrap();
        assert!(stderr.contains("RuntimeError: deliberate failure after the work"), "{stderr}");
        assert!(!stderr.contains("/scalene/scalene_profiler.py"), "Scalene's own frames are dropped: {stderr}");
        assert!(raises.profile.notes.iter().any(|note| note.contains("exited with code 1")));

        let exits = engine.profile(request(&support::program("exits_nonzero.py"))).await.unwrap();
        assert_eq!((exits.profile.status, exits.profile.exit_code), (RunStatus::ProgramFailed, Some(3)));
        assert!(!exits.profile.files.is_empty());

        let short = engine.profile(request(&support::program("too_short.py"))).await.unwrap();
        assert_eq!(short.profile.status, RunStatus::TooShort);
        assert!(short.profile.notes[0].contains("run longer"), "{:?}", short.profile.notes);

        let threads = engine.profile(request(&support::program("threads.py"))).await.unwrap();
        assert_eq!(threads.profile.status, RunStatus::Ok);
        // Time spent in the worker threads is measured (Scalene charges it to varying lines of `spin`, and
        // partly to the main thread's `join`).
        let spin = threads.profile.files[0].functions.iter().find(|function| function.name == "spin").expect("spin is profiled");
        assert!(spin.cpu_total() > 0.0, "the threads' work is measured: {spin:?}");

        let multi = engine.profile(request(&support::program("multi_module/main.py"))).await.unwrap();
        let names: Vec<_> = multi.profile.files.iter().map(|f| f.path.file_name().unwrap().to_owned()).collect();
        assert!(names.contains(&"geometry.py".into()) && names.contains(&"text.py".into()), "{names:?}");
        for name in ["main.py", "pkg/geometry.py", "pkg/text.py"] {
            let path = support::program("multi_module").join(name).canonicalize().unwrap();
            assert_eq!(engine.cache().latest_for_file(&path).unwrap().id, multi.id, "{name} is covered");
        }
    });
    assert!(support::entries(temp_root.path()).is_empty(), "left behind: {:?}", support::entries(temp_root.path()));
}

#[test]
fn program_arguments_arrive_exactly_as_given() {
    let temp_root = tempfile::tempdir().unwrap();
    let engine = engine(temp_root.path(), 2);
    let args: Vec<String> =
        ["300000", "--flag", "two words", "-x", "", "ünïcode", "$HOME", "*.py", "---", "--cpu-only", "; rm -rf /"]
            .into_iter()
            .map(String::from)
            .collect();
    let profile = runtime().block_on(async {
        let mut request = request(&support::program("reads_argv.py"));
        request.args = args.clone();
        engine.profile(request).await.unwrap()
    });
    let stdout = profile.profile.stdout_tail.as_deref().unwrap();
    let echoed: Vec<String> = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(echoed, args);
    assert_eq!(profile.profile.args, args);
}

#[test]
fn a_bare_double_dash_argument_is_refused_not_reordered() {
    let temp_root = tempfile::tempdir().unwrap();
    let engine = engine(temp_root.path(), 2);
    let mut request = request(&support::program("reads_argv.py"));
    request.args = vec!["a".into(), "--".into(), "b".into()];
    let err = engine.start(request).err().expect("refused");
    assert!(matches!(err, EngineError::UnpassableArgument { position: 2 }), "{err:?}");
    assert!(err.to_string().contains("wrong order"), "{err}");
}

#[test]
fn cancel_mid_run_keeps_the_partial_profile_and_kills_the_group() {
    let project = TempProject::new();
    let program = project.write("forever.py", &support::long_program(120.0));
    let temp_root = tempfile::tempdir().unwrap();
    let engine = engine(temp_root.path(), 2);
    let marker = project.path().join("running.txt");
    let entry = runtime().block_on(async {
        let mut request = request(&program);
        request.args = vec![marker.display().to_string()];
        let handle = engine.start(request).unwrap();
        // Wait until the program runs under Scalene (start-up takes seconds on a busy machine), then
        // let Scalene sample it for a while.
        for _ in 0..1200 {
            if marker.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(marker.exists(), "the program never started under Scalene");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(engine.running(), vec![handle.run_id]);
        assert!(engine.cancel(None), "cancels the latest run");
        handle.wait().await.unwrap()
    });
    assert_eq!(entry.profile.status, RunStatus::Cancelled);
    assert_eq!(entry.profile.exit_code, None, "a stopped run's exit status is our signal's, not the program's");
    let file = entry.profile.files.first().unwrap_or_else(|| panic!("no partial profile: {:?}", entry.profile.notes));
    assert!(file.lines.iter().any(|line| line.text.contains("total += i % 7")), "partial profile: {:?}", file.lines);
    assert!(entry.profile.notes.iter().any(|note| note.contains("cancelled")));
    assert!(support::processes_mentioning(program.to_str().unwrap()).is_empty(), "a process of the run survived");
    assert!(support::entries(temp_root.path()).is_empty(), "left behind: {:?}", support::entries(temp_root.path()));
    assert!(engine.running().is_empty());
}

#[test]
fn timeout_stops_the_run_keeps_what_was_measured_and_leaves_nothing() {
    let project = TempProject::new();
    let program = project.write("slow.py", &support::long_program(120.0));
    let temp_root = tempfile::tempdir().unwrap();
    let engine = engine(temp_root.path(), 2);
    let entry = runtime().block_on(async {
        let mut request = request(&program);
        // Long enough for Scalene to start and sample even on a busy machine; the program runs 120 s.
        request.timeout = Some(Duration::from_secs(10));
        request.mode = Mode::Cpu;
        engine.profile(request).await.unwrap()
    });
    assert_eq!(entry.profile.status, RunStatus::TimedOut);
    assert_eq!(entry.profile.exit_code, None);
    assert!(
        entry.profile.files.iter().flat_map(|file| &file.lines).any(|line| line.text.contains("total += i % 7")),
        "what was measured before the stop is kept: {:?}",
        entry.profile.notes
    );
    assert!(entry.profile.notes.iter().any(|note| note.contains("time limit of 10 s")), "{:?}", entry.profile.notes);
    assert!(support::processes_mentioning(program.to_str().unwrap()).is_empty(), "a process of the run survived");
    assert!(support::entries(temp_root.path()).is_empty(), "left behind: {:?}", support::entries(temp_root.path()));
}

#[test]
fn errors_without_a_profile_say_what_to_do() {
    let project = TempProject::new();
    let temp_root = tempfile::tempdir().unwrap();
    let engine = engine(temp_root.path(), 2);
    runtime().block_on(async {
        let err = engine.profile(request(&support::program("syntax_error.py"))).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, EngineError::SyntaxError { .. }), "{err:?}");
        assert!(text.contains("def broken(:") && text.contains("SyntaxError: invalid syntax"), "{text}");
        assert!(!text.contains("scalene_profiler.py"), "{text}");

        let err = engine.profile(request(&project.path().join("missing.py"))).await.unwrap_err();
        assert!(matches!(err, EngineError::ProgramNotFound { .. }), "{err:?}");

        let bare = project.venv("bare-venv", false);
        let mut no_scalene = request(&support::program("cpu_bound.py"));
        no_scalene.python = Some(bare.clone());
        let err = engine.profile(no_scalene).await.unwrap_err();
        assert!(matches!(err, EngineError::ScaleneMissing { .. }), "{err:?}");
        assert!(err.to_string().contains(&format!("Fix: \"{}\" -m pip install scalene", bare.display())), "{err}");

        let mut no_python = request(&support::program("cpu_bound.py"));
        no_python.python = Some(project.path().join("nope/bin/python"));
        let err = engine.profile(no_python).await.unwrap_err();
        assert!(matches!(err, EngineError::InterpreterMissing { .. }), "{err:?}");

        // A program inside the interpreter's own prefix would silently give `{}`: refused instead.
        let venv_python = project.venv("lib-venv", true);
        let inside = project.write("lib-venv/tool.py", "print(sum(range(10**7)))\n");
        let mut in_prefix = request(&inside);
        in_prefix.python = Some(venv_python);
        let err = engine.profile(in_prefix).await.unwrap_err();
        assert!(matches!(err, EngineError::ProgramInLibraryPath { .. }), "{err:?}");
        assert!(err.to_string().contains("move the program outside"), "{err}");

        // A directory as the program, or as the interpreter: said so, with the fix.
        let err = engine.profile(request(project.path())).await.unwrap_err();
        assert!(err.to_string().contains("is a directory, not a Python file") && err.to_string().contains("-m package"), "{err}");
        let mut folder_python = request(&support::program("cpu_bound.py"));
        folder_python.python = Some(project.path().join("bare-venv"));
        let err = engine.profile(folder_python).await.unwrap_err();
        assert!(err.to_string().contains("is a directory. Fix: give the interpreter itself") && err.to_string().contains("bare-venv/bin/python"), "{err}");

        // A source that is not UTF-8: the line and the byte, before anything runs.
        let latin = project.path().join("latin.py");
        std::fs::write(&latin, b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\nprint(name)\n").unwrap();
        let err = engine.profile(request(&latin)).await.unwrap_err();
        assert!(matches!(err, EngineError::SourceNotUtf8 { line: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("line 2: byte 0xe9") && err.to_string().contains("save the file as UTF-8"), "{err}");

        // An argument that makes Scalene's own argument parser stop.
        let mut bad_argument = request(&support::program("cpu_bound.py"));
        bad_argument.args = vec!["--=x".into()];
        let err = engine.profile(bad_argument).await.unwrap_err();
        assert!(matches!(err, EngineError::ArgumentsRejected { .. }), "{err:?}");
        assert!(err.to_string().contains("ambiguous option: --=x"), "Scalene's own reason: {err}");
    });
    assert!(support::entries(temp_root.path()).is_empty());
}

#[test]
fn the_project_venv_is_found_without_configuration() {
    let project = TempProject::new();
    project.venv(".venv", true);
    let program = project.write("app/main.py", "def work():\n    return sum(i * i for i in range(3_000_000))\n\nprint(work())\n");
    let temp_root = tempfile::tempdir().unwrap();
    let engine = engine(temp_root.path(), 2);
    let resolved = runtime().block_on(async {
        let request = ProfileRequest { program: Some(Program::Script(program.clone())), ..ProfileRequest::default() };
        let resolved = engine.plan(&request).await.unwrap();
        let entry = engine.profile(request).await.unwrap();
        assert_eq!(entry.profile.status, RunStatus::Ok);
        resolved
    });
    assert_eq!(resolved.interpreter.path, project.path().join(".venv/bin/python"));
    assert_eq!(resolved.spec.cwd, project.path().canonicalize().unwrap(), "cwd is the project root");
}

#[test]
fn identical_requests_share_one_run_and_the_queue_is_bounded() {
    let project = TempProject::new();
    let slow = project.write("slow.py", &support::long_program(3.0));
    let other = project.write("other.py", &support::long_program(1.0));
    let temp_root = tempfile::tempdir().unwrap();
    let engine = engine(temp_root.path(), 1);
    runtime().block_on(async {
        let first = engine.start(request(&slow)).unwrap();
        let second = engine.start(request(&slow)).unwrap();
        assert_eq!(first.run_id, second.run_id);
        assert!(!first.joined && second.joined);
        let mut different = request(&slow);
        different.args = vec!["x".into()];
        let third = engine.start(different).unwrap();
        let fourth = engine.start(request(&other)).unwrap();
        assert_ne!(third.run_id, first.run_id);
        // With one slot, never more than one run dir exists at a time (the start-up shortcut's one-off
        // probe, which runs in that slot, keeps its program in a folder of its own).
        let mut most = 0;
        let watch = async {
            loop {
                most = most.max(support::entries(temp_root.path()).iter().filter(|name| !name.contains("-probe-")).count());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let results = tokio::select! {
            results = futures::future::join4(first.wait(), second.wait(), third.wait(), fourth.wait()) => results,
            () = watch => unreachable!(),
        };
        let (a, b, c, d) = results;
        let (a, b, c, d) = (a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap());
        assert_eq!(a.id, b.id, "the shared run gives one profile");
        assert_ne!(a.id, c.id);
        assert_ne!(c.id, d.id);
        assert_eq!(most, 1, "runs were queued, one at a time");
    });
    assert!(support::entries(temp_root.path()).is_empty());
}

#[test]
fn environment_additions_and_module_targets_reach_the_program() {
    let project = TempProject::new();
    project.write(
        "app/__main__.py",
        "import os\nprint(os.environ['SCALENE_LSP_MARK'])\nprint(sum(i * i for i in range(3_000_000)))\n",
    );
    project.write("app/__init__.py", "");
    let temp_root = tempfile::tempdir().unwrap();
    let engine = engine(temp_root.path(), 2);
    let entry = runtime().block_on(async {
        let request = ProfileRequest {
            program: Some(Program::Module("app".into())),
            python: Some(support::python()),
            cwd: Some(project.path().to_path_buf()),
            env: vec![("SCALENE_LSP_MARK".into(), "mark with spaces".into())],
            ..ProfileRequest::default()
        };
        engine.profile(request).await.unwrap()
    });
    let stdout = entry.profile.stdout_tail.as_deref().unwrap();
    assert_eq!(stdout.lines().next(), Some("mark with spaces"), "{stdout}");
    assert!(entry.profile.args.is_empty(), "`-m app` is the program, not an argument: {:?}", entry.profile.args);
    assert_eq!(entry.profile.status, RunStatus::Ok, "{:?}", entry.profile.notes);
    assert!(entry.profile.files.iter().any(|file| file.path.ends_with("app/__main__.py")), "{:?}", entry.profile.files);
}

#[test]
fn a_successful_preflight_is_remembered_across_processes_until_scalene_changes() {
    use scalene_lsp::engine::run::interpreter::PreflightCache;
    let project = TempProject::new();
    let python = project.venv("venv", true);
    let store = project.path().join("cache/scalene-lsp/preflight-v1.json");
    runtime().block_on(async {
        let first = PreflightCache::with_store(Some(store.clone())).check(&python).await.unwrap();
        assert_eq!(first.scalene_version, "2.4.0");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&store).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(store.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);

        // Another process (a fresh cache on the same store) answers from the store without running
        // Python: a value marked in the stored copy comes back.
        let stored = std::fs::read_to_string(&store).unwrap();
        assert!(stored.contains(python.to_str().unwrap()), "{stored}");
        std::fs::write(&store, stored.replace("\"python_version\":\"", "\"python_version\":\"stored-")).unwrap();
        let second = PreflightCache::with_store(Some(store.clone())).check(&python).await.unwrap();
        assert!(second.python_version.starts_with("stored-"), "{second:?}");

        // When a run shows that Scalene no longer imports there, the engine invalidates the entry: the
        // next check runs Python again and reports the missing Scalene.
        let site = std::fs::read_dir(project.path().join("venv/lib")).unwrap().next().unwrap().unwrap().path();
        std::fs::remove_file(site.join("site-packages/test-scalene.pth")).unwrap();
        let cache = PreflightCache::with_store(Some(store.clone()));
        cache.invalidate(&python);
        let err = cache.check(&python).await.unwrap_err();
        assert!(matches!(err, EngineError::ScaleneMissing { .. }), "{err:?}");
        assert!(!std::fs::read_to_string(&store).unwrap().contains(python.to_str().unwrap()), "failures are not stored");
    });
}
