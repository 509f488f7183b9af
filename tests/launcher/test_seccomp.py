"""auditwall-launch's kernel layer: real seccomp filters on real syscalls and interpreters.

Each escape is first shown to work without the launcher (and, where it matters, under the
audit hook alone), then shown to be stopped, and reported by name, under the launcher.
"""

import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, ROOT, run
from log_records import parse

DENY_SYSTEM = FIXTURES / "deny-system.yaml"

NO_PROCESSES = """\
version: 1
rules:
  - id: no-processes
    on: [os.system, os.exec, os.posix_spawn, os.spawn, subprocess.Popen, pty.spawn,
         os.fork, os.forkpty]
    action: deny
seccomp:
  derive: true
"""

NO_CONNECTIONS = """\
version: 1
rules:
  - id: no-connections
    on: socket.connect
    action: deny
seccomp:
  derive: true
"""


def helper(name, tmp_path_factory):
    """A C helper of tests/launcher: CMake's build when there is one, else compiled here."""
    built = ROOT / ".build" / "cmake" / "tests" / "launcher" / name
    source = ROOT / "tests" / "launcher" / f"{name}.c"
    if built.exists() and built.stat().st_mtime >= source.stat().st_mtime:
        return built
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, f"no C compiler to build {source}"
    out = tmp_path_factory.mktemp("bin") / name
    subprocess.run([compiler, "-O1", "-o", str(out), str(source)], check=True)
    return out


@pytest.fixture(scope="session")
def try_syscall(tmp_path_factory):
    return helper("try-syscall", tmp_path_factory)


@pytest.fixture(scope="session")
def without_seccomp(tmp_path_factory):
    return helper("without-seccomp", tmp_path_factory)


def syscall_records(text, decision=None):
    """The kernel layer's records in the log `text` (validated against the schema)."""
    return [r for r in parse(text) if r["event"].startswith("syscall.")
            and (decision is None or r["decision"] == decision)]


def reported(text, syscall, decision, rule=r"seccomp-[a-z-]+"):
    """The records of `decision` on a syscall matching the regex `syscall` under `rule`."""
    return [r for r in syscall_records(text, decision)
            if re.fullmatch(syscall, r["args"]["syscall"]) and re.fullmatch(rule, r["rule"])
            and r["event"] == "syscall." + r["args"]["syscall"]]


@pytest.fixture
def launch(launcher, tmp_path):
    """Runs PROGRAM under auditwall-launch with a policy (a path or policy text)."""
    def _launch(policy, *program, options=(), **kwargs):
        if isinstance(policy, str) and not policy.startswith("builtin:"):
            path = tmp_path / "policy.yaml"
            path.write_text(policy)
            policy = path
        kwargs.setdefault("cwd", tmp_path)
        return run([launcher, "--policy", policy, *options, "--", *program], **kwargs)
    return _launch


# --- the pre-exec filter, seen by a program that is not Python ---------------------------

BASELINE_CALLS = ["ptrace", "process_vm_readv", "unshare", "keyctl", "io_uring_setup"]


@pytest.mark.parametrize("name", BASELINE_CALLS)
def test_try_syscall_gets_eperm_under_the_launcher(launch, try_syscall, tmp_path, name):
    without = run([try_syscall, name], cwd=tmp_path)
    if without.returncode == errno.EPERM:
        pytest.skip(f"this kernel already refuses {name} without auditwall: {without.stdout}")
    assert without.returncode == 0, without
    ran = launch(DENY_SYSTEM, try_syscall, name)
    assert ran.returncode == errno.EPERM, ran
    assert ran.lines == [f"{name}: Operation not permitted"], ran


def test_getpid_still_works_under_the_launcher(launch, try_syscall):
    ran = launch(DENY_SYSTEM, try_syscall, "getpid")
    assert ran.returncode == 0, ran


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the i386 ABI exists on x86_64 only")
def test_the_i386_abi_is_closed(launch, try_syscall, tmp_path):
    without = run([try_syscall, "i386-getpid"], cwd=tmp_path)
    if without.returncode == errno.ENOSYS:
        pytest.skip("this kernel has no i386 emulation")
    assert without.returncode == 0, without
    ran = launch(DENY_SYSTEM, try_syscall, "i386-getpid")
    assert ran.returncode == -signal.SIGSYS, ran


