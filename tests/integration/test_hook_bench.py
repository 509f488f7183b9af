"""A smoke run of bench/hook_bench.py with tiny iteration counts, and the fast-path budget."""

import json
import shutil
import sys

import pytest

from conftest import ROOT, run


def test_hook_bench_runs_and_the_fast_path_stays_within_budget(tmp_path):
    out = tmp_path / "bench.json"
    ran = run([sys.executable, ROOT / "bench" / "hook_bench.py", "--quick", "--json", out], timeout=600)
    assert ran.returncode == 0, ran
    (result,) = json.loads(out.read_text())
    assert set(result["ns_per_event"]) == {"none", "c-empty", "auditwall", "python-hook"}, result
    assert all(ns > 0 for ns in result["ns_per_event"].values()), result
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed: no instruction counts")
    inside = result["hook_instructions_per_event"]
    # an event no rule names costs at most 50 instructions more than an empty C hook
    assert 0 < inside["c-empty"] <= inside["auditwall"] <= inside["c-empty"] + 50, result
    assert result["instructions_per_event"]["c-empty"] > 0, result
    assert "auditwall on an event no rule names" in ran.stdout, ran
