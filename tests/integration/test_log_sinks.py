"""The event log's sinks (file with rotation, syslog) and how they fail without harm."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from conftest import run
from log_records import decisions, parse

POLICY = """\
version: 1
rules:
  - id: no-os-system
    on: os.system
    action: deny
  - id: app-event
    on: app.event
    action: log
"""

# Logs N records, tries os.system, and prints what happened and auditwall.status()["log"]
# (with a third argument, once the writer has met a sink error, waiting up to 10 s for it).
SCRIPT = """\
import json, os, sys, time
import auditwall
marker, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sys.audit("app.event", i)
deadline = time.monotonic() + (10 if len(sys.argv) > 3 else 0)
while not auditwall.status()["log"]["sink_errors"] and time.monotonic() < deadline:
    time.sleep(0.05)
try:
    os.system("touch " + marker)
    outcome = "ran"
except PermissionError as e:
    outcome = "denied " + e.rule
print(json.dumps({"outcome": outcome, "marker": os.path.exists(marker),
                  "log": auditwall.status()["log"]}))
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "script.py"
    path.write_text(SCRIPT)
    return path


def check_decision_unchanged(ran, marker):
    report = json.loads(ran.lines[-1])
    assert report["outcome"] == "denied no-os-system", ran
    assert report["marker"] is False and not marker.exists()
    return report


def test_file_sink_rotates_by_size(tmp_path, policy_file, auditwall_run, script):
    log = tmp_path / "logs" / "events.jsonl"
    n = 2000
    ran = auditwall_run("--policy", policy_file(POLICY), "--log",
                        f"file:{log},max_bytes=64K,keep=2,rate_limit=0", script,
                        tmp_path / "marker", n)
    assert ran.returncode == 0, ran
    check_decision_unchanged(ran, tmp_path / "marker")
    files = sorted(p.name for p in log.parent.iterdir())
    assert files == ["events.1.jsonl", "events.2.jsonl", "events.jsonl"], files
    for path in log.parent.iterdir():
        assert path.stat().st_size <= 64 * 1024 + 70 * 1024, path  # a batch may overshoot
    records = parse(log.read_text())
    older = parse((log.parent / "events.1.jsonl").read_text())
    # The newest file holds the newest records, continuing the previous one.
    assert older[-1]["seq"] + 1 == records[0]["seq"]
    assert records[-1]["event"] == "os.system" and records[-1]["seq"] == n + 1
    assert ran.stderr == "", ran


def test_syslog_sink_sends_datagrams_to_the_socket(tmp_path, policy_file, auditwall_run, script):
    path = str(tmp_path / "log.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(30)
    try:
        ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"syslog:{path}", script,
                            tmp_path / "marker", 3)
        assert ran.returncode == 0, ran
        report = check_decision_unchanged(ran, tmp_path / "marker")
        assert report["log"]["sink"] == f"syslog:{path}"
        datagrams = [server.recv(65536).decode() for _ in range(4)]
    finally:
        server.close()
    pattern = re.compile(r"^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d auditwall\[(\d+)\]: (\{.*\})$")
    parsed = [pattern.match(d) for d in datagrams]
    assert all(parsed), datagrams
    records = parse("\n".join(m.group(3) for m in parsed))
    assert [r["event"] for r in records] == ["app.event"] * 3 + ["os.system"]
    # RFC 3164 priority: facility user (8) + info (6), or warning (4) for a denial.
    assert [int(m.group(1)) for m in parsed] == [14, 14, 14, 12]
    assert {int(m.group(2)) for m in parsed} == {records[0]["pid"]}


def test_syslog_without_a_listener_counts_failures(tmp_path, policy_file, auditwall_run, script):
    ran = auditwall_run("--policy", policy_file(POLICY), "--log",
                        f"syslog:{tmp_path / 'nobody.sock'}", script, tmp_path / "marker", 3)
    assert ran.returncode == 0, ran
    check_decision_unchanged(ran, tmp_path / "marker")
    assert "cannot connect to syslog" in ran.stderr, ran


def test_full_disk_neither_crashes_nor_changes_a_decision(tmp_path, policy_file, auditwall_run,
                                                          script):
    assert os.path.exists("/dev/full")
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", "file:/dev/full,rate_limit=0",
                        script, tmp_path / "marker", 20000, "wait")
    assert ran.returncode == 0, ran
    report = check_decision_unchanged(ran, tmp_path / "marker")
    assert report["log"]["sink_errors"] >= 1, report
    assert "No space left on device" in report["log"]["last_error"], report
    assert "auditwall: the event log (file:/dev/full) fails" in ran.stderr, ran


def test_unwritable_path_falls_back_to_stderr(tmp_path, policy_file, auditwall_run, script):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"file:{blocker}/events.jsonl",
                        script, tmp_path / "marker", 2)
    assert ran.returncode == 0, ran
    report = check_decision_unchanged(ran, tmp_path / "marker")
    assert "logging to stderr instead" in ran.stderr, ran
    assert report["log"]["sink"] == "stderr"
    assert [r["event"] for r in parse(ran.stderr)] == ["app.event", "app.event", "os.system"]


def test_closed_stderr_neither_crashes_nor_changes_a_decision(tmp_path, policy_file, script):
    import auditwall

    marker = tmp_path / "marker"
    preload = os.path.join(os.path.dirname(auditwall.__file__), "libauditwall-preload.so")
    # The program starts with fd 2 closed (its sys.stderr is then None), armed pre-init.
    ran = run(["/bin/sh", "-c", 'exec "$@" 2>&-', "sh", sys.executable, script, marker, 3, "wait"],
              env={"AUDITWALL_POLICY": str(policy_file(POLICY)), "LD_PRELOAD": preload})
    assert ran.returncode == 0, ran
    report = check_decision_unchanged(ran, marker)
    assert report["log"]["sink"] == "stderr"
    assert "stderr is not open" in report["log"]["last_error"], report
    assert report["log"]["sink_errors"] >= 1


def test_sink_chosen_by_environment(tmp_path, policy_file, auditwall_run, script):
    log = tmp_path / "env.jsonl"
    ran = auditwall_run("--policy", policy_file(POLICY), script, tmp_path / "marker", 1,
                        env={"AUDITWALL_LOG": f"file:{log}"})
    assert ran.returncode == 0, ran
    assert [r["event"] for r in parse(log.read_text())] == ["app.event", "os.system"]
    assert ran.stderr == ""


# Logs N records, calls auditwall.flush(), and ends with os._exit(), which skips the flush at
# normal exit: the writer thread batches for up to 50 ms, so without flush() the records are
# still in memory when the process ends.
EXIT_SCRIPT = """\
import os, sys
import auditwall
auditwall.activate(sys.argv[1])
for i in range(int(sys.argv[2])):
    sys.audit("app.event", i)
auditwall.flush()
os._exit(0)
"""


def test_flush_writes_buffered_records_before_os_exit(tmp_path, python, policy_file):
    log = tmp_path / "events.jsonl"
    policy = policy_file(POLICY + f'log: {{sink: "file:{log}", format: json, rate_limit: 0}}\n')
    script = tmp_path / "exit.py"
    script.write_text(EXIT_SCRIPT)
    ran = python(script, policy, 50)
    assert ran.returncode == 0, ran
    records = [r for r in parse(log.read_text()) if r["event"] == "app.event"]
    assert len(records) == 50, records[:3]
    assert records[-1]["args"] == {"call": "app.event(49)"}, records[-1]