def test_a_policy_that_fails_to_load_installs_nothing_and_runs_nothing(launch, try_syscall):
    ran = launch("version: 1\nrules: 3\n", try_syscall, "getpid")
    assert ran.returncode == 78, ran
    assert ran.stdout == "", ran


# --- escapes the audit hook cannot see ----------------------------------------------------

ESCAPES = {
    # libc's system() from ctypes: no audit event for the call itself.
    "ctypes-system": """\
import ctypes, sys
status = ctypes.CDLL(None).system(("touch " + sys.argv[1]).encode())
print("status", status)
""",
    # The primitive under subprocess, called directly: no subprocess.Popen event.
    "fork-exec": """\
import _posixsubprocess, os, sys
argv = [b"/bin/sh", b"-c", b"touch " + sys.argv[1].encode()]
r, w = os.pipe()
head = (argv, [b"/bin/sh"], True, (w,), None, None, -1, -1, -1, -1, -1, -1, r, w, True, False)
if sys.version_info >= (3, 11):
    tail = (-1, None, None, None, -1, None, True)
else:
    tail = (None, None, None, -1, None)
try:
    pid = _posixsubprocess.fork_exec(*head, *tail)
except OSError as e:
    print("refused", e.errno)
else:
    os.close(w)
    print("exec error", os.read(r, 200))
    print("status", os.waitpid(pid, 0)[1])
""",
    # mknod creates a file with no audit event (open, os.mkdir and the others have one).
    "mknod": """\
import os, sys
try:
    os.mknod(sys.argv[1])
    print("status 0")
except OSError as e:
    print("refused", e.errno)
""",
}

REPORTED_AS = {"ctypes-system": "clone", "fork-exec": r"(clone|vfork)", "mknod": "mknodat"}


@pytest.fixture
def escape(tmp_path):
    def _escape(name):
        path = tmp_path / f"{name}.py"
        path.write_text(ESCAPES[name])
        return path
    return _escape


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_escape_works_without_the_launcher(python, auditwall_run, policy_file, escape, tmp_path,
                                           name):
    marker = tmp_path / "marker"
    ran = python(escape(name), marker)
    assert ran.returncode == 0, ran
    assert "status 0" in ran.lines, ran
    assert marker.exists()
    # The audit hook alone, with a policy that denies every process, does not see it either.
    marker.unlink()
    ran = auditwall_run("--policy", policy_file(NO_PROCESSES), escape(name), marker)
    assert ran.returncode == 0, ran
    assert "status 0" in ran.lines, ran
    assert marker.exists(), "the hook saw this escape: it is no test of the kernel layer"


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_escape_is_stopped_and_reported_under_the_launcher(launch, escape, tmp_path, name):
    marker = tmp_path / "marker"
    ran = launch(NO_PROCESSES, sys.executable, escape(name), marker)
    assert ran.returncode == 0, ran
    assert not marker.exists(), ran
    assert "status 0" not in ran.lines, ran
    records = reported(ran.stderr, REPORTED_AS[name], "deny",
                       r"seccomp-(derived-process|unaudited)")
    assert records, ran
    assert all(r["mode"] == "enforce" and r["policy"] and r["pid"] > 0 for r in records), ran


# In monitor mode glibc creates processes with clone3, which is not watched (its flags are
# out of the filter's sight): the program it runs is, through execve.
WATCHED_AS = {"ctypes-system": "(clone|execve)", "fork-exec": r"(clone|vfork|execve)",
              "mknod": "mknodat"}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_monitor_mode_lets_the_escape_run_and_logs_it_by_name(launch, escape, tmp_path, name):
    marker = tmp_path / "marker"
    log = tmp_path / "events.jsonl"
    ran = launch(NO_PROCESSES, sys.executable, escape(name), marker,
                 options=("--mode", "monitor"), env={"AUDITWALL_LOG": f"file:{log}"})
    assert ran.returncode == 0, ran
    assert "status 0" in ran.lines, ran
    assert marker.exists(), ran
    # In auditwall's own log (the sink AUDITWALL_LOG chose), by name, as would-deny.
    text = log.read_text()
    records = reported(text, WATCHED_AS[name], "would-deny",
                       r"seccomp-(derived-process|unaudited)")
    assert records, text
    assert all(r["mode"] == "monitor" for r in records), text
    assert not syscall_records(ran.stderr), ran


