"""auditwall report: a readable summary of real logs, by decision, rule, event and caller."""

import pytest

from log_records import parse

POLICY = """\
version: 1
rules:
  - id: no-os-system
    on: os.system
    action: deny
  - id: try-popen
    on: subprocess.Popen
    action: deny
    mode: monitor
  - id: app-event
    on: app.event
    action: log
"""

SCRIPT = """\
import os, subprocess, sys
for i in range(int(sys.argv[1])):
    sys.audit("app.event", i)
for _ in range(2):
    try:
        os.system("true")
    except PermissionError:
        pass
subprocess.run(["/bin/true"], check=True)
print("done")
"""


@pytest.fixture
def log(tmp_path, policy_file, auditwall_run):
    """A log of SCRIPT: 250 app.event (100 logged, 150 rate-limited), 2 denials, 1 would-deny."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    path = tmp_path / "events.jsonl"
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"file:{path},summary=yes",
                        script, 250)
    assert ran.returncode == 0 and ran.lines == ["done"], ran
    records = parse(path.read_text())
    assert [r["args"]["dropped"] for r in records if r["event"] == "auditwall.rate-limit"] == [150]
    return path


def test_report_counts_by_decision_rule_and_event(log, python):
    ran = python("-m", "auditwall", "report", log)
    assert ran.returncode == 0, ran
    out = ran.stdout
    assert "150 identical records were rate-limited (counted below)" in out, out
    # Sections in order of gravity, each with its rules, events and examples.
    assert out.index("Denied: 2") < out.index("Would have been denied (monitor mode): 1") \
        < out.index("Logged: 250"), out
    assert "  rule no-os-system: 2\n    os.system from an unknown caller: 2\n" \
           "      e.g. os.system(b'true')\n" in out, out
    assert "  rule try-popen: 1\n    subprocess.Popen from an unknown caller: 1\n" in out, out
    assert "  rule app-event: 250\n" in out, out
    assert "e.g. app.event(0)" in out and "e.g. app.event(2)" in out, out
    assert "e.g. app.event(3)" not in out, out  # three examples by default
    assert "no-os-system: allowed 0, denied 2, would-deny 0" in out, out


def test_report_reads_mixed_stderr_syslog_lines_and_stdin(log, python, tmp_path):
    lines = log.read_text().splitlines()
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("Traceback (most recent call last):\nsome program output\n" +
                     "\n".join(f"<12>Nov 29 03:00:00 auditwall[1]: {line}" for line in lines) +
                     "\n")
    from_file = python("-m", "auditwall", "report", "--examples", "1", mixed)
    assert from_file.returncode == 0, from_file
    assert f"{len(lines)} records from 1 process(es)" in from_file.stdout, from_file
    assert "e.g. app.event(1)" not in from_file.stdout
    from_stdin = python("-m", "auditwall", "report", "--examples", "1", "-",
                        input=mixed.read_text())
    assert from_stdin.stdout == from_file.stdout, from_stdin


def test_report_on_a_missing_log_fails_clearly(python, tmp_path):
    ran = python("-m", "auditwall", "report", tmp_path / "nope.jsonl")
    assert ran.returncode == 1, ran
    assert f"auditwall: report: {tmp_path / 'nope.jsonl'}: No such file or directory" in ran.stderr
    usage = python("-m", "auditwall", "report")
    assert usage.returncode == 2 and "report needs at least one LOG" in usage.stderr, usage
