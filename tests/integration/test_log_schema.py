"""The event log's records: every field of schema 1, counters, redaction, and the text form."""

import json
import os
import pty
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
  - id: watch-connect
    on: socket.connect
    action: log
  - id: try-popen
    on: subprocess.Popen
    action: deny
    mode: monitor
  - id: app-event
    on: app.event
    action: log
  - id: quiet
    on: app.quiet
    action: allow
"""

# Triggers one decision of each kind, then prints its pid and auditwall.status() as JSON.
SCRIPT = """\
import json, os, socket, subprocess, sys
import auditwall
marker = sys.argv[1]
try:
    os.system("touch " + marker)
except PermissionError:
    pass
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
client = socket.create_connection(server.getsockname())
client.close()
server.close()
subprocess.run(["/bin/true"], check=True)
sys.audit("app.event", "hello")
for _ in range(3):
    sys.audit("app.quiet")
print(json.dumps({"pid": os.getpid(), "status": auditwall.status(),
                  "marker": os.path.exists(marker)}))
"""


@pytest.fixture
def scenario(tmp_path, policy_file, auditwall_run):
    """Runs SCRIPT under POLICY with the log in a file: (records, child's report, Ran)."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    log = tmp_path / "events.jsonl"
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"file:{log},summary=yes",
                        script, tmp_path / "marker")
    assert ran.returncode == 0, ran
    report = json.loads(ran.lines[-1])
    return parse(log.read_text()), report, ran


def test_every_record_follows_the_schema(scenario):
    records, report, ran = scenario
    # parse() validated each line against docs/log.schema.json; check the content too.
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1)), records
    assert {r["pid"] for r in records} == {report["pid"]}
    assert {r["policy"] for r in records} == {report["status"]["hash"]}
    assert all(r["tid"] > 0 for r in records)
    by_event = {r["event"]: r for r in decisions(records)}
    assert set(by_event) == {"os.system", "socket.connect", "subprocess.Popen", "app.event"}, records
    assert by_event["os.system"]["decision"] == "deny"
    assert by_event["os.system"]["rule"] == "no-os-system"
    assert by_event["os.system"]["family"] == "process"
    assert by_event["os.system"]["mode"] == "enforce"
    assert "touch" in by_event["os.system"]["args"]["call"]
    assert by_event["socket.connect"]["decision"] == "log"
    assert by_event["socket.connect"]["family"] == "network"
    assert by_event["subprocess.Popen"]["decision"] == "would-deny"
    assert by_event["subprocess.Popen"]["mode"] == "monitor"
    assert by_event["app.event"]["args"]["call"] == "app.event('hello')"
    assert report["marker"] is False  # the record did not change the decision


def test_counters_in_status_and_in_the_exit_summary(scenario):
    records, report, _ = scenario
    expected = {
        "no-os-system": {"allowed": 0, "denied": 1, "would_deny": 0},
        "watch-connect": {"allowed": 1, "denied": 0, "would_deny": 0},
        "try-popen": {"allowed": 0, "denied": 0, "would_deny": 1},
        "app-event": {"allowed": 1, "denied": 0, "would_deny": 0},
        "quiet": {"allowed": 3, "denied": 0, "would_deny": 0},
        "(default)": {"allowed": 0, "denied": 0, "would_deny": 0},
    }
    assert report["status"]["counters"] == expected
    assert report["status"]["log"]["sink_errors"] == 0
    # An allow rule counts its events but does not log them.
    assert not decisions(records, "app.quiet")
    summary = records[-1]
    assert summary["event"] == "auditwall.summary", records
    assert summary["args"]["rules"] == expected
    assert summary["args"]["records"] == len(records) - 1  # the records before it


def test_secrets_are_redacted_and_long_values_cut(tmp_path, policy_file, auditwall_run):
    secrets = ["s3cret-pw", "tok-123456", "hunter2-db", "plain-value-77"]
    script = tmp_path / "script.py"
    script.write_text(f"""\
import subprocess, sys
sys.audit("app.event", "https://alice:{secrets[0]}@example.com/path", "API_TOKEN={secrets[1]}",
          "x" * 5000)
subprocess.run(["/usr/bin/env", "DB_PASSWORD={secrets[2]}", "HOME_DIR={secrets[3]}", "/bin/true"],
               check=True)
print("done")
""")
    log = tmp_path / "events.jsonl"
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"file:{log}", script)
    assert ran.returncode == 0 and ran.lines == ["done"], ran
    text = log.read_text()
    records = parse(text)
    for secret in secrets:
        assert secret not in text, text
    [event] = decisions(records, "app.event")
    call = event["args"]["call"]
    assert "https://alice:<redacted>@example.com/path" in call, call
    assert "API_TOKEN=<redacted>" in call, call
    assert call.endswith("...(cut)") and len(call) <= 200 + len("...(cut)"), call
    [popen] = decisions(records, "subprocess.Popen")
    # In a process event every environment assignment is hidden, secret-sounding or not.
    assert "DB_PASSWORD=<redacted>" in popen["args"]["call"], popen
    assert "HOME_DIR=<redacted>" in popen["args"]["call"], popen
    # ...and the command itself still ran: redaction touches only the record.
    assert "/usr/bin/env" in popen["args"]["call"]


def test_max_arg_chars_sets_the_cut(tmp_path, policy_file, auditwall_run):
    log = tmp_path / "events.jsonl"
    ran = auditwall_run("--policy", policy_file(POLICY), "--log",
                        f"file:{log},max_arg_chars=40", "-c",
                        "import sys; sys.audit('app.event', 'y' * 100)")
    assert ran.returncode == 0, ran
    [event] = decisions(parse(log.read_text()), "app.event")
    assert event["args"]["call"] == "app.event('" + "y" * 29 + "...(cut)", event