def test_monitor_mode_reports_calls_of_programs_that_are_not_python(launch, try_syscall,
                                                                    tmp_path):
    # try-syscall has no reporter of its own: its Python parent's supervisor reports its
    # call, and the call runs (a trap would have killed it).
    ran = launch(DENY_SYSTEM, sys.executable, "-c",
                 "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)",
                 try_syscall, "mknod", options=("--mode", "monitor"))
    assert ran.returncode == 0, ran
    assert (tmp_path / "try-syscall.mknod").exists(), ran
    records = reported(ran.stderr, "mknodat", "would-deny", "seccomp-unaudited")
    assert len(records) == 1, ran
    assert records[0]["args"]["reporter_pid"] != records[0]["pid"], ran


def test_kernel_reports_go_to_the_chosen_sink_in_the_chosen_form(launch, tmp_path):
    code = "import os\ntry:\n    os.mknod('x')\nexcept OSError as e:\n    print(e.errno)"
    log = tmp_path / "events.log"
    ran = launch(DENY_SYSTEM, sys.executable, "-c", code,
                 env={"AUDITWALL_LOG": f"file:{log},format=text"})
    assert ran.lines == ["1"], ran
    assert "syscall" not in ran.stderr, ran
    assert re.fullmatch(r"\S+Z auditwall\[\d+\] DENY syscall mknodat rule=seccomp-unaudited "
                        r"mode=enforce\n", log.read_text()), log.read_text()
    ran = launch(DENY_SYSTEM, sys.executable, "-c", code, env={"AUDITWALL_LOG": "none"})
    assert ran.lines == ["1"], ran
    assert ran.stderr == "", ran


