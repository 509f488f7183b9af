"""Smoke run of the whole benchmark suite (bench/run_all.py --smoke), so that it cannot rot.

Tiny counts, no installs, policies of its own: every part runs (per-event wall times for every variant, callgrind
on two, start-up, the macro workload) and writes its report; the numbers mean nothing.
"""

import json
import shutil
import sys

import pytest

from conftest import ROOT, run


MONITOR_POLICY = """\
version: 1
mode: monitor
rules:
  - id: log-bench-events
    on: [open, exec, compile, import, marshal.loads, pickle.find_class, socket.connect]
    action: log
"""


def test_run_all_smoke_writes_the_report(tmp_path):
    monitor = tmp_path / "monitor.yaml"
    monitor.write_text(MONITOR_POLICY)
    deny = ROOT / "tests" / "fixtures" / "deny-system.yaml"
    out = tmp_path / "out"
    ran = run([sys.executable, ROOT / "bench" / "run_all.py", "--smoke", "--python",
               sys.executable, "--out", out, "--policies", f"{deny},{monitor}:monitor",
               "--macro-policies", f"{monitor}"], timeout=600)
    assert ran.returncode == 0, ran
    report = (out / "performance.md").read_text()
    results = json.loads((out / "performance.json").read_text())
    for part in ("## Targets", "## Per event", "## Start-up", "## Macro workload"):
        assert part in report, report
    variants = results["events"]["variants"]
    assert {"none", "empty-c"} <= set(variants), variants
    assert any(v.startswith("auditwall:") for v in variants), variants
    assert any(v.startswith("python:") for v in variants), variants
    for spec in variants:
        for event in results["events"]["events"]:
            assert results["events"]["wall"][spec][event] > 0, (spec, event)
    if shutil.which("valgrind"):
        assert results["events"]["callgrind"]["none"], results["events"]["callgrind"]
    assert "results" in results["macro"], results["macro"].get("error")


def test_pure_python_reference_decides_like_auditwall(tmp_path):
    """The reference is only a fair comparison if it takes the same decisions."""
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\nrules:\n"
        "  - id: no-shell\n    on: process\n    match: {shell: true}\n    action: deny\n"
        "  - id: pickle-list\n    on: pickle.find_class\n"
        "    match: {not: {global: [collections.OrderedDict]}}\n    action: deny\n")
    program = (
        "import sys, subprocess, pickle, collections\n"
        f"sys.path.insert(0, {str(ROOT / 'bench')!r})\n"
        "import pure_python_reference as r\n"
        f"r.install({str(policy)!r}, log=open('/dev/null', 'w'))\n"
        "print(subprocess.run(['/bin/true']).returncode)\n"
        "print(pickle.loads(pickle.dumps(collections.OrderedDict())))\n"
        "for attempt in (lambda: subprocess.run('true', shell=True),\n"
        "                lambda: pickle.loads(pickle.dumps(collections.Counter()))):\n"
        "    try:\n"
        "        attempt()\n"
        "        print('allowed')\n"
        "    except PermissionError as e:\n"
        "        print('denied', e)\n")
    ran = run([sys.executable, "-c", program])
    assert ran.returncode == 0, ran
    assert ran.lines == ["0", "OrderedDict()", "denied subprocess.Popen blocked by rule no-shell",
                         "denied pickle.find_class blocked by rule pickle-list"], ran
