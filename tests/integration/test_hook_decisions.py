"""Allow, deny, monitor, log and kill for every event family, in fresh interpreters.

Each scenario arms a one-rule policy with auditwall.activate() in a fresh interpreter, runs
one real operation and prints what happened. Allowed (and monitored, and logged) operations
are shown to really happen; denied and killed ones are shown not to."""

import signal
import socket
import sys

import pytest

from log_records import decisions, logged, parse

# family -> (event the rule names, set-up, operation, proof that the operation happened).
# {marker} is a temporary file path, {port} a loopback port with a listener.
FAMILIES = {
    "code": ("compile", "", "value = eval('40 + 2')", "print('proof', value == 42)"),
    "deserialize": ("pickle.find_class", "import pickle, collections",
                    "value = pickle.loads(pickle.dumps(collections.OrderedDict(a=1)))",
                    "print('proof', value == {'a': 1})"),
    "process": ("os.system", "", "os.system('touch ' + MARKER)",
                "print('proof', os.path.exists(MARKER))"),
    "process-popen": ("subprocess.Popen", "import subprocess",
                      "subprocess.run(['/usr/bin/touch', MARKER], check=True)",
                      "print('proof', os.path.exists(MARKER))"),
    "process-spawn": ("os.posix_spawn", "",
                      "os.waitpid(os.posix_spawn('/usr/bin/touch', ['touch', MARKER], {}), 0)",
                      "print('proof', os.path.exists(MARKER))"),
    "process-fork": ("os.fork", "",
                     "pid = os.fork()\n    if pid == 0:\n        open(MARKER, 'w').close(); os._exit(0)\n    os.waitpid(pid, 0)",
                     "print('proof', os.path.exists(MARKER))"),
    "network": ("socket.connect", "import socket",
                "s = socket.create_connection(('127.0.0.1', PORT), timeout=5)",
                "print('proof', s.getpeername()[1] == PORT)"),
    "file": ("os.remove", "open(MARKER, 'w').close()", "os.remove(MARKER)",
             "print('proof', not os.path.exists(MARKER))"),
    "import": ("import", "", "import colorsys",
               "print('proof', 'colorsys' in sys.modules)"),
    "native": ("ctypes.dlopen", "", "import ctypes; libc = ctypes.CDLL('libc.so.6')",
               "print('proof', libc.getpid() == os.getpid())"),
    "tamper": ("sys.addaudithook", "seen = []",
               "sys.addaudithook(lambda e, a: seen.append(e) if e == 'aw.probe' else None)",
               "sys.audit('aw.probe'); print('proof', seen == ['aw.probe'])"),
    "env": ("os.putenv", "", "os.environ['AW_PROBE'] = 'yes'",
            "print('proof', os.popen('echo $AW_PROBE').read().strip() == 'yes')"),
}

# CPython swallows an Exception raised by a hook on sys.addaudithook: the new hook is not
# added, and the caller sees no error (Python/sysmodule.c, sys_addaudithook).
SILENT = {"sys.addaudithook"}

SCRIPT = """\
import os, sys
import auditwall
MARKER = {marker!r}
PORT = {port}
{setup}
auditwall.activate({policy!r})
try:
    {operation}
    {proof}
except auditwall.PolicyViolation as e:
    print('denied', e.rule, e.event)
print('marker', os.path.exists(MARKER))
"""

POLICY = """\
version: 1
mode: enforce
rules:
  - id: the-rule
    on: {event}
    action: {action}
{extra}"""


@pytest.fixture(scope="module")
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    yield s.getsockname()[1]
    s.close()


def scenario(python, policy_file, tmp_path, port, family, action, extra=""):
    event, setup, operation, proof = FAMILIES[family]
    policy = policy_file(POLICY.format(event=event, action=action, extra=extra))
    marker = tmp_path / "marker"
    script = SCRIPT.format(marker=str(marker), port=port, setup=setup, policy=str(policy),
                           operation=operation, proof=proof)
    return event, python("-c", script)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_allow_lets_the_operation_happen(python, policy_file, tmp_path, listener, family):
    event, ran = scenario(python, policy_file, tmp_path, listener, family, "allow")
    assert ran.returncode == 0, ran
    assert "proof True" in ran.lines, ran
    assert not any(line.startswith("denied") for line in ran.lines), ran


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_deny_blocks_the_operation(python, policy_file, tmp_path, listener, family):
    event, ran = scenario(python, policy_file, tmp_path, listener, family, "deny")
    assert ran.returncode == 0, ran
    if event in SILENT:
        assert "proof False" in ran.lines, ran
    else:
        assert f"denied the-rule {event}" in ran.lines, ran
        assert not any(line.startswith("proof") for line in ran.lines), ran
    if family.startswith("process") or family == "file":
        expected = "marker True" if family == "file" else "marker False"
        assert ran.lines[-1] == expected, ran
    assert logged(ran.stderr, event, "deny"), ran


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_monitor_records_would_deny_and_lets_it_happen(python, policy_file, tmp_path, listener, family):
    event, ran = scenario(python, policy_file, tmp_path, listener, family, "deny",
                          extra="    mode: monitor\n")
    assert ran.returncode == 0, ran
    assert "proof True" in ran.lines, ran
    assert logged(ran.stderr, event, "would-deny"), ran


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_log_records_and_lets_it_happen(python, policy_file, tmp_path, listener, family):
    event, ran = scenario(python, policy_file, tmp_path, listener, family, "log")
    assert ran.returncode == 0, ran
    assert "proof True" in ran.lines, ran
    assert logged(ran.stderr, event, "log"), ran


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_kill_ends_the_process_after_recording_why(python, policy_file, tmp_path, listener, family):
    event, ran = scenario(python, policy_file, tmp_path, listener, family, "kill")
    assert ran.returncode == -signal.SIGKILL, ran
    assert not any(line.startswith(("proof", "denied", "marker")) for line in ran.lines), ran
    assert logged(ran.stderr, event, "kill"), ran
    assert "blocked by rule the-rule; killing the process" in ran.stderr, ran
    if family.startswith("process"):
        assert not (tmp_path / "marker").exists()


