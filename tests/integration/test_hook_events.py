"""The typed fields the hook reads from real CPython events, per family, on this interpreter.

Each scenario runs in a fresh interpreter: a Python audit hook there captures the real
arguments of the events an operation raises, and asks auditwall's reader what it sees in
them (auditwall._core._event_fields, the same code the hook runs)."""

import json
import os
import socket
import sys

import pytest

# The child: runs SNIPPET with a capturing hook, then prints one JSON line per captured event.
CAPTURE = r"""
import json, os, sys
from auditwall import _core
WANT = set(sys.argv[1].split(","))
captured = []
def hook(name, args):
    if name in WANT:
        captured.append((name, _core._event_fields(name, args, skip_frames=1)))
snippet = compile(sys.argv[2], "<snippet>", "exec")
sys.addaudithook(hook)
exec(snippet, {"__name__": "snippet"})
sys.addaudithook  # keep the hook alive
def plain(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v
for name, fields in captured:
    print(json.dumps({"event": name, **{k: plain(v) for k, v in fields.items()}}))
"""


def capture(python, events, snippet, **kwargs):
    ran = python("-c", CAPTURE, ",".join(events), snippet, **kwargs)
    assert ran.returncode == 0, ran
    return [json.loads(line) for line in ran.lines], ran


def only(records, event, ran, **where):
    found = [r for r in records if r["event"] == event and all(r[k] == v for k, v in where.items())]
    assert found, f"no {event} event with {where}: {records}\n{ran!r}"
    return found[0]


def test_open_text_path_mode_and_flags(python, tmp_path):
    target = tmp_path / "f.txt"
    records, ran = capture(python, ["open"], f"open({str(target)!r}, 'w').close()")
    r = only(records, "open", ran, path=str(target))
    assert r["open_mode"] == "w", r
    assert r["open_flags"] & os.O_WRONLY and r["open_flags"] & os.O_CREAT, r
    assert r["opaque"] is False


def test_os_open_has_no_mode_and_its_flags_decide(python, tmp_path):
    target = tmp_path / "g"
    records, ran = capture(python, ["open"],
                           f"import os; os.close(os.open({str(target)!r}, os.O_RDWR | os.O_CREAT))")
    r = only(records, "open", ran, path=str(target))
    assert r["open_mode"] is None, r
    assert r["open_flags"] & os.O_RDWR and r["open_flags"] & os.O_CREAT, r


def test_open_of_bytes_path_and_relative_path_gets_cwd(python, tmp_path):
    (tmp_path / "rel").write_text("x")
    records, ran = capture(python, ["open"], "open(b'rel').close()", cwd=tmp_path)
    r = only(records, "open", ran, path="rel")
    assert r["cwd"] == str(tmp_path), r


def test_open_of_a_file_descriptor_has_no_path(python, tmp_path):
    target = tmp_path / "h"
    target.write_text("x")
    records, ran = capture(python, ["open"],
                           f"import os; fd = os.open({str(target)!r}, 0); open(fd).close()")
    fd_opens = [r for r in records if r["path"] is None]
    assert len(fd_opens) == 1, (records, ran)
    assert fd_opens[0]["open_mode"] == "r"


def test_pathlike_is_read_as_the_path_cpython_converted_it_to(python, tmp_path):
    # open() and os.* convert a PathLike before the event: the event carries the str, once.
    target = tmp_path / "p"
    snippet = f"""
class P:
    calls = 0
    def __fspath__(self):
        P.calls += 1
        return {str(target)!r} if P.calls == 1 else '/etc/passwd'
open(P(), 'w').close()
"""
    records, ran = capture(python, ["open"], snippet)
    r = only(records, "open", ran, path=str(target))
    assert r["opaque"] is False


def test_pathlike_that_cpython_converts_after_the_event_is_opaque(python):
    # subprocess.Popen and shutil pass the PathLike itself; it is converted after the check,
    # so its __fspath__ could answer differently then. The hook never calls it.
    snippet = """
import subprocess
class P:
    def __fspath__(self):
        raise AssertionError('the hook called __fspath__')
try:
    subprocess.run([P()])
except AssertionError:
    pass
"""
    records, ran = capture(python, ["subprocess.Popen"], snippet)
    r = only(records, "subprocess.Popen", ran)
    assert r["opaque"] is True, r
    assert r["executable"] == "\0<opaque>" and r["argv"] == ["\0<opaque>"], r