def test_kernel_reports_to_syslog_are_stamped_in_local_time(launch, tmp_path):
    # syslog's time stamps are local time: 14 hours east of UTC here, so a stamp in UTC shows.
    path = str(tmp_path / "log.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(30)
    code = "import os\ntry:\n    os.mknod('x')\nexcept OSError as e:\n    print(e.errno)"
    try:
        before = time.time()
        ran = launch(DENY_SYSTEM, sys.executable, "-c", code,
                     env={"AUDITWALL_LOG": f"syslog:{path}", "TZ": "<+14>-14"})
        after = time.time()
        assert ran.lines == ["1"], ran
        datagram = server.recv(65536).decode()
    finally:
        server.close()
    match = re.match(r"<\d+>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) auditwall\[\d+\]: \{",
                     datagram)
    assert match and '"event":"syscall.mknodat"' in datagram, datagram
    local = {time.strftime("%b %e %H:%M:%S", time.gmtime(t + 14 * 3600))
             for t in range(int(before), int(after) + 2)}
    assert match.group(1) in local, (datagram, sorted(local))


def test_kernel_reports_are_numbered_with_the_hook_records(launch, tmp_path):
    ran = launch(DENY_SYSTEM, sys.executable, "-c", """\
import os
for attempt in range(2):
    try:
        os.system("true")
    except PermissionError:
        pass
    try:
        os.mknod("x")
    except PermissionError:
        pass
""")
    assert ran.returncode == 0, ran
    # The hook's records go through the writer thread, the kernel's straight to the sink: the
    # order of lines may differ, the numbering does not.
    records = sorted(parse(ran.stderr), key=lambda r: r["seq"])
    assert [r["seq"] for r in records] == [1, 2, 3, 4], ran
    assert [r["event"] for r in records] == ["os.system", "syscall.mknodat"] * 2, ran


def test_repeated_kernel_reports_are_rate_limited_and_counted(launch, tmp_path):
    ran = launch(DENY_SYSTEM, sys.executable, "-c", """\
import os
for attempt in range(10):
    try:
        os.mknod("x")
    except PermissionError:
        pass
""", env={"AUDITWALL_LOG": "stderr,rate_limit=3,window_ms=60000"})
    assert ran.returncode == 0, ran
    records = parse(ran.stderr)
    assert len(syscall_records(ran.stderr)) == 3, ran
    notes = [r for r in records if r["event"] == "auditwall.rate-limit"]
    assert [(n["args"]["event"], n["args"]["dropped"]) for n in notes] == \
        [("syscall.mknodat", 7)], ran


def test_a_forked_child_counts_kernel_reports_afresh(launch, tmp_path):
    # The parent's reports are its own: the child neither counts them in status() nor reports
    # the parent's rate-limited calls again (its own calls start a fresh rate window).
    ran = launch(DENY_SYSTEM, sys.executable, "-c", """\
import os, sys, auditwall
def attempt(times):
    for _ in range(times):
        try:
            os.mknod("x")
        except PermissionError:
            pass
attempt(5)
print("parent", auditwall.status()["log"]["records"], flush=True)
pid = os.fork()
if pid == 0:
    attempt(2)
    print("child", auditwall.status()["log"]["records"], flush=True)
    sys.exit(0)
os.waitpid(pid, 0)
""", env={"AUDITWALL_LOG": "stderr,rate_limit=3,window_ms=60000"})
    assert ran.returncode == 0, ran
    assert ran.lines == ["parent 3", "child 2"], ran
    records = parse(ran.stderr)
    child = [r for r in syscall_records(ran.stderr) if str(r["pid"]) != str(records[0]["pid"])]
    assert len(child) == 2, ran
    notes = [r for r in records if r["event"] == "auditwall.rate-limit"]
    assert [(n["args"]["event"], n["args"]["dropped"]) for n in notes] == \
        [("syscall.mknodat", 2)], ran


# --- normal programs keep working ---------------------------------------------------------

WORKLOAD = """\
import asyncio, hashlib, json, multiprocessing, os, subprocess, sys, tempfile, threading


def square(x):
    return x * x


async def echo_once():
    async def handle(r, w):
        w.write(await r.readline())
        await w.drain()
        w.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        r, w = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
        w.write(b"ping\\n")
        await w.drain()
        line = await r.readline()
        w.close()
        return line.decode().strip()


if __name__ == "__main__":
    results = []
    t = threading.Thread(target=lambda: results.append(sum(range(1000))))
    t.start()
    t.join()
    print("thread", results[0])
    print("asyncio", asyncio.run(echo_once()))
    print("json", json.loads(json.dumps({"a": [1, 2]}))["a"][1])
    print("hash", hashlib.sha256(b"x").hexdigest()[:8])
    with tempfile.TemporaryDirectory() as d:
        os.mkfifo(os.path.join(d, "fifo"))
        print("fifo", os.path.exists(os.path.join(d, "fifo")))
    for method in ("fork", "spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            print(method, sum(pool.map(square, range(10))))
    print("true", subprocess.run(["/bin/true"]).returncode)
"""


def test_normal_programs_keep_working(launch, tmp_path):
    script = tmp_path / "workload.py"
    script.write_text(WORKLOAD)
    ran = launch(DENY_SYSTEM, sys.executable, script, timeout=120)
    assert ran.returncode == 0, ran
    assert ran.lines == ["thread 499500", "asyncio ping", "json 2", "hash 2d711642", "fifo True",
                         "fork 285", "spawn 285", "forkserver 285", "true 0"], ran
    assert not syscall_records(ran.stderr), ran


def test_normal_programs_keep_working_in_monitor_mode_and_are_watched(launch, tmp_path):
    # Under a policy that denies every process, in monitor mode: the supervisor thread lets
    # fork, exec and multiprocessing run, and logs each by name.
    script = tmp_path / "workload.py"
    script.write_text(WORKLOAD)
    ran = launch(NO_PROCESSES, sys.executable, script, options=("--mode", "monitor"),
                 timeout=180)
    assert ran.returncode == 0, ran
    assert ran.lines == ["thread 499500", "asyncio ping", "json 2", "hash 2d711642", "fifo True",
                         "fork 285", "spawn 285", "forkserver 285", "true 0"], ran
    assert "refusing" not in ran.stderr, ran
    assert {r["args"]["syscall"] for r in syscall_records(ran.stderr, "would-deny")} >= \
        {"execve"}, ran
    assert not syscall_records(ran.stderr, "deny"), ran


def test_cpythons_own_tests_pass_under_the_launcher(launch, tmp_path):
    # A standard workload: CPython's regression tests for json and threading (threads,
    # signals, subprocesses of the interpreter), under the default filters.
    probe = run([sys.executable, "-c", "import test.libregrtest, test.test_json"])
    if probe.returncode != 0:
        pytest.skip("this CPython has no test package: " + probe.stderr)
    ran = launch(DENY_SYSTEM, sys.executable, "-m", "test", "test_json", "test_threading",
                 timeout=900)
    assert ran.returncode == 0, ran
    assert "All 2 tests OK." in ran.stdout, ran
    assert not syscall_records(ran.stderr), ran


def test_threads_and_asyncio_work_when_every_process_is_denied(launch, tmp_path):
    ran = launch(NO_PROCESSES, sys.executable, "-c", """\
import asyncio, concurrent.futures, threading
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    print("threads", sum(pool.map(lambda x: x * x, range(10))))
async def main():
    return await asyncio.get_running_loop().run_in_executor(None, lambda: 7)
print("asyncio", asyncio.run(main()))
""")
    assert ran.returncode == 0, ran
    assert ran.lines == ["threads 285", "asyncio 7"], ran
    assert not syscall_records(ran.stderr), ran


def test_denied_connections_close_internet_sockets_only(launch, tmp_path):
    code = """\
import socket
for family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
    try:
        socket.socket(family, socket.SOCK_STREAM).close()
        print(family.name, "ok")
    except OSError as e:
        print(family.name, "refused", e.errno)
"""
    ran = run([sys.executable, "-c", code])
    assert ran.lines == ["AF_INET ok", "AF_INET6 ok", "AF_UNIX ok"], ran
    ran = launch(NO_CONNECTIONS, sys.executable, "-c", code)
    assert ran.returncode == 0, ran
    assert ran.lines == ["AF_INET refused 1", "AF_INET6 refused 1", "AF_UNIX ok"], ran
    records = reported(ran.stderr, "socket", "deny", "seccomp-derived-network")
    assert [r["args"]["syscall_args"][0] for r in records] == [socket.AF_INET, socket.AF_INET6], ran


CTYPES_CONNECT = """\
import ctypes, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
if fd < 0:
    print("refused", ctypes.get_errno())
    sys.exit(0)
address = (struct.pack("=H", socket.AF_INET) + struct.pack("!H", int(sys.argv[1]))
           + socket.inet_aton("127.0.0.1") + bytes(8))  # struct sockaddr_in
status = libc.connect(fd, address, len(address))
print("connected" if status == 0 else f"connect failed {ctypes.get_errno()}")
"""


def test_a_ctypes_connection_is_stopped_when_connections_are_denied(auditwall_run, launch,
                                                                      policy_file, tmp_path):
    script = tmp_path / "connect.py"
    script.write_text(CTYPES_CONNECT)
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = str(server.getsockname()[1])
        # The hook alone, with a policy that denies every connection, does not see it.
        ran = auditwall_run("--policy", policy_file(NO_CONNECTIONS), script, port)
        assert ran.lines == ["connected"], ran
        ran = launch(NO_CONNECTIONS, sys.executable, script, port)
        assert ran.returncode == 0, ran
        assert ran.lines == ["refused 1"], ran
        assert reported(ran.stderr, "socket", "deny", "seccomp-derived-network"), ran


def test_pidfd_send_signal_is_stopped(auditwall_run, launch, tmp_path):
    code = """\
import os, signal
fd = os.pidfd_open(os.getpid())
try:
    signal.pidfd_send_signal(fd, 0)
    print("sent")
except OSError as e:
    print("refused", e.errno)
"""
    ran = auditwall_run("--policy", DENY_SYSTEM, "-c", code)
    assert ran.lines == ["sent"], ran
    ran = launch(DENY_SYSTEM, sys.executable, "-c", code)
    assert ran.returncode == 0, ran
    assert ran.lines == ["refused 1"], ran
    assert reported(ran.stderr, "pidfd_send_signal", "deny", "seccomp-unaudited"), ran


def test_high_bits_in_the_socket_domain_do_not_slip_past(launch, try_syscall, tmp_path):
    without = run([try_syscall, "socket-inet-high-bits"], cwd=tmp_path)
    assert without.returncode == 0, without
    # A Python program whose policy denies connections, running the helper through ctypes
    # would be denied exec; run the helper under a Python parent that lets processes run,
    # but with the armed filter of a no-connections policy inherited by the helper.
    ran = launch(NO_CONNECTIONS, sys.executable, "-c",
                 "import os, sys; os.execv(sys.argv[1], sys.argv[1:])", try_syscall,
                 "socket-inet-high-bits")
    # The helper has no SIGSYS reporter: the inherited trap kills it, and it never gets a socket.
    assert ran.returncode == -signal.SIGSYS, ran
    assert "socket-inet-high-bits: ok" not in ran.stdout, ran


# --- the command line ----------------------------------------------------------------------

def test_print_filter_shows_both_stages(launcher, policy_file):
    ran = run([launcher, "--policy", policy_file(NO_PROCESSES), "--print-filter"])
    assert ran.returncode == 0, ran
    assert "# auditwall pre-exec filter" in ran.stdout, ran
    assert "# auditwall armed-stage filter" in ran.stdout, ran
    assert re.search(r"^deny +execve +seccomp-derived-process$", ran.stdout, re.M), ran
    assert re.search(r"^enosys +clone3 ", ran.stdout, re.M), ran
    assert re.search(r"^deny +clone +seccomp-derived-process if \(arg0 & 0x10000\) == 0$",
                     ran.stdout, re.M), ran
    assert 'filter for syscall "ptrace"' in ran.stdout, ran


def test_no_seccomp_is_loud_and_leaves_the_escape_open(launch, escape, tmp_path):
    marker = tmp_path / "marker"
    ran = launch(NO_PROCESSES, sys.executable, escape("mknod"), marker,
                 options=("--no-seccomp",))
    assert ran.returncode == 0, ran
    assert marker.exists(), ran
    assert "WARNING: --no-seccomp: running WITHOUT the seccomp layer" in ran.stderr, ran
    assert not syscall_records(ran.stderr), ran


# --- where seccomp is unavailable --------------------------------------------------------

FILTERS = ("import re\n"
           "print(re.search(r'Seccomp_filters:\\s*(\\d+)', open('/proc/self/status').read())[1])")


@pytest.mark.parametrize("how, why", [
    ((), "this kernel has no seccomp support"),
    (("--only-set",), "lacks seccomp filter features auditwall needs"),
])
def test_the_launcher_refuses_where_seccomp_is_unavailable(launcher, without_seccomp, tmp_path,
                                                           how, why):
    # The helper itself leaves ordinary programs running.
    ran = run([without_seccomp, *how, sys.executable, "-c", "print('ran')"])
    assert ran.lines == ["ran"], ran
    ran = run([without_seccomp, *how, launcher, "--policy", DENY_SYSTEM, "--", sys.executable,
               "-c", "print('ran')"], cwd=tmp_path)
    assert ran.returncode == 71, ran
    assert ran.stdout == "", ran
    assert re.search(r"^auditwall-launch: refusing to start: seccomp is unavailable: .*" + why,
                     ran.stderr, re.M), ran
    assert "pass --no-seccomp to run with the audit hook only" in ran.stderr, ran


def test_no_seccomp_runs_where_seccomp_is_unavailable_and_says_so(launcher, without_seccomp,
                                                                  tmp_path):
    if "Seccomp_filters:" not in open("/proc/self/status").read():
        pytest.skip("this kernel does not count seccomp filters in /proc (Linux 5.9)")
    code = FILTERS + "\nimport os\ntry:\n    os.system('true')\nexcept PermissionError:\n" \
        "    print('hook denied os.system')"
    ran = run([without_seccomp, launcher, "--no-seccomp", "--policy", DENY_SYSTEM, "--",
               sys.executable, "-c", code], cwd=tmp_path)
    assert ran.returncode == 0, ran
    # One filter, the helper's: the launcher and the extension added none. The hook still runs.
    assert ran.lines == ["1", "hook denied os.system"], ran
    assert re.search(r"^auditwall-launch: WARNING: --no-seccomp: running WITHOUT the seccomp "
                     r"layer; only the audit hook protects ", ran.stderr, re.M), ran


def test_policy_check_flags_what_the_kernel_layer_would_stop(python, launch, policy_file):
    path = policy_file(NO_CONNECTIONS)
    ran = python("-m", "auditwall", "policy", "check", path)
    assert ran.returncode == 0, ran
    assert ran.lines == [f"{path}: ok"], ran
    assert re.search(rf"^{re.escape(str(path))}: warning: seccomp: every connection is denied, "
                     r"so the kernel layer stops creating internet sockets; socket\.bind is "
                     r"allowed", ran.stderr, re.M), ran
    ran = launch(NO_CONNECTIONS, sys.executable, "-c", "pass")
    assert ran.returncode == 0, ran
    assert "auditwall-launch: warning: seccomp: every connection is denied" in ran.stderr, ran
    ran = python("-m", "auditwall", "policy", "check", DENY_SYSTEM)
    assert ran.returncode == 0 and "warning" not in ran.stderr, ran


# --- the policy's own seccomp section ------------------------------------------------------

@pytest.mark.parametrize("action, expected", [("errno", errno.EPERM), ("kill", -signal.SIGSYS),
                                              ("log", 0)])
def test_the_policys_own_deny_list_and_action(launch, try_syscall, tmp_path, action, expected):
    without = run([try_syscall, "getppid"], cwd=tmp_path)
    assert without.returncode == 0, without
    ran = launch(f"version: 1\nseccomp:\n  deny: [getppid]\n  action: {action}\n",
                 try_syscall, "getppid")
    assert ran.returncode == expected, ran


def test_the_policys_own_deny_list_is_reported_by_name_in_python(launch):
    ran = launch("version: 1\nseccomp:\n  deny: [getppid]\n", sys.executable, "-c",
                 "import os; print(os.getppid())")
    assert ran.returncode == 0, ran
    assert ran.lines == ["-1"], ran
    assert reported(ran.stderr, "getppid", "deny", "seccomp-policy"), ran


def test_the_policys_own_log_action_is_logged_as_log_and_runs(launch):
    ran = launch("version: 1\nseccomp:\n  deny: [getppid]\n  action: log\n", sys.executable,
                 "-c", "import os; print(os.getppid() > 0)")
    assert ran.returncode == 0, ran
    assert ran.lines == ["True"], ran
    records = reported(ran.stderr, "getppid", "log", "seccomp-policy")
    assert len(records) == 1 and records[0]["mode"] == "enforce", ran


def test_bad_syscall_names_are_rejected_at_load(launch, python, policy_file, try_syscall):
    text = "version: 1\nseccomp:\n  deny: [ptrace, ptrcae]\n"
    ran = launch(text, try_syscall, "getpid")
    assert ran.returncode == 78, ran
    assert re.search(r"policy\.yaml:3:18: error: .*ptrcae", ran.stderr), ran
    assert ran.stdout == "", ran
    ran = python("-m", "auditwall", "policy", "check", policy_file(text))
    assert ran.returncode == 1, ran
    assert "ptrcae" in ran.stderr, ran


def test_policy_check_flags_a_kernel_rule_against_allowed_programs(python, policy_file):
    path = policy_file("version: 1\nseccomp:\n  deny: [execve]\n")
    ran = python("-m", "auditwall", "policy", "check", path)
    assert ran.returncode == 0, ran
    assert (f"{path}: warning: seccomp: seccomp.deny has execve, but the audit rules allow "
            "running some programs") in ran.stderr, ran

