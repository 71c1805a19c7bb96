"""scalene-lsp's pytest plugin for suite runs (`scalene-lsp profile --tests`), loaded with `-p`.

It records, as JSON lines in the file named by $SCALENE_LSP_TESTS_LOG, when each test and each of its
phases (setup, call, teardown) began and ended on time.perf_counter (the clock of Scalene's samples)
with the process's CPU time then (time.process_time less Scalene's own sampling work: a phase's CPU
seconds, measured), each phase's outcome, collection errors, and Scalene's own time origins, so that scalene-lsp can give
every sample to the test that was running. Each line is flushed at once: a test that hangs or calls
os._exit leaves everything before it on disk. It changes nothing in how tests run; in Scalene it only
times the steps of its sampling and lets its JSON keep every file that has samples.
"""
import json
import os
import time

import pytest

_LOG = os.environ.get("SCALENE_LSP_TESTS_LOG")
_out = None
_origins_written = False


def _write(record):
    global _out
    if not _LOG:
        return
    if _out is None:
        _out = open(_LOG, "a", encoding="utf-8")
    _out.write(json.dumps(record, separators=(",", ":")) + "\n")
    _out.flush()


def _scalene_origins():
    """Scalene's time origins (internals of Scalene 2.x, read if present): the perf_counter time of
    its first sampled stack (the timeline's t_sec is relative to it) and its start in monotonic ns
    (the memory footprint samples' origin). Written once, as soon as the timeline has a sample."""
    global _origins_written
    if _origins_written:
        return
    try:
        from scalene.scalene_profiler import Scalene
        timeline = Scalene._Scalene__stats.combined_stacks_timeline
        if not timeline:
            return
        start_ns = getattr(Scalene, "_Scalene__start_time", None)
        _write({"ev": "origins", "timeline_t0": timeline[0].timestamp, "start_ns": start_ns})
        _origins_written = True
    except Exception as err:  # an other Scalene: say so once, scalene-lsp falls back
        _write({"ev": "origins", "timeline_t0": None, "start_ns": None, "error": repr(err)[:200]})
        _origins_written = True


_sampling_cpu = 0.0


def _cpu():
    """The process's CPU seconds so far, without Scalene's own work at its samples."""
    return time.process_time() - _sampling_cpu


def _time_scalenes_sampling():
    """Scalene takes each sample in the profiled process: walking and recording the stacks costs CPU time
    (about a tenth of a busy test's, more in a test that first meets a stack), which would count as the
    test's. Time those steps (internals of Scalene 2.x, wrapped where they are looked up at each sample),
    so that a phase's CPU seconds are its own."""
    try:
        from scalene import scalene_profiler as profiler
        from scalene.scalene_profiler import Scalene
    except Exception:
        profiler = Scalene = None

    depth = [0]  # only the outermost timed step counts, should one call another

    def timed(function):
        def wrapper(*args, **kwargs):
            global _sampling_cpu
            depth[0] += 1
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    _sampling_cpu += time.process_time() - start
        return wrapper

    wrapped = 0
    for name in ("compute_frames_to_record", "drain_native_stacks", "drain_perthread_stacks", "signal_all_threads"):
        if callable(getattr(profiler, name, None)):
            setattr(profiler, name, timed(getattr(profiler, name)))
            wrapped += 1
    if callable(getattr(Scalene, "_process_cpu_sample", None)):
        Scalene._process_cpu_sample = staticmethod(timed(Scalene._process_cpu_sample))
        wrapped += 1
    if not wrapped:
        _write({"ev": "note", "text": "this Scalene's sampling could not be timed (its internals differ from Scalene 2.4's): "
                "each test's CPU seconds include Scalene's own work at its samples (about a tenth of a busy test's)"})


def _report_every_file():
    """Scalene 2.x leaves out of its JSON every file whose CPU time is under 1 % of the run's elapsed (wall)
    time, and its --cpu-percent-threshold does not reach the JSON writer. A suite run samples CPU time,
    so in a suite that mostly waits (a hung test stopped by the time limit, tests waiting on I/O) every
    file falls under it and Scalene writes nothing: report every file that has samples."""
    try:
        from scalene.scalene_json import ScaleneJSON
        ScaleneJSON.cpu_percent_threshold = 0
    except Exception:  # an other Scalene: its own rule stands
        _write({"ev": "note", "text": "this Scalene's JSON writer could not be told to keep every file (its internals differ "
                "from Scalene 2.4's): files under 1 % of the run's wall time may be missing, and their lines from the tests' hot lines"})


def pytest_configure(config):
    _report_every_file()
    _time_scalenes_sampling()
    workers = getattr(config.option, "numprocesses", None)
    dist = getattr(config.option, "dist", "no")
    if workers or (dist not in (None, "no")) or hasattr(config, "workerinput"):
        _write({"ev": "xdist", "workers": str(workers), "dist": str(dist)})
        raise pytest.UsageError(
            "scalene-lsp: a suite run cannot use pytest-xdist (-n/--dist): Scalene samples only the main "
            "process, so the workers' tests would show no time. Run without -n (e.g. -p no:xdist or -n 0)."
        )


def pytest_collectreport(report):
    if report.failed:
        text = str(report.longreprtext or "").strip().splitlines()
        _write({"ev": "collect_error", "node": report.nodeid, "message": "\n".join(text[-6:])[:1000]})


def pytest_collection_finish(session):
    _write({"ev": "collected", "n": len(session.items)})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _scalene_origins()
    function = getattr(item, "function", None)
    code = getattr(function, "__code__", None)
    line = code.co_firstlineno if code is not None else (item.location[1] or 0) + 1
    path = item.path if hasattr(item, "path") else item.fspath  # pytest < 7 has only fspath
    _write({"ev": "start", "node": item.nodeid, "file": str(path), "line": line,
            "t": time.perf_counter()})
    yield
    _write({"ev": "end", "node": item.nodeid, "t": time.perf_counter()})
    _scalene_origins()


def _phase(when):
    @pytest.hookimpl(hookwrapper=True)
    def hook(item, *args):
        _write({"ev": "begin", "node": item.nodeid, "when": when, "t": time.perf_counter(), "cpu": _cpu()})
        yield
        _write({"ev": "done", "node": item.nodeid, "when": when, "t": time.perf_counter(), "cpu": _cpu()})
    return hook


pytest_runtest_setup = _phase("setup")
pytest_runtest_call = _phase("call")
pytest_runtest_teardown = _phase("teardown")


def pytest_runtest_logreport(report):
    outcome = report.outcome
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
    message = None
    if report.failed:
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        lines = str(getattr(crash, "message", None) or report.longreprtext or "").strip().splitlines()
        message = (lines[0] if crash is not None and lines else (lines or [""])[-1])[:300]
    _write({"ev": "report", "node": report.nodeid, "when": report.when, "outcome": outcome, "message": message})


def pytest_sessionfinish(session, exitstatus):
    _scalene_origins()
    _write({"ev": "session_end", "exit": int(exitstatus)})
