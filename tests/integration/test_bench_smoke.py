"""Smoke runs of the benchmarks with tiny counts, so that they cannot rot."""

import importlib
import shutil
import sys

import pytest

from conftest import ROOT, run


def bench_module(name):
    """Imports one of bench/'s scripts as a module."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


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
    startup_bench = bench_module("startup_bench")
    counts = startup_bench.front_ends(str(ROOT / "tests" / "fixtures" / "deny-system.yaml"))
    assert set(counts) == {startup_bench.FRONT_END_RUN, startup_bench.FRONT_END_LAUNCH}, counts
    assert all(100_000 < n < 20_000_000 for n in counts.values()), counts


def test_startup_phases_runs():
    ran = run([sys.executable, ROOT / "bench" / "startup_phases.py", "--runs", "2"], timeout=300)
    assert ran.returncode == 0, ran
    assert "interpreter: " in ran.stdout and "auditwall run, whole" in ran.stdout, ran
    assert "host + _core armed" in ran.stdout and "one fresh page of memory" in ran.stdout, ran
    assert "the floor of any engine loaded with dlopen()" in ran.stdout, ran


def test_startup_host_is_armed_where_it_says(tmp_path):
    """The host's armed variant runs the program under the policy, and its unarmed ones do
    not: what startup_phases.py measures is what it names."""
    startup_phases = bench_module("startup_phases")
    lib = startup_phases.libpython()
    if lib is None:
        pytest.skip("a statically linked interpreter: no libpython for the host to load")
    policy = str(ROOT / "tests" / "fixtures" / "deny-system.yaml")
    cases = startup_phases.variants(*startup_phases.build_host(tmp_path), lib, policy, 1,
                                    tmp_path)
    marker = tmp_path / "marker"
    code = f"import os; os.system('touch {marker}')"
    for unarmed in (startup_phases.FLOOR, startup_phases.CORE):
        argv, env = cases[unarmed]
        ran = run([argv[0], "-c", code], env=env)
        assert ran.returncode == 0 and marker.exists(), (unarmed, ran)
        marker.unlink()
    argv, env = cases[startup_phases.ARMED]
    ran = run([argv[0], "-c", code], env=env)
    assert ran.returncode == 1 and not marker.exists(), ran
    assert "blocked by rule no-os-system" in ran.stderr, ran
