"""`list_python_processes` and `attach` through the official Python SDK (stdio and HTTP): a real
Python process started in the workspace is listed first and sampled by py-spy (source "py-spy", its two
functions measured, the process still running afterwards); a process outside the workspace is refused
unless the server allows it; bad durations are invalid params."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from mcp import MCPError

from conftest import FIXTURES, python, text_of

pytestmark = pytest.mark.anyio


def start_target(folder: Path) -> subprocess.Popen:
    script = folder / "split.py"
    shutil.copy(FIXTURES / "programs" / "split_70_30.py", script)
    child = subprocess.Popen([python(), str(script), "120"], cwd=folder, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


def running(child: subprocess.Popen) -> bool:
    state = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return child.poll() is None and state not in ("T", "t")


async def test_a_workspace_process_is_listed_first_and_attached(connect, workspace):
    child = start_target(workspace)
    try:
        async with connect() as client:
            listed = await client.call_tool("list_python_processes", {})
            assert not listed.is_error, text_of(listed)
            processes = listed.structured_content["processes"]
            assert processes[0]["pid"] == child.pid and processes[0]["in_workspace"], processes[:3]
            result = await client.call_tool("attach", {"pid": child.pid, "duration_s": 2})
            assert not result.is_error, text_of(result)
            summary = result.structured_content
            assert summary["source"] == "py-spy" and summary["memory"] is False and summary["status"] == "ok"
            names = {function["name"] for function in summary["functions"]}
            assert {"heavy", "light"} <= names, summary["functions"]
            assert summary["run_id"].startswith("run-")
            assert "py-spy's wall-clock samples" in summary["more"], summary["more"]
        assert running(child), "the process keeps running after the attach"
    finally:
        child.kill()
        child.wait()


def outside_target(tmp_path: Path) -> subprocess.Popen:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return start_target(elsewhere)


async def test_a_process_outside_the_workspace_is_refused_without_the_setting(connect, tmp_path):
    child = outside_target(tmp_path)
    try:
        async with connect() as client:
            listed = await client.call_tool("list_python_processes", {})
            row = next(row for row in listed.structured_content["processes"] if row["pid"] == child.pid)
            assert row["in_workspace"] is False
            refused = await client.call_tool("attach", {"pid": child.pid, "duration_s": 1})
            assert refused.is_error
            assert "not this workspace's" in text_of(refused) and "allowCode" in text_of(refused)
        assert running(child)
    finally:
        child.kill()
        child.wait()


async def test_a_process_outside_the_workspace_is_attached_with_the_setting(connect, tmp_path):
    child = outside_target(tmp_path)
    try:
        async with connect("--allow-code") as client:
            result = await client.call_tool("attach", {"pid": child.pid, "duration_s": 1})
            assert not result.is_error, text_of(result)
            assert result.structured_content["source"] == "py-spy"
        assert running(child)
    finally:
        child.kill()
        child.wait()


async def test_bad_durations_are_invalid_params_and_bad_pids_refused(connect):
    async with connect() as client:
        for duration in [0, 61, -1]:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("attach", {"pid": 1, "duration_s": duration})
            assert raised.value.error.code == -32602 and "duration_s" in raised.value.error.message
        gone = subprocess.Popen(["true"])
        gone.wait()
        refused = await client.call_tool("attach", {"pid": gone.pid})
        assert refused.is_error and "no such process" in text_of(refused)


async def test_thread_counts_one_thread_and_an_empty_one_is_invalid(connect, workspace):
    script = workspace / "changes.py"
    shutil.copy(FIXTURES / "programs" / "attach_changes.py", script)
    child = subprocess.Popen([python(), str(script), "threads", "60"], cwd=workspace, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    try:
        async with connect() as client:
            result = await client.call_tool("attach", {"pid": child.pid, "duration_s": 1.5, "thread": "churn"})
            assert not result.is_error, text_of(result)
            names = {function["name"] for function in result.structured_content["functions"]}
            assert "churn" in names and "crunch" not in names, names
            with pytest.raises(MCPError) as raised:
                await client.call_tool("attach", {"pid": child.pid, "thread": ""})
            assert raised.value.error.code == -32602 and "thread needs a thread's name or id" in raised.value.error.message
        assert running(child)
    finally:
        child.kill()
        child.wait()
