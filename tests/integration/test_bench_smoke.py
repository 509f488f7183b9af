"""Smoke runs of the benchmarks with tiny counts, so that they cannot rot."""

import pathlib
import shutil
import sys

import pytest

from conftest import ROOT, run


def test_startup_bench_runs(tmp_path):
    ran = run([sys.executable, ROOT / "bench" / "startup_bench.py", "--runs", "1",
               "--no-callgrind"], timeout=300)
    assert ran.returncode == 0, ran
    assert "interpreter: " in ran.stdout and "pre-init" in ran.stdout, ran
    assert "python -m auditwall run, whole" in ran.stdout, ran
    assert "auto-load in a child of an auto-loaded process" in ran.stdout, ran


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_startup_bench_counts_the_front_ends_own_processes():
    # Each front end is counted up to its exec, which it is made to fail: front_ends() requires
    # the status of that failure (127), which a front end reaches only past the policy.
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import startup_bench
    finally:
        sys.path.pop(0)
    counts = startup_bench.front_ends(str(ROOT / "tests" / "fixtures" / "deny-system.yaml"))
    assert set(counts) == {startup_bench.FRONT_END_RUN, startup_bench.FRONT_END_LAUNCH}, counts
    assert all(100_000 < n < 20_000_000 for n in counts.values()), counts
