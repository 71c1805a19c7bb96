"""Saved profiles and comparisons through the official Python SDK (stdio and streamable HTTP):
save_profile, list_saved, delete_saved, cleanup_saved, compare and the scalene://saved resources; the
verdicts are the CLI's (`scalene-lsp compare --json`) on the captured versions of one program, and a live
baseline → slower function → compare names it; saved profiles of other projects stay hidden."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from mcp import MCPError

from conftest import FIXTURES, binary, store_dir_for, text_of

pytestmark = pytest.mark.anyio

MANIFEST = json.loads((FIXTURES / "scalene/2.4.0/MANIFEST.json").read_text())


def copy_version(workspace: Path, name: str) -> None:
    """The captured profile and its program in the workspace, the JSON's paths pointing there."""
    entry = MANIFEST["fixtures"][name]
    captured_at = entry.get("programs_dir", MANIFEST["programs_dir"])
    raw = (FIXTURES / f"scalene/2.4.0/{name}.json").read_text()
    assert captured_at in raw, f"{captured_at} does not appear in {name}.json"
    (workspace / f"{name}.json").write_text(raw.replace(captured_at, str(workspace)))
    shutil.copy(FIXTURES / "programs" / f"{name}.py", workspace / f"{name}.py")


def cli_compare(before: Path, after: Path, store: Path) -> dict:
    env = dict(os.environ, SCALENE_LSP_STORE=str(store))
    out = subprocess.run([str(binary()), "compare", "--json", str(before), str(after)], capture_output=True, env=env, check=False)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


def changed(items: list[dict], key: str) -> dict:
    return {item[key]: item["verdict"] for item in items if item["verdict"] != "unchanged"}


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


async def test_compare_gives_the_cli_verdicts_on_the_captured_versions(connect, workspace, runtime_dir):
    copy_version(workspace, "compare_v1")
    copy_version(workspace, "compare_v2")
    cli = cli_compare(workspace / "compare_v1.json", workspace / "compare_v2.json", store_dir_for(runtime_dir))
    async with connect() as client:
        before = (await client.call_tool("load_profile", {"path": "compare_v1.json"})).structured_content["profile_id"]
        after = (await client.call_tool("load_profile", {"path": "compare_v2.json"})).structured_content["profile_id"]
        result = await client.call_tool("compare", {"before": before, "after": after, "limit": 100})
        assert not result.is_error, text_of(result)
        comparison = result.structured_content
        assert {f["name"]: f["verdict"] for f in comparison["functions"]} == changed(cli["functions"], "name")
        assert changed(comparison["lines"], "after_line") == changed(cli["lines"], "after_line")
        assert comparison["summary"]["verdict"] == cli["summary"]["verdict"] == "regressed"
        assert comparison["summary"]["lines"] == cli["summary"]["lines"], "counts cover everything, listed or not"
        grow = next(f for f in comparison["functions"] if f["name"] == "grow")
        assert grow["verdict"] == "regressed" and grow["path"] == "compare_v2.py" and grow["before_path"] == "compare_v1.py"
        assert grow["after"]["cpu_s"] > grow["before"]["cpu_s"]
        assert round(grow["delta"]["cpu_s"], 2) == grow["delta"]["cpu_s"], "numbers are rounded for agents"
        assert all(line["verdict"] != "unchanged" for line in comparison["lines"]), "only changes are listed"
        assert "grow (compare_v2.py:" in comparison["summary"]["text"]
        small = (await client.call_tool("compare", {"before": before, "after": after, "limit": 1})).structured_content
        assert len(small["lines"]) == 1 and "limit" in small["more"]

        # A saved baseline compares the same way, and is listed and readable as a resource.
        saved = await client.call_tool("save_profile", {"profile_id": before})
        assert not saved.is_error, text_of(saved)
        assert saved.structured_content["saved"]["name"] == "baseline"
        assert saved.structured_content["saved"]["program"] == "compare_v1.py"
        stored = store_dir_for(runtime_dir) / "baseline.json"
        assert stored.stat().st_mode & 0o777 == 0o600 and stored.parent.stat().st_mode & 0o777 == 0o700
        again = (await client.call_tool("compare", {"before": "baseline", "after": after, "limit": 100})).structured_content
        assert changed(again["lines"], "after_line") == changed(cli["lines"], "after_line")
        assert again["before"]["label"] == "baseline"
        listed = (await client.call_tool("list_saved", {})).structured_content
        assert [row["name"] for row in listed["saved"]] == ["baseline"] and listed["other_projects"] == 0
        resources = [str(resource.uri) for resource in (await client.list_resources()).resources]
        assert "scalene://saved" in resources
        listing = json.loads((await client.read_resource("scalene://saved")).contents[0].text)
        assert listing["saved"][0]["name"] == "baseline"
        detail = json.loads((await client.read_resource("scalene://saved/baseline")).contents[0].text)
        assert detail["saved"]["name"] == "baseline" and detail["hotspots"] and detail["functions"]

        # Without `after`: the newest profile in memory of the baseline's program (the loaded compare_v1).
        default = (await client.call_tool("compare", {"before": "baseline"})).structured_content
        assert default["after"]["label"] == before, "the newest profile of the same program"

        alone = await client.call_tool("compare", {"before": before})
        assert alone.is_error and "no other profile of compare_v1.py" in text_of(alone), "not compared with itself"

        deleted = (await client.call_tool("delete_saved", {"name": "baseline"})).structured_content
        assert deleted == {"deleted": True, "name": "baseline"}
        assert (await client.call_tool("delete_saved", {"name": "baseline"})).structured_content["deleted"] is False
        missing = await client.call_tool("compare", {"before": "baseline", "after": after})
        assert missing.is_error and "no saved profile is named" in text_of(missing) and "Fix:" in text_of(missing)


