"""`profile_tests` and `slowest_tests` through the official Python SDK over stdio and HTTP: the fixture
suite (fixtures/programs/pytest_suite, tests burning known units of work) run once under Scalene,
its tests ranked with their hot lines; bounded output; xdist refused; no suite run yet."""

from __future__ import annotations

import shutil

import pytest

from conftest import FIXTURES, text_of

pytestmark = pytest.mark.anyio


def add_suite(workspace) -> None:
    suite = FIXTURES / "programs/pytest_suite"
    shutil.copytree(suite / "tests", workspace / "tests")
    for name in ["work.py", "pyproject.toml"]:
        shutil.copy(suite / name, workspace / name)


async def test_profile_tests_ranks_the_suites_tests_and_slowest_tests_reads_them_back(connect, workspace):
    add_suite(workspace)
    async with connect() as client:
        none_yet = await client.call_tool("slowest_tests", {})
        assert none_yet.is_error and "Fix: call profile_tests" in text_of(none_yet)

        refused = await client.call_tool("profile_tests", {"args": ["-n", "2"]})
        assert refused.is_error and "pytest-xdist" in text_of(refused), text_of(refused)

        result = await client.call_tool("profile_tests", {"path": "tests/test_heavy.py", "args": ["-k", "not fails_after"], "limit": 3})
        assert not result.is_error, text_of(result)
        suite = result.structured_content
        assert suite["status"] == "ok" and suite["run_id"].startswith("run-"), suite
        assert suite["tests_run"] == 7 and len(suite["tests"]) == 3 and suite["omitted"] == 4, suite
        assert {"outcome": "skipped", "count": 1} in suite["outcomes"]
        slowest = suite["tests"][0]
        assert slowest["node_id"] in ("tests/test_heavy.py::test_heaviest", "tests/test_heavy.py::test_param[24]"), suite["tests"]
        assert slowest["path"] == "tests/test_heavy.py" and slowest["line"] > 0 and slowest["outcome"] == "passed"
        assert slowest["seconds"] > 0 and 10 < slowest["percent_of_suite"] < 60, slowest
        hot = slowest["hottest"][0]
        assert hot["path"] == "work.py" and "total" in hot["source"] and hot["percent_of_test"] > 80, hot

        again = await client.call_tool("slowest_tests", {"limit": 100})
        assert not again.is_error, text_of(again)
        listed = again.structured_content
        assert listed["profile_id"] == suite["profile_id"] and len(listed["tests"]) == 7 and listed["omitted"] == 0
        fixture = next(test for test in listed["tests"] if test["node_id"].endswith("test_with_fixture"))
        assert fixture["setup_s"] > fixture["teardown_s"] > 0, fixture

        only_file = await client.call_tool("slowest_tests", {"path": "tests/test_light.py"})
        assert only_file.is_error and "no pytest suite run" in text_of(only_file), text_of(only_file)