def test_file_events_with_two_paths(python, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("x")
    snippet = f"import os, shutil; shutil.copyfile({str(a)!r}, {str(b)!r}); os.rename({str(b)!r}, {str(b)!r} + '2'); os.remove({str(b)!r} + '2')"
    records, ran = capture(python, ["shutil.copyfile", "os.rename", "os.remove"], snippet)
    assert only(records, "shutil.copyfile", ran)["path2"] == str(b)
    r = only(records, "os.rename", ran)
    assert (r["path"], r["path2"]) == (str(b), str(b) + "2"), r
    assert only(records, "os.remove", ran)["path"] == str(b) + "2"


def test_os_system_command(python):
    records, ran = capture(python, ["os.system"], "import os; os.system('true')")
    assert only(records, "os.system", ran)["command"] == "true"


def test_subprocess_shell_and_argv(python):
    snippet = "import subprocess; subprocess.run(['/bin/true', 'a']); subprocess.run('true x', shell=True)"
    events = ["subprocess.Popen", "os.posix_spawn"]
    records, ran = capture(python, events, snippet)
    plain = only(records, "subprocess.Popen", ran, executable="/bin/true")
    assert plain["argv"] == ["/bin/true", "a"] and plain["command"] is None, plain
    shell = only(records, "subprocess.Popen", ran, executable="/bin/sh")
    assert shell["argv"] == ["/bin/sh", "-c", "true x"] and shell["command"] == "true x", shell
    if sys.version_info >= (3, 13):
        # 3.13's subprocess uses posix_spawn where it can, and raises that event too.
        spawn = only(records, "os.posix_spawn", ran, executable="/bin/sh")
        assert spawn["command"] == "true x", spawn


def test_exec_and_posix_spawn_argv(python):
    snippet = """
import os
pid = os.posix_spawn('/bin/true', ['true', 'x'], {})
os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    try:
        os.execv('/bin/true', ['true', 'y'])
    finally:
        os._exit(3)
os.waitpid(pid, 0)
"""
    records, ran = capture(python, ["os.posix_spawn", "os.fork"], snippet)
    r = only(records, "os.posix_spawn", ran)
    assert r["executable"] == "/bin/true" and r["argv"] == ["true", "x"], r
    only(records, "os.fork", ran)


def test_exec_event_in_child(python):
    # os.exec is raised in the forked child; capture it there by exec'ing a failing path.
    snippet = """
import os
try:
    os.execv('/nonexistent/prog', ['prog', 'z'])
except OSError:
    pass
"""
    records, ran = capture(python, ["os.exec"], snippet)
    r = only(records, "os.exec", ran)
    assert r["executable"] == "/nonexistent/prog" and r["argv"] == ["prog", "z"], r


def test_socket_connect_bind_sendto_and_lookups(python):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    snippet = f"""
import socket
s = socket.create_connection(('127.0.0.1', {port}))
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('127.0.0.1', 0))
u.sendto(b'x', ('127.0.0.1', {port}))
u.close()
socket.getaddrinfo('localhost', '80')
socket.gethostbyname('localhost')
if socket.has_ipv6:
    try:
        v6 = socket.socket(socket.AF_INET6)
        v6.connect(('::1', {port}))
    except OSError:
        pass
"""
    events = ["socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo",
              "socket.gethostbyname", "socket.__new__"]
    try:
        records, ran = capture(python, events, snippet)
    finally:
        listener.close()
    c = only(records, "socket.connect", ran, port=port, host="127.0.0.1")
    assert c["address_family"] == socket.AF_INET, c
    b = only(records, "socket.bind", ran)
    assert b["host"] == "127.0.0.1" and b["port"] == 0, b
    only(records, "socket.sendto", ran, host="127.0.0.1", port=port)
    g = only(records, "socket.getaddrinfo", ran, host="localhost")
    assert g["port"] == 80, g
    only(records, "socket.gethostbyname", ran, host="localhost")
    only(records, "socket.__new__", ran, address_family=socket.AF_INET)
    if socket.has_ipv6:
        only(records, "socket.connect", ran, host="::1", address_family=socket.AF_INET6)


def test_unix_socket_path(python, tmp_path):
    path = tmp_path / "s"
    snippet = f"""
import socket
s = socket.socket(socket.AF_UNIX)
s.bind({str(path)!r})
"""
    records, ran = capture(python, ["socket.bind"], snippet)
    r = only(records, "socket.bind", ran)
    assert r["path"] == str(path) and r["address_family"] == socket.AF_UNIX and r["host"] is None, r


def test_url_and_client_connects(python):
    # urlopen raises urllib.Request (fullurl, data, headers, method) before connecting.
    snippet = """
import urllib.request
for url in ['http://127.0.0.1:9/a?b', 'http://[::1]/x']:
    try:
        urllib.request.urlopen(url, timeout=5)
    except OSError:
        pass
"""
    records, ran = capture(python, ["urllib.Request", "http.client.connect"], snippet)
    r = only(records, "urllib.Request", ran, host="127.0.0.1")
    assert r["port"] == 9 and r["url"] == "http://127.0.0.1:9/a?b", r
    only(records, "urllib.Request", ran, host="::1", port=80)
    only(records, "http.client.connect", ran, host="127.0.0.1", port=9)


def test_url_forms(python):
    snippet = """
from auditwall import _core
for url in ['https://user:pw@example.invalid:8443/a?b', 'HTTPS://h', 'ftp://[fe80::1]:2121',
            'http://h:99999999/', 'no-scheme', 'http://h:x/']:
    f = _core._event_fields('urllib.Request', (url, None, {}, 'GET'))
    print(f['host'], f['port'])
"""
    ran = python("-c", snippet)
    assert ran.lines == ["b'example.invalid' 8443", "b'h' 443", "b'fe80::1' 2121",
                         "None None", "None None", "None None"], ran


def test_pickle_global(python):
    snippet = "import pickle, collections; pickle.loads(pickle.dumps(collections.OrderedDict()))"
    records, ran = capture(python, ["pickle.find_class"], snippet)
    only(records, "pickle.find_class", ran, **{"global": "collections.OrderedDict"})


def test_import_both_shapes(python):
    # The import statement: (name, None, sys.path, ...); an extension module being loaded:
    # (name, filename, None, None, None).
    snippet = "import colorsys, _decimal"
    records, ran = capture(python, ["import"], snippet)
    only(records, "import", ran, module="colorsys", path=None)
    ext = [r for r in records if r["module"] == "_decimal" and r["path"]]
    if "_decimal" not in sys.builtin_module_names:
        assert ext and ext[0]["path"].endswith(".so"), (records, ran)


def test_ctypes_dlopen(python):
    records, ran = capture(python, ["ctypes.dlopen"], "import ctypes; ctypes.CDLL('libc.so.6')")
    only(records, "ctypes.dlopen", ran, path="libc.so.6")


def test_env(python):
    records, ran = capture(python, ["os.putenv", "os.unsetenv"],
                           "import os; os.environ['AW_K'] = 'v'; del os.environ['AW_K']")
    only(records, "os.putenv", ran, env_key="AW_K")
    only(records, "os.unsetenv", ran, env_key="AW_K")


def test_dynamic_code_is_told_apart_from_module_code(python):
    snippet = """
import collections, dataclasses, enum, json.decoder
eval('1 + 1')
exec('x = 1')
code = compile('y = 2', 'made-up.py', 'exec')
exec(code)
collections.namedtuple('T', 'a b')
@dataclasses.dataclass
class D:
    a: int = 1
class E(enum.Enum):
    A = 1
"""
    records, ran = capture(python, ["compile", "exec"], snippet)
    compiles = [r for r in records if r["event"] == "compile"]
    dynamic = [r for r in compiles if r["code_origin"] == "dynamic"]
    # eval, exec and compile of the three strings of the snippet; nothing else
    assert len(dynamic) == 3, (records, ran)
    # the namedtuple and dataclass code generators are module code
    assert len([r for r in compiles if r["code_origin"] == "module"]) >= 2, (records, ran)
    execs = [r for r in records if r["event"] == "exec"]
    # imports execute module code; eval/exec of strings run "<string>" code, and the harness
    # runs the snippet's "<snippet>" code
    assert [r for r in execs if r["code_origin"] == "module"], (records, ran)
    assert len([r for r in execs if r["code_origin"] == "dynamic"]) == 3, (records, ran)


def test_garbage_arguments_are_read_without_error(python):
    # Any argument tuple, including wrong types, reads to absent or opaque fields.
    snippet = r"""
from auditwall import _core
class Evil:
    def __fspath__(self): raise SystemExit('fspath called')
    def __repr__(self): raise SystemExit('repr called')
    def __index__(self): raise SystemExit('index called')
    def __eq__(self, other): raise SystemExit('eq called')
    __hash__ = object.__hash__
names = ['open', 'socket.connect', 'subprocess.Popen', 'os.exec', 'pickle.find_class', 'urllib.Request',
         'socket.getaddrinfo', 'exec', 'compile', 'import', 'os.putenv', 'pty.spawn']
values = [None, 1, -1, 2**80, 'x', b'y', bytearray(b'z'), Evil(), (Evil(), Evil()), [Evil()], (), ('h', Evil()),
          ('\udcff', 1), 'http://[', 'http://h:99999999/', 1.5, {}]
n = 0
for name in names:
    for a in values:
        for b in values:
            _core._event_fields(name, (a, b, a))
            n += 1
print('read', n)
"""
    ran = python("-c", snippet)
    assert ran.returncode == 0, ran
    assert ran.lines[-1].startswith("read "), ran