async def test_bad_names_and_ids_are_refused_and_write_nothing(connect, workspace, runtime_dir):
    async with connect() as client:
        loaded = (await client.call_tool("load_profile", {"path": "cpu_bound.json"})).structured_content["profile_id"]
        for name in ["../x", "/tmp/x", "a/b", "", "x" * 65, ".hidden"]:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("save_profile", {"profile_id": loaded, "name": name})
            assert raised.value.error.code == -32602 and "not a valid name" in raised.value.error.message, name
        with pytest.raises(MCPError):
            await client.call_tool("compare", {"before": "../x"})
        with pytest.raises(MCPError):
            await client.read_resource("scalene://saved/..%2Fx")
        gone = await client.call_tool("save_profile", {"profile_id": "p999"})
        assert gone.is_error and "list_profiles" in text_of(gone)
    assert not store_dir_for(runtime_dir).exists(), "nothing was written"
    assert not (runtime_dir.parent / "x.json").exists() and not Path("/tmp/x.json").exists()


async def test_saved_profiles_of_other_projects_are_hidden(connect, workspace, runtime_dir):
    # Saved by the CLI from a profile whose program lies outside this workspace.
    env = dict(os.environ, SCALENE_LSP_STORE=str(store_dir_for(runtime_dir)))
    fixture = FIXTURES / "scalene/2.4.0/cpu_bound.json"
    subprocess.run([str(binary()), "show", "--save", "elsewhere", str(fixture)], capture_output=True, env=env, check=True)
    async with connect() as client:
        listed = (await client.call_tool("list_saved", {})).structured_content
        assert listed["saved"] == [] and listed["other_projects"] == 1
        for tool, arguments in [("compare", {"before": "elsewhere"}), ("delete_saved", {"name": "elsewhere"})]:
            result = await client.call_tool(tool, arguments)
            assert result.is_error and "outside this workspace" in text_of(result), tool
        with pytest.raises(MCPError):
            await client.read_resource("scalene://saved/elsewhere")
    assert (store_dir_for(runtime_dir) / "elsewhere.json").exists(), "an agent cannot delete it"


async def test_cleanup_saved_removes_old_ones_of_this_workspace(connect, workspace, runtime_dir):
    async with connect() as client:
        loaded = (await client.call_tool("load_profile", {"path": "cpu_bound.json"})).structured_content["profile_id"]
        for name in ["old", "new"]:
            assert not (await client.call_tool("save_profile", {"profile_id": loaded, "name": name})).is_error
        old = store_dir_for(runtime_dir) / "old.json"
        ten_days_ago = time.time() - 10 * 86_400
        os.utime(old, (ten_days_ago, ten_days_ago))
        for huge in [1e308, 1e20, -1]:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("cleanup_saved", {"max_age_days": huge})
            assert raised.value.error.code == -32602 and "from 0 to 36500" in raised.value.error.message, huge
        removed = (await client.call_tool("cleanup_saved", {"max_age_days": 5})).structured_content
        assert removed == {"removed": ["old"]}
        assert [row["name"] for row in (await client.call_tool("list_saved", {})).structured_content["saved"]] == ["new"]


