"""Learning a policy: watch a real workload under builtin:monitor-all, generate a
least-privilege policy from its log, enforce it on the same workload with no denial, and
see attacks outside the workload denied."""

import http.server
import json
import pickle
import socket
import threading

import pytest

from conftest import run
from log_records import decisions, parse

# A small job: fetch data from a local HTTP service, store three results, run a helper
# program, cache state with pickle. With an ATTACK argument it then does one thing the job
# never does, and reports whether it ran or was denied.
APP = """\
import collections, datetime, json, os, pickle, socket, subprocess, sys, urllib.request

port, work, attack = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = os.path.join(work, "out")
os.makedirs(out, exist_ok=True)
body = urllib.request.urlopen(f"http://127.0.0.1:{port}/data", timeout=10).read()
for name in ("a", "b", "c"):
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"name": name, "size": len(body)}, f)
subprocess.run(["/bin/true"], check=True)
state = pickle.loads(pickle.dumps(collections.OrderedDict(when=datetime.date(2026, 1, 1))))
print("job done", state["when"].isoformat())

try:
    if attack == "shell":
        os.system("touch " + sys.argv[4])
    elif attack == "connect":
        socket.create_connection(("127.0.0.1", int(sys.argv[4])), timeout=10).close()
    elif attack == "write":
        with open(sys.argv[4], "w") as f:
            f.write("proof")
    elif attack == "pickle":
        pickle.loads(bytes.fromhex(sys.argv[4]))
    if attack != "none":
        print("attack ran")
except PermissionError as e:
    print("attack denied", getattr(e, "rule", "?"))
"""


class Gadget:
    """Unpickling this runs `touch MARKER`: the classic pickle code execution."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, ("touch " + str(self.marker),))


@pytest.fixture
def service():
    """A loopback HTTP service the job fetches from; its port is the same for every run."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"items": [1, 2, 3]}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def other_listener():
    """A loopback port the job never talks to: the target of the exfiltration attempt."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def learned(tmp_path, service, auditwall_run, python):
    """Runs the job under builtin:monitor-all, then generates a policy from its log."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    work = tmp_path / "work"
    log = tmp_path / "learn.jsonl"
    ran = python(app, service, work, "none",
                 env={"AUDITWALL_POLICY": "builtin:monitor-all",
                      "AUDITWALL_LOG": f"file:{log},rate_limit=0"})
    assert ran.returncode == 0 and ran.lines == ["job done 2026-01-01"], ran
    records = parse(log.read_text())
    assert decisions(records, "subprocess.Popen"), "the learning run logged no process"
    policy = tmp_path / "learned.yaml"
    generated = python("-m", "auditwall", "policy", "generate", log, "-o", policy)
    assert generated.returncode == 0, generated
    return app, work, policy


def test_generated_policy_passes_policy_check(learned, python):
    _, _, policy = learned
    checked = python("-m", "auditwall", "policy", "check", policy)
    assert checked.returncode == 0, checked
    assert checked.stderr == "", checked
    text = policy.read_text()
    assert "mode: enforce" in text and "- id: deny-other-process" in text, text
    # Each allow rule says what it was learned from, with an example.
    assert text.count("  # learned from ") == text.count("action: allow"), text
    assert "e.g. subprocess.Popen(" in text, text
    assert '"/bin/true"' in text, text
    assert '"collections.OrderedDict"' in text and '"datetime.date"' in text, text


def test_workload_runs_under_the_generated_policy_without_a_denial(learned, service, tmp_path,
                                                                    auditwall_run):
    app, work, policy = learned
    log = tmp_path / "enforce.jsonl"
    ran = auditwall_run("--policy", policy, "--log", f"file:{log},rate_limit=0", app, service,
                        work, "none")
    assert ran.returncode == 0 and ran.lines == ["job done 2026-01-01"], ran
    records = parse(log.read_text()) if log.exists() else []
    denied = [r for r in records if r["decision"] in ("deny", "kill", "would-deny")]
    assert denied == [], denied
    assert json.loads((work / "out" / "c.json").read_text())["name"] == "c"


def attacks(tmp_path, other_listener):
    marker = tmp_path / "shell-marker"
    gadget_marker = tmp_path / "pickle-marker"
    stray = tmp_path / "stray.txt"
    return {
        "shell": (str(marker), marker.exists),
        "connect": (str(other_listener), None),
        "write": (str(stray), stray.exists),
        "pickle": (pickle.dumps(Gadget(gadget_marker)).hex(), gadget_marker.exists),
    }


@pytest.mark.parametrize("attack", ["shell", "connect", "write", "pickle"])
def test_attack_outside_the_workload_works_without_auditwall(learned, service, tmp_path,
                                                             other_listener, python, attack):
    app, work, _ = learned
    argument, proof = attacks(tmp_path, other_listener)[attack]
    ran = python(app, service, work, attack, argument)
    assert ran.returncode == 0, ran
    assert ran.lines == ["job done 2026-01-01", "attack ran"], ran
    if proof is not None:
        assert proof()


@pytest.mark.parametrize("attack", ["shell", "connect", "write", "pickle"])
def test_attack_outside_the_workload_is_denied(learned, service, tmp_path, other_listener,
                                               auditwall_run, attack):
    app, work, policy = learned
    argument, proof = attacks(tmp_path, other_listener)[attack]
    log = tmp_path / "attack.jsonl"
    ran = auditwall_run("--policy", policy, "--log", f"file:{log}", app, service, work, attack,
                        argument)
    assert ran.returncode == 0, ran
    assert ran.lines[0] == "job done 2026-01-01", ran
    assert ran.lines[1].startswith("attack denied "), ran
    if proof is not None:
        assert not proof()
    denied = [r for r in parse(log.read_text()) if r["decision"] == "deny"]
    assert len(denied) == 1, denied
    assert denied[0]["rule"] in (None, ran.lines[1].split()[-1]), denied
