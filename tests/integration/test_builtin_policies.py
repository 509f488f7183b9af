"""The built-in policies in real interpreters: ordinary programs run unchanged under each of
them, and each still stops what docs/policy.md says it stops (shown working without auditwall
first, with a harmless proof: a marker file)."""

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import run

BUILTINS = ["builtin:strict", "builtin:web-service", "builtin:monitor-all"]

# Ordinary programs. Each prints "ok" as its last line when everything it did worked. TMP is a
# directory under /tmp (builtin:strict allows writes there only).
PROGRAMS = {
    "generated-code": """
        import collections, dataclasses, enum, json, typing

        @dataclasses.dataclass(frozen=True, order=True)
        class Point:
            x: int
            y: int = 0
            tags: list = dataclasses.field(default_factory=list, compare=False)

        Pair = collections.namedtuple("Pair", "left right", defaults=[None])
        class Colour(enum.Enum):
            RED = 1
            GREEN = enum.auto()
        class Perm(enum.IntFlag):
            R = 4
            W = 2
        class Typed(typing.NamedTuple):
            name: str
            size: int = 0
        def annotated(a: "int") -> "Point": ...
        assert Point(1) < Point(2) and Point(1, 2).y == 2
        assert Pair(1) == (1, None) and Colour.GREEN.value == 2 and (Perm.R | Perm.W) == 6
        assert Typed("a").size == 0
        assert typing.get_type_hints(annotated)["return"] is Point
        assert json.loads(json.dumps({"p": dataclasses.asdict(Point(3))})) == {"p": {"x": 3, "y": 0, "tags": []}}
        print("ok")
    """,
    "stdlib-imports": """
        import importlib, sys
        names = '''abc argparse array ast asyncio base64 binascii bisect bz2 calendar codecs
            collections.abc concurrent.futures configparser contextlib copy csv dataclasses
            datetime decimal difflib dis email email.mime.text email.policy enum fnmatch
            fractions functools gettext glob gzip hashlib heapq hmac html html.parser
            http.client http.cookies http.server inspect io ipaddress itertools json locale
            logging logging.handlers lzma math mimetypes operator pathlib pickle platform
            pprint queue random re sched secrets selectors shlex shutil signal socket sqlite3
            ssl statistics string struct subprocess tarfile tempfile textwrap threading time
            timeit traceback typing unicodedata unittest unittest.mock urllib.parse
            urllib.request uuid warnings weakref xml.dom.minidom xml.etree.ElementTree
            zipfile zlib'''.split()
        if sys.version_info >= (3, 11):
            names.append("tomllib")
        for name in names:
            importlib.import_module(name)
        import inspect
        assert str(inspect.signature(len)) == "(obj, /)"
        import ast
        assert ast.literal_eval("[1, (2, 'x')]") == [1, (2, "x")]
        print("ok")
    """,
    "threads": """
        import threading, queue, concurrent.futures
        results = queue.Queue()
        threads = [threading.Thread(target=lambda i=i: results.put(i * i)) for i in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        assert sorted(results.get() for _ in range(8)) == [i * i for i in range(8)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            assert list(pool.map(abs, [-1, -2, 3])) == [1, 2, 3]
        print("ok")
    """,
    "asyncio": """
        import asyncio
        async def square(i):
            await asyncio.sleep(0.001)
            return i * i
        async def main():
            q = asyncio.Queue()
            await q.put(3)
            return await asyncio.gather(*(square(i) for i in range(5))), await q.get()
        assert asyncio.run(main()) == ([0, 1, 4, 9, 16], 3)
        print("ok")
    """,
    "text-and-numbers": """
        import re, decimal, fractions, statistics, datetime, hashlib, zlib, base64
        assert re.sub(r"(\\w+)@(\\w+)", r"\\2 at \\1", "me@host") == "host at me"
        assert re.compile(r"^a(?P<n>\\d+)$", re.M).findall("a1\\nb2\\na33") == ["1", "33"]
        decimal.getcontext().prec = 30
        assert str(decimal.Decimal(1) / decimal.Decimal(7))[:10] == "0.14285714"
        assert fractions.Fraction(1, 3) * 3 == 1 and statistics.mean([1, 2, 3]) == 2
        assert datetime.date(2024, 2, 29).isoformat() == "2024-02-29"
        assert zlib.decompress(zlib.compress(b"x" * 100)) == b"x" * 100
        assert base64.b64decode(base64.b64encode(hashlib.sha256(b"a").digest())) == hashlib.sha256(b"a").digest()
        print("ok")
    """,
    "logging-and-temp-files": """
        import logging, os, pathlib, shutil, tempfile
        log_file = os.path.join(TMP, "app.log")
        logging.basicConfig(filename=log_file, level=logging.INFO)
        logging.getLogger("app").info("hello %s", "there")
        logging.getLogger("app").warning("to stderr too")
        with tempfile.NamedTemporaryFile("w", dir=TMP, delete=False) as f:
            f.write("data")
        os.replace(f.name, os.path.join(TMP, "renamed.txt"))
        with tempfile.TemporaryDirectory() as d:
            p = pathlib.Path(d, "sub")
            p.mkdir()
            (p / "x.txt").write_text("x")
            shutil.copy(p / "x.txt", p / "y.txt")
            os.chmod(p / "y.txt", 0o600)
        fd, name = tempfile.mkstemp()
        os.write(fd, b"raw")
        os.close(fd)
        os.remove(name)
        logging.shutdown()
        assert "hello there" in open(log_file).read()
        assert open(os.path.join(TMP, "renamed.txt")).read() == "data"
        print("ok")
    """,
}

