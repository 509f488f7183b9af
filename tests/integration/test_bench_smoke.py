"""Smoke runs of the benchmarks with tiny counts, so that they cannot rot."""

import pathlib
import sys

from conftest import ROOT, run


def test_startup_bench_runs(tmp_path):
    ran = run([sys.executable, ROOT / "bench" / "startup_bench.py", "--runs", "1",
               "--no-callgrind"], timeout=300)
    assert ran.returncode == 0, ran
    assert "interpreter: " in ran.stdout and "pre-init" in ran.stdout, ran
    assert "python -m auditwall run, whole" in ran.stdout, ran
    assert "auto-load in a child of an auto-loaded process" in ran.stdout, ran