LIVE = """\
def slow(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def fast(n):
    total = 0
    for i in range(n):
        total += i * i % 3
    return total


def same(n):
    total = 0
    for i in range(n):
        total ^= i
    return total


if __name__ == "__main__":
    print(slow(SLOW_N))
    print(fast(FAST_N))
    print(same(8_000_000))
"""


async def test_an_agent_saves_a_baseline_changes_two_functions_and_compare_names_them(connect, workspace):
    v1 = "SLOW_N = 3_000_000\nFAST_N = 15_000_000\n\n\n" + LIVE
    v2 = '"""Version 2: slow() does five times the work, fast() a fifth."""\nimport sys\n\nSLOW_N = 15_000_000\nFAST_N = 3_000_000\n\n\n' + LIVE
    (workspace / "app.py").write_text(v1)
    async with connect() as client:
        first = await client.call_tool("profile", {"path": "app.py", "mode": "cpu", "timeout_s": 240})
        assert not first.is_error, text_of(first)
        saved = await client.call_tool("save_profile", {"profile_id": first.structured_content["profile_id"], "name": "baseline"})
        assert not saved.is_error, text_of(saved)
        (workspace / "app.py").write_text(v2)
        second = await client.call_tool("profile", {"path": "app.py", "mode": "cpu", "timeout_s": 240})
        assert not second.is_error, text_of(second)
        result = await client.call_tool("compare", {"before": "baseline", "limit": 100})
        assert not result.is_error, text_of(result)
        comparison = result.structured_content
        assert comparison["after"]["label"] == second.structured_content["profile_id"]
        functions = {f["name"]: f for f in comparison["functions"]}
        assert functions["slow"]["verdict"] == "regressed" and functions["slow"]["after_line"] == line_of(v2, "def slow")
        assert functions["fast"]["verdict"] == "improved" and functions["fast"]["before_line"] == line_of(v1, "def fast")
        # A loop's samples are spread over its lines: at least one carries the change, none the opposite,
        # each matched to the baseline's line of the same text.
        for name, wanted, opposite in [("slow", "regressed", "improved"), ("fast", "improved", "regressed")]:
            lines = [line for line in comparison["lines"] if line.get("function") == name]
            assert any(line["verdict"] == wanted for line in lines), (name, lines)
            assert all(line["verdict"] != opposite for line in lines), (name, lines)
            for line in lines:
                assert line["path"] == "app.py"
                assert v2.splitlines()[line["after_line"] - 1] == v1.splitlines()[line["before_line"] - 1], line
        assert "slow (app.py:" in comparison["summary"]["text"]


async def test_compare_refuses_different_programs_unless_forced_and_says_what_it_could_not_see(connect, workspace):
    copy_version(workspace, "compare_v1")
    copy_version(workspace, "cpu_bound")
    async with connect() as client:
        v1 = (await client.call_tool("load_profile", {"path": "compare_v1.json"})).structured_content["profile_id"]
        other = (await client.call_tool("load_profile", {"path": "cpu_bound.json"})).structured_content["profile_id"]
        refused = await client.call_tool("compare", {"before": v1, "after": other})
        assert refused.is_error and "different programs" in text_of(refused) and "force" in text_of(refused), text_of(refused)
        forced = await client.call_tool("compare", {"before": v1, "after": other, "force": True})
        assert not forced.is_error, text_of(forced)
        copy_version(workspace, "compare_v2")
        v2 = (await client.call_tool("load_profile", {"path": "compare_v2.json"})).structured_content["profile_id"]
        result = (await client.call_tool("compare", {"before": v1, "after": v2})).structured_content
        assert "cannot be seen" in result["summary"]["limits"]
        grow = next(f for f in result["functions"] if f["name"] == "grow")
        test = grow["cpu_test"]
        assert test["ratio"] > 1.5 and test["interval"][0] > 1 and test["detectable_percent"] >= 10, test
        assert result["rule"]["error_rate_percent"] == 1 and result["rule"]["runs"] == [1, 1]