def test_global_monitor_mode_never_raises(python, policy_file, tmp_path, listener):
    event, setup, operation, proof = FAMILIES["process"]
    policy = policy_file("version: 1\nmode: monitor\nrules:\n"
                         "  - id: r\n    on: os.system\n    action: kill\n")
    marker = tmp_path / "marker"
    script = SCRIPT.format(marker=str(marker), port=listener, setup=setup, policy=str(policy),
                           operation=operation, proof=proof)
    ran = python("-c", script)
    assert ran.returncode == 0, ran
    assert "proof True" in ran.lines, ran
    assert logged(ran.stderr, "os.system", "would-deny"), ran


# The tampering events, each denied and each shown to work when allowed.
TAMPER = {
    "sys.settrace": "sys.settrace(None)",
    "sys.setprofile": "sys.setprofile(None)",
    "sys._current_frames": "sys._current_frames()",
    "gc.get_objects": "import gc; gc.get_objects()",
    "gc.get_referrers": "import gc; gc.get_referrers(sys)",
    "gc.get_referents": "import gc; gc.get_referents(sys)",
    "code.__new__": "(lambda: 0).__code__.replace(co_name='renamed')",
    "function.__new__": "import types; types.FunctionType((lambda: 0).__code__, {})",
    "object.__setattr__": "f = lambda: 0; f.__code__ = (lambda: 1).__code__",
}


@pytest.mark.parametrize("event", sorted(TAMPER))
@pytest.mark.parametrize("action", ["allow", "deny"])
def test_tampering_events(python, policy_file, event, action):
    # (sys.addaudithook is the tamper family's scenario above)
    policy = policy_file(POLICY.format(event=event, action=action, extra=""))
    script = f"""
import sys, auditwall
auditwall.activate({str(policy)!r})
try:
    {TAMPER[event]}
    print('done')
except auditwall.PolicyViolation as e:
    print('denied', e.event)
"""
    ran = python("-c", script)
    assert ran.returncode == 0, ran
    assert ran.lines == (["done"] if action == "allow" else [f"denied {event}"]), ran


def test_violation_attributes_and_message(python, policy_file):
    policy = policy_file("version: 1\nrules:\n  - id: no-shells\n    on: os.system\n    action: deny\n")
    script = f"""
import os, auditwall
auditwall.activate({str(policy)!r})
try:
    os.system(b'id')
except PermissionError as e:
    print(type(e) is auditwall.PolicyViolation, isinstance(e, PermissionError))
    print(e.event, e.rule, repr(e.reason))
    print(str(e))
"""
    ran = python("-c", script)
    assert ran.returncode == 0, ran
    assert ran.lines[0] == "True True", ran
    assert ran.lines[1].startswith("os.system no-shells 'denied by policy "), ran
    # bytes arguments are shown as the person wrote the command
    assert ran.lines[2] == "auditwall: os.system('id') blocked by rule no-shells", ran


def test_violation_message_includes_the_rule_message(python, policy_file):
    policy = policy_file("version: 1\nrules:\n  - id: no-shells\n    on: os.system\n"
                         "    action: deny\n    message: no shells here\n")
    script = f"""
import os, auditwall
auditwall.activate({str(policy)!r})
try:
    os.system('echo ' + 'x' * 500)
except auditwall.PolicyViolation as e:
    print(e.reason)
    print(str(e))
"""
    ran = python("-c", script)
    assert ran.lines[0] == "no shells here", ran
    assert ran.lines[1].startswith("auditwall: os.system('echo xxx"), ran
    assert ran.lines[1].endswith("...) blocked by rule no-shells: no shells here"), ran
    assert len(ran.lines[1]) < 300, ran


def test_policy_violation_cannot_be_patched(python):
    # The hook builds this exception while its recursion guard is on: no program code may be
    # attached to the type.
    ran = python("-c", """
import auditwall
try:
    auditwall.PolicyViolation.__init__ = lambda self, *a: None
    print('patched')
except TypeError:
    print('immutable')
""")
    assert ran.lines == ["immutable"], ran