def test_huge_arguments_are_rendered_from_their_start(tmp_path, policy_file, auditwall_run):
    # Only the start of a long value is rendered (a .pyc given to marshal.loads, a module's
    # source given to exec): what the record and the exception show must still be right.
    script = tmp_path / "script.py"
    script.write_text("""\
import os, sys
sys.audit("app.event", "a" * 1_000_000)
sys.audit("app.event", "\u00e9" * 1_000_000)
sys.audit("app.event", "\u00e9".encode() * 1_000_000)
sys.audit("app.event", bytes(range(256)) * 4000)
try:
    os.system("echo " + "b" * 1_000_000)
except PermissionError as e:
    print(len(str(e)), str(e)[:60])
""")
    log = tmp_path / "events.jsonl"
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"file:{log}", script)
    assert ran.returncode == 0, ran
    length, message = ran.lines[-1].split(" ", 1)
    assert int(length) < 10_000 and "os.system('echo bbbb" in message, ran
    calls = [r["args"]["call"] for r in decisions(parse(log.read_text()), "app.event")]
    assert len(calls) == 4, calls
    for call, start in zip(calls, ["app.event('aaaa", "app.event('\u00e9\u00e9\u00e9",
                                   "app.event('\u00e9\u00e9\u00e9",
                                   "app.event(b'\\x00\\x01\\x02"]):
        assert call.startswith(start) and call.endswith("...(cut)"), (start, call)
        assert len(call.encode()) <= 200 + len("...(cut)"), call


def test_secret_straddling_the_cut_is_redacted_in_a_long_value(tmp_path, policy_file,
                                                               auditwall_run):
    # The redaction rules read only a little past the cut (max_arg_chars): a secret that
    # starts before the cut, in a value far longer than that, is still recognised whole.
    policy = policy_file(POLICY + "log:\n  redact_patterns: ['KEY-[0-9]{40}']\n")
    secret = "KEY-" + "7" * 40
    ran = auditwall_run("--policy", policy, "--log", f"file:{tmp_path}/e.jsonl,max_arg_chars=40",
                        "-c", "import sys; "
                        f"sys.audit('app.event', 'x' * 20 + ' {secret}' + 'y' * 5000); "
                        f"sys.audit('app.event', 'x' * 5 + ' API_TOKEN=' + '8' * 60 + 'y' * 5000)")
    assert ran.returncode == 0, ran
    text = (tmp_path / "e.jsonl").read_text()
    calls = [r["args"]["call"] for r in decisions(parse(text), "app.event")]
    assert calls == ["app.event('" + "x" * 20 + " <redacte...(cut)",
                     "app.event('" + "x" * 5 + " API_TOKEN=<redacted>...(cut)"], calls
    assert "7777" not in text and "8888" not in text, text


def test_json_on_a_pipe_by_default(tmp_path, policy_file, auditwall_run):
    ran = auditwall_run("--policy", policy_file(POLICY), "-c", "import sys; sys.audit('app.event')")
    assert ran.returncode == 0, ran
    [record] = parse(ran.stderr)
    assert record["event"] == "app.event"
    assert "\x1b[" not in ran.stderr


def test_text_format_with_and_without_colour(tmp_path, policy_file, auditwall_run):
    policy = policy_file(POLICY)
    code = "import os\ntry:\n    os.system('true')\nexcept PermissionError:\n    pass\n"
    plain = auditwall_run("--policy", policy, "--log", "stderr,format=text,color=never", "-c", code)
    assert plain.returncode == 0, plain
    line = plain.stderr.strip().splitlines()[-1]
    assert " DENY os.system('true') rule=no-os-system mode=enforce" in line, plain
    assert "\x1b[" not in plain.stderr
    coloured = auditwall_run("--policy", policy, "--log", "stderr,format=text,color=always",
                             "-c", code)
    assert "\x1b[1;31mDENY\x1b[0m os.system('true')" in coloured.stderr, coloured


def test_text_and_colour_on_a_terminal(tmp_path, policy_file):
    """With stderr on a terminal, the default is the coloured text form; NO_COLOR turns colour off."""
    policy = policy_file(POLICY)

    def on_terminal(extra_env):
        master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITWALL_")}
        env.pop("NO_COLOR", None)
        env.update(extra_env)
        proc = subprocess.Popen(
            [sys.executable, "-m", "auditwall", "run", "--policy", str(policy), "-c",
             "import sys; sys.audit('app.event', 'on a tty')"],
            stderr=slave, stdout=subprocess.DEVNULL, env=env)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        assert proc.wait(timeout=60) == 0, out
        return out.decode()

    text = on_terminal({})
    assert "\x1b[36mLOG\x1b[0m app.event('on a tty')" in text, text
    assert '"schema"' not in text
    plain = on_terminal({"NO_COLOR": "1"})
    assert " LOG app.event('on a tty')" in plain and "\x1b[" not in plain, plain


def test_bad_log_spec_is_reported_and_logging_goes_on(tmp_path, policy_file, auditwall_run):
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", "carrier-pigeon", "-c",
                        "import sys; sys.audit('app.event')")
    assert ran.returncode == 0, ran
    assert "auditwall: event log: AUDITWALL_LOG: unknown log sink 'carrier-pigeon'" in ran.stderr, ran
    assert [r["event"] for r in parse(ran.stderr)] == ["app.event"], ran
