"""The policy's `log` section: sink, format, limits and redaction rules the policy adds."""

from log_records import decisions, parse

POLICY = """\
version: 1
log:
  sink: file:{log}
  format: json
  max_arg_chars: 60
  rate_limit: 5
  summary: true
  redact_env: ["*DSN*"]
  redact_patterns: ["sk-[a-z0-9]{{8,}}"]
rules:
  - id: app-event
    on: app.event
    action: log
"""

SCRIPT = """\
import sys
for i in range(20):
    sys.audit("app.event", "key sk-abcdef123456 in text", "SENTRY_DSN=https://x@y/1")
print("done")
"""


def test_policy_log_section_sets_sink_limits_and_extra_redaction(tmp_path, policy_file,
                                                                 auditwall_run):
    log = tmp_path / "policy.jsonl"
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    ran = auditwall_run("--policy", policy_file(POLICY.format(log=log)), script)
    assert ran.returncode == 0 and ran.lines == ["done"], ran
    assert ran.stderr == "", ran
    text = log.read_text()
    assert "sk-abcdef123456" not in text and "https://x@y/1" not in text, text
    records = parse(text)
    first = decisions(records, "app.event")[0]["args"]["call"]
    assert first.startswith("app.event('key <redacted> in text', 'SENTRY_DSN=<redacted>"), first
    # rate_limit 5: 5 of the 20 identical records, then a note with the other 15.
    assert len(decisions(records, "app.event")) == 5
    assert [r["args"]["dropped"] for r in records if r["event"] == "auditwall.rate-limit"] == [15]
    assert records[-1]["event"] == "auditwall.summary"


def test_log_option_overrides_the_policy_sink_but_keeps_its_redaction(tmp_path, policy_file,
                                                                     auditwall_run):
    policy_log = tmp_path / "policy.jsonl"
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    ran = auditwall_run("--policy", policy_file(POLICY.format(log=policy_log)), "--log",
                        "stderr,format=text,color=never", script)
    assert ran.returncode == 0 and ran.lines == ["done"], ran
    assert not policy_log.exists()
    assert " LOG app.event('key <redacted> in text', 'SENTRY_DSN=<redacted>" in ran.stderr, ran
    assert "sk-abcdef123456" not in ran.stderr


FORK_SCRIPT = """\
import os, sys
def burst():
    for i in range(20):
        sys.audit("app.event", "same")
burst()
pid = os.fork()
if pid == 0:
    burst()
    sys.exit(0)
os.waitpid(pid, 0)
print("child", pid)
"""


def test_rate_limit_starts_afresh_in_a_forked_child(tmp_path, policy_file, auditwall_run):
    # The parent's windows are its own: the child logs its first 5 records too, and reports
    # only the records it dropped itself.
    log = tmp_path / "fork.jsonl"
    script = tmp_path / "script.py"
    script.write_text(FORK_SCRIPT)
    ran = auditwall_run("--policy", policy_file(POLICY.format(log=log)), script)
    assert ran.returncode == 0 and ran.lines[0].startswith("child "), ran
    child = int(ran.lines[0].split()[1])
    records = parse(log.read_text())
    for pid in {r["pid"] for r in records}:
        mine = [r for r in records if r["pid"] == pid]
        assert len(decisions(mine, "app.event")) == 5, (pid, mine)
        assert [r["args"]["dropped"] for r in mine if r["event"] == "auditwall.rate-limit"] == [15]
    assert child in {r["pid"] for r in records} and len({r["pid"] for r in records}) == 2
