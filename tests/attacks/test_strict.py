"""Untrusted code under examples/policies/strict.yaml: each thing it must not do works
without auditwall (its harmless proof appears) and is denied under the policy, naming the
rule, while ordinary computation keeps working."""

import pathlib
import socket
import textwrap

import pytest

from conftest import ROOT

STRICT = ROOT / "examples" / "policies" / "strict.yaml"

# Each payload leaves a proof when it works: a marker file MARKER, or a connection to the
# loopback listener on PORT.
PAYLOADS = {
    "os-system": ("no-processes", """
        import os
        os.system("touch " + MARKER)
    """),
    "subprocess": ("no-processes", """
        import subprocess
        subprocess.run(["touch", MARKER])
    """),
    "connect": ("no-network", """
        import socket
        socket.create_connection(("127.0.0.1", PORT)).close()
    """),
    "ctypes-libc": ("no-native", """
        import ctypes
        ctypes.CDLL(None).system(("touch " + MARKER).encode())
    """),
    "pickle": ("pickle-no-globals", """
        import pickle
        pickle.loads(b"cos\\nsystem\\n(V" + ("touch " + MARKER).encode() + b"\\ntR.")
    """),
    "exec-string": ("no-dynamic-code", """
        exec("open(MARKER, 'w').close()")
    """),
    "write-outside-temp": ("no-writes-elsewhere", """
        open(OUTSIDE, "w").close()
        import os
        os.replace(OUTSIDE, MARKER)
    """),
    "settrace": ("no-tamper", """
        import sys
        def tracer(frame, event, arg):
            open(MARKER, "w").close()
        sys.settrace(tracer)
        def traced():
            pass
        traced()
        sys.settrace(None)
    """),
    "gc-referrers": ("no-tamper", """
        import gc, sys
        if gc.get_referrers(sys.modules):
            open(MARKER, "w").close()
    """),
}


def outside_temp(marker):
    """A file outside the temporary directories, for a payload to write: under ~/.cache."""
    return pathlib.Path.home() / ".cache" / "auditwall-tests" / f"{marker.parent.name}-written"


@pytest.fixture(autouse=True)
def no_file_left_outside_temp(tmp_path):
    yield
    outside_temp(tmp_path / "marker").unlink(missing_ok=True)


def script(body, marker, port):
    """The payload as a script file, as a plugin or job would be given."""
    outside = outside_temp(marker)
    if str(outside).startswith(("/tmp/", "/var/tmp/", "/dev/shm/")):
        pytest.skip(f"the home directory is in a temporary directory: {outside}")
    outside.parent.mkdir(parents=True, exist_ok=True)
    path = marker.parent / "payload.py"
    path.write_text(f"MARKER = {str(marker)!r}\nOUTSIDE = {str(outside)!r}\nPORT = {port}\ntry:\n"
                    + textwrap.indent(textwrap.dedent(body), "    ")
                    + "    print('done')\nexcept PermissionError as e:\n"
                      "    print('denied', getattr(e, 'rule', None))\n")
    return path


@pytest.fixture
def listener():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.settimeout(0.5)
        yield sock


def proof(marker, listener):
    if marker.exists():
        return True
    try:
        listener.accept()[0].close()
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload_works_without_auditwall(python, tmp_path, listener, name):
    marker = tmp_path / "marker"
    ran = python(script(PAYLOADS[name][1], marker, listener.getsockname()[1]))
    assert ran.lines == ["done"], ran
    assert proof(marker, listener), ran


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload_is_denied_by_the_strict_policy(auditwall_run, tmp_path, listener, name):
    rule, body = PAYLOADS[name]
    marker = tmp_path / "marker"
    ran = auditwall_run("--policy", STRICT, script(body, marker, listener.getsockname()[1]))
    assert ran.lines == [f"denied {rule}"], ran
    assert f"rule={rule}" in ran.stderr or f'"rule":"{rule}"' in ran.stderr.replace(" ", ""), ran
    assert not proof(marker, listener), ran


ORDINARY = """
import collections, csv, dataclasses, decimal, enum, io, json, logging, pathlib, pickle
import re, sqlite3, statistics, tempfile, typing

@dataclasses.dataclass
class Point:
    x: int
    y: int = 0

Pair = collections.namedtuple("Pair", "a b")
Colour = enum.Enum("Colour", "RED GREEN")
data = {"points": [dataclasses.asdict(Point(1, 2))], "pair": Pair(1, 2)._asdict()}
assert json.loads(json.dumps(data)) == data
assert pickle.loads(pickle.dumps({"a": [1, 2.5, "x"]})) == {"a": [1, 2.5, "x"]}
assert statistics.mean([1, 2, 3]) == 2 and decimal.Decimal("1.10") + 1 == decimal.Decimal("2.10")
with tempfile.TemporaryDirectory() as d:
    path = pathlib.Path(d, "out.csv")
    with open(path, "w", newline="") as f:
        csv.writer(f).writerow(["a", 1])
    assert path.read_text().strip() == "a,1"
    with sqlite3.connect(str(pathlib.Path(d, "db"))) as db:
        db.execute("create table t (x)")
        db.execute("insert into t values (42)")
        assert db.execute("select x from t").fetchone() == (42,)
logging.getLogger("job").warning("logged")
print("ok", Colour.RED.name, re.sub(r"\\d", "#", "a1b2"))
"""


def test_ordinary_code_works_under_the_strict_policy(auditwall_run, tmp_path):
    job = tmp_path / "job.py"
    job.write_text(ORDINARY)
    ran = auditwall_run("--policy", STRICT, job)
    assert ran.returncode == 0, ran
    assert ran.lines == ["ok RED a#b#"], ran
    assert "deny" not in ran.stderr, ran


def test_strict_policy_is_valid(python):
    ran = python("-m", "auditwall", "policy", "check", STRICT)
    assert ran.returncode == 0, ran
    assert ran.stderr == "", ran