# Programs that need loopback networking: builtin:strict denies every network event.
NETWORK_PROGRAMS = {
    "http-loopback": """
        import http.server, threading, urllib.request
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"hello from " + self.path.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = "http://127.0.0.1:%d/x" % server.server_address[1]
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.read() == b"hello from /x"
        server.shutdown()
        print("ok")
    """,
}


def program_file(tmp_path, body):
    path = tmp_path / "program.py"
    path.write_text(f"TMP = {str(tmp_path)!r}\n" + textwrap.dedent(body))
    return path


def denials(stderr):
    """Records of decisions that blocked or would have blocked, from auditwall's JSON log."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("decision") in ("deny", "would-deny"):
                out.append(record)
    return out


def test_temp_dir_is_under_tmp(tmp_path):
    # builtin:strict allows writes under /tmp: the programs below write in tmp_path.
    assert str(tmp_path.resolve()).startswith("/tmp/"), tmp_path


@pytest.mark.parametrize("policy", BUILTINS)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_ordinary_program_runs_under_each_builtin(auditwall_run, python, tmp_path, policy, name):
    path = program_file(tmp_path, PROGRAMS[name])
    plain = python(path, cwd=tmp_path)
    assert plain.returncode == 0 and plain.lines[-1:] == ["ok"], plain
    ran = auditwall_run("--policy", policy, path, cwd=tmp_path)
    assert ran.returncode == 0 and ran.lines[-1:] == ["ok"], ran
    assert denials(ran.stderr) == [], ran


@pytest.mark.parametrize("policy", ["builtin:web-service", "builtin:monitor-all"])
@pytest.mark.parametrize("name", sorted(NETWORK_PROGRAMS))
def test_loopback_program_runs_where_the_builtin_allows_loopback(auditwall_run, tmp_path, policy, name):
    path = program_file(tmp_path, NETWORK_PROGRAMS[name])
    ran = auditwall_run("--policy", policy, path, cwd=tmp_path)
    assert ran.returncode == 0 and ran.lines[-1:] == ["ok"], ran
    assert denials(ran.stderr) == [], ran


def test_strict_denies_the_loopback_server(auditwall_run, python, tmp_path):
    path = program_file(tmp_path, NETWORK_PROGRAMS["http-loopback"])
    assert python(path, cwd=tmp_path).lines[-1:] == ["ok"]
    ran = auditwall_run("--policy", "builtin:strict", path, cwd=tmp_path)
    assert ran.returncode != 0, ran
    assert "blocked by rule strict-no-network" in ran.stderr, ran


@pytest.mark.parametrize("policy", BUILTINS)
def test_python_dash_m_of_a_stdlib_module(auditwall_run, python, tmp_path, policy):
    data = tmp_path / "data.json"
    data.write_text('{"b": [1, 2], "a": null}')
    plain = python("-m", "json.tool", "--sort-keys", data, cwd=tmp_path)
    assert plain.returncode == 0 and '"a": null' in plain.stdout, plain
    ran = auditwall_run("--policy", policy, "-m", "json.tool", "--sort-keys", data, cwd=tmp_path)
    assert ran.returncode == 0 and ran.stdout == plain.stdout, ran
    assert denials(ran.stderr) == [], ran


@pytest.mark.parametrize("policy", BUILTINS)
def test_python_start_up_and_exit_record_no_denial(auditwall_run, tmp_path, policy):
    # Python's own start-up opens the standard streams by descriptor; finalisation clears the
    # hooks: neither is the program's doing.
    path = program_file(tmp_path, "print('ok')\n")
    ran = auditwall_run("--policy", policy, path, cwd=tmp_path)
    assert ran.returncode == 0 and ran.lines == ["ok"], ran
    assert denials(ran.stderr) == [], ran


# What each built-in promises to stop. Each payload leaves a marker file when it works.
PAYLOADS = {
    "os-system": """
        import os
        os.system("touch " + MARKER)
    """,
    "pickle-unknown-global": """
        import pickle
        pickle.loads(b"cos\\nsystem\\n(V" + ("touch " + MARKER).encode() + b"\\ntR.")
    """,
    "exec-string-from-main": """
        source = "open(MARKER, 'w').close()"
        exec(source)
    """,
    "eval-from-main": """
        eval(compile("open(MARKER, 'w').close()", "<input>", "exec"))
    """,
}

# payload -> {builtin: rule that stops it}; a builtin not listed does not promise to stop it.
PROMISES = {
    "os-system": {"builtin:strict": "strict-no-processes", "builtin:web-service": "web-no-shells"},
    "pickle-unknown-global": {"builtin:strict": "strict-no-processes",
                              "builtin:web-service": "web-pickle-known-classes"},
    "exec-string-from-main": {"builtin:strict": "default"},
    "eval-from-main": {"builtin:strict": "default"},
}


def payload_file(tmp_path, body):
    marker = tmp_path / "marker"
    path = tmp_path / "payload.py"
    path.write_text(f"MARKER = {str(marker)!r}\ntry:\n"
                    + textwrap.indent(textwrap.dedent(body), "    ")
                    + "    print('done')\nexcept PermissionError as e:\n"
                      "    print('denied', e.rule)\n")
    return path, marker


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload_works_without_auditwall(python, tmp_path, name):
    path, marker = payload_file(tmp_path, PAYLOADS[name])
    ran = python(path, cwd=tmp_path)
    assert ran.lines == ["done"] and marker.exists(), ran


@pytest.mark.parametrize("policy", ["builtin:strict", "builtin:web-service"])
@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_each_builtin_stops_what_it_promises(auditwall_run, tmp_path, policy, name):
    rule = PROMISES[name].get(policy)
    if rule is None:
        pytest.skip(f"{policy} does not promise to stop {name} (docs/policy.md)")
    path, marker = payload_file(tmp_path, PAYLOADS[name])
    ran = auditwall_run("--policy", policy, path, cwd=tmp_path)
    assert ran.lines == [f"denied {rule}"], ran
    assert not marker.exists(), ran


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_monitor_all_records_and_lets_it_happen(auditwall_run, tmp_path, name):
    path, marker = payload_file(tmp_path, PAYLOADS[name])
    ran = auditwall_run("--policy", "builtin:monitor-all", path, cwd=tmp_path)
    assert ran.lines == ["done"] and marker.exists(), ran
    records = [json.loads(line) for line in ran.stderr.splitlines() if line.startswith("{")]
    assert any(r["rule"] == "monitor-all" and r["event"] in ("os.system", "pickle.find_class", "exec", "compile")
               and r["decision"] == "log" for r in records), ran


def explain(policy, *event):
    return run([sys.executable, "-m", "auditwall", "policy", "explain", policy, "--event", *event])


@pytest.mark.parametrize("policy,rule", [("builtin:strict", "strict-no-network"),
                                         ("builtin:web-service", "web-cloud-metadata")])
def test_cloud_metadata_is_denied_by_explain(policy, rule):
    ran = explain(policy, "socket.connect", "169.254.169.254", "80")
    assert ran.returncode == 0, ran
    assert f"decision: rule '{rule}' (line" in ran.stdout and ran.stdout.rstrip().endswith(
        ("deny", "out of bounds", "no network access")), ran
    # and loopback is not, under web-service
    if policy == "builtin:web-service":
        ran = explain(policy, "socket.connect", "127.0.0.1", "80")
        assert ran.stdout.splitlines()[-1] == "decision: no rule matches; default: allow", ran


METADATA_CONNECT = """
import errno, socket
try:
    s = socket.socket()
    s.settimeout(1)
    s.connect(("169.254.169.254", 80))
    print("connected")
except PermissionError as e:
    print("denied", getattr(e, "rule", None))
except OSError as e:
    print("reached the network stack", errno.errorcode.get(e.errno, e.errno))
"""


@pytest.mark.parametrize("policy,rule", [("builtin:strict", "strict-no-network"),
                                         ("builtin:web-service", "web-cloud-metadata")])
def test_cloud_metadata_connect_in_an_empty_network_namespace(tmp_path, policy, rule):
    # The connection attempt never leaves the machine: `unshare -n` gives the child a network
    # namespace with no interface but a down loopback.
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("no network namespace can be made here (unshare -n)")
    script = tmp_path / "connect.py"
    script.write_text(METADATA_CONNECT)
    plain = run([unshare, "-n", sys.executable, script])
    # without auditwall the connect reaches the kernel (which has no route in the namespace)
    assert plain.lines and plain.lines[0].startswith("reached the network stack"), plain
    ran = run([unshare, "-n", sys.executable, "-m", "auditwall", "run", "--policy", policy, script])
    assert ran.lines == [f"denied {rule}"], ran
