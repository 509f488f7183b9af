"""Hook decisions that depend on matchers, in fresh interpreters: writes to /proc/self/mem by
every route, path objects that change their answer, dynamic code, callers, and `open` events
whose access cannot be told."""

import textwrap

import pytest


def arm(policy, body):
    """A child script: arm `policy`, then run `body`, printing what it observes."""
    return f"import auditwall\nauditwall.activate({str(policy)!r})\n" + textwrap.dedent(body)


def attempt(body):
    """`body` wrapped to print 'done' or 'denied RULE'."""
    body = textwrap.dedent(body)
    if not body.endswith("\n"):
        body += "\n"
    return ("try:\n" + textwrap.indent(body, "    ") +
            "    print('done')\nexcept PermissionError as e:\n    print('denied', getattr(e, 'rule', None))\n")


# ---- /proc/self/mem -------------------------------------------------------------------------

PROC_MEM_POLICY = """\
version: 1
rules:
  - id: no-proc-mem
    on: file.write
    match: {path: ["/proc/*/mem", "/proc/*/task/*/mem"]}
    action: deny
"""

# Each route opens the process's memory for writing and writes nothing (harmless), then closes.
PROC_MEM_ROUTES = {
    "direct": """
        fd = os.open("/proc/self/mem", os.O_WRONLY)
        os.close(fd)
    """,
    "open-builtin": """
        open("/proc/self/mem", "wb", buffering=0).close()
    """,
    "dir-fd": """
        proc = os.open("/proc/self", os.O_RDONLY | os.O_DIRECTORY)
        fd = os.open("mem", os.O_WRONLY, dir_fd=proc)
        os.close(fd)
    """,
    "opener-dir-fd": """
        proc = os.open("/proc/self", os.O_RDONLY | os.O_DIRECTORY)
        open("mem", "wb", buffering=0, opener=lambda name, flags: os.open(name, flags, dir_fd=proc)).close()
    """,
    "symlink": """
        link = os.path.join(TMP, "innocent")
        os.symlink("/proc/self/mem", link)
        open(link, "wb", buffering=0).close()
    """,
    "thread-self": """
        open("/proc/thread-self/mem", "wb", buffering=0).close()
    """,
}


def proc_mem_script(tmp_path, route, policy=None):
    body = "import os\nTMP = %r\n" % str(tmp_path) + attempt(PROC_MEM_ROUTES[route])
    return arm(policy, body) if policy else body


@pytest.mark.parametrize("route", sorted(PROC_MEM_ROUTES))
def test_proc_self_mem_opens_for_writing_without_auditwall(python, tmp_path, route):
    ran = python("-c", proc_mem_script(tmp_path, route), cwd=tmp_path)
    assert ran.lines == ["done"], ran


@pytest.mark.parametrize("route", sorted(PROC_MEM_ROUTES))
def test_proc_self_mem_write_is_denied_by_every_route(python, policy_file, tmp_path, route):
    # dir_fd: os.open's `open` event has no dir_fd, so the hook also decides on the name in
    # each directory the process holds open; symlink: it also decides on the resolved path.
    policy = policy_file(PROC_MEM_POLICY)
    ran = python("-c", proc_mem_script(tmp_path, route, policy), cwd=tmp_path)
    assert ran.lines == ["denied no-proc-mem"], ran


def test_reading_proc_self_mem_is_not_a_write(python, policy_file, tmp_path):
    policy = policy_file(PROC_MEM_POLICY)
    ran = python("-c", arm(policy, attempt("open('/proc/self/mem', 'rb').close()\n")), cwd=tmp_path)
    assert ran.lines == ["done"], ran


# ---- path objects whose __fspath__ changes ------------------------------------------------------

FLIP = """
import os, shutil, subprocess
class Flip:
    # a PathLike that answers one path the first time and another afterwards
    def __init__(self, first, then):
        self.answers = [first, then]
    def __fspath__(self):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
"""

ALLOW_CWD_POLICY = """\
version: 1
default: deny
rules:
  - id: writes-in-work
    on: [file.write, file.rename, file.delete, file.meta]
    match: {path: ["{work}/**"]}
    action: allow
"""


@pytest.mark.parametrize("how", ["open", "os.open", "shutil.copyfile"])
def test_changing_pathlike_cannot_get_past_an_allow_rule(python, policy_file, tmp_path, how):
    work = tmp_path / "work"
    work.mkdir()
    (work / "src.txt").write_text("payload")
    outside = tmp_path / "outside.txt"
    call = {
        "open": "open(target, 'w').write('payload')",
        "os.open": "os.close(os.open(target, os.O_WRONLY | os.O_CREAT))",
        "shutil.copyfile": f"shutil.copyfile({str(work / 'src.txt')!r}, target)",
    }[how]
    body = FLIP + f"target = Flip({str(work / 'ok.txt')!r}, {str(outside)!r})\n" + attempt(call)
    # Without auditwall, Flip does reach the outside file whenever it is asked twice.
    plain = python("-c", body, cwd=work)
    assert plain.lines == ["done"], plain
    reached_outside = outside.exists()
    outside.unlink(missing_ok=True)
    if how == "shutil.copyfile":
        assert reached_outside, "shutil converts the path after its event: the flip must show"
    policy = policy_file(ALLOW_CWD_POLICY.replace("{work}", str(work)))
    ran = python("-c", arm(policy, body), cwd=work)
    # open() and os.open convert once, before their event: the hook decides on the path the
    # syscall uses. shutil converts after its event: the argument is opaque and the allow
    # rule does not apply; the write to the outside file is denied either way.
    assert not outside.exists(), ran
    if how == "shutil.copyfile":
        assert ran.lines == ["denied default"], ran
    else:
        assert ran.lines == ["done"] and (work / "ok.txt").exists(), ran


def test_changing_pathlike_cannot_get_past_a_deny_rule(python, policy_file, tmp_path):
    # subprocess converts argv after its event, and on 3.10-3.12 starts the program with no
    # further event: a deny rule on shells must not be passed by a path object that the hook
    # cannot read (it fails closed, on the deny rules it could not rule out).
    marker = tmp_path / "marker"
    body = FLIP + attempt(
        f"subprocess.run([Flip('/bin/true', '/bin/sh'), '-c', 'touch {marker}'], check=True)\n")
    plain = python("-c", body, cwd=tmp_path)
    assert plain.lines == ["done"] and marker.exists(), plain
    marker.unlink()
    policy = policy_file("""\
version: 1
rules:
  - id: no-shells
    on: process
    match: {shell: true}
    action: deny
""")
    ran = python("-c", arm(policy, body), cwd=tmp_path)
    assert ran.lines == ["denied no-shells"] and not marker.exists(), ran
    # plain text arguments are read and judged as usual
    ok = python("-c", arm(policy, attempt("import subprocess\nsubprocess.run(['/bin/true'], check=True)\n")))
    assert ok.lines == ["done"], ok


# ---- dynamic code -------------------------------------------------------------------------

DYNAMIC_CODE_POLICY = """\
version: 1
rules:
  - id: stdlib-code
    on: code
    match: {origin: dynamic, caller: [stdlib]}
    action: allow
  - id: no-dynamic-code
    on: code
    match: {origin: dynamic}
    action: deny
"""


def test_dynamic_code_deny_rule_keeps_imports_and_generated_code_working(python, policy_file, tmp_path):
    (tmp_path / "helper_mod.py").write_text("def twice(x):\n    return 2 * x\n")
    body = """
import sys
sys.dont_write_bytecode = True          # the module is compiled from source by the import system
import collections, dataclasses, enum, importlib, json
import helper_mod
@dataclasses.dataclass
class P:
    x: int = 1
class C(enum.Enum):
    A = 1
N = collections.namedtuple('N', 'a b')
print('works', helper_mod.twice(P().x), C.A.value, N(1, 2).b, json.loads('[3]')[0])
""" + attempt("eval('1 + 1')\n") + attempt("exec(compile('x = 1', 'plugin.py', 'exec'))\n")
    plain = python("-c", body, cwd=tmp_path)
    assert plain.lines == ["works 2 1 2 3", "done", "done"], plain
    policy = policy_file(DYNAMIC_CODE_POLICY)
    ran = python("-c", arm(policy, body), cwd=tmp_path)
    assert ran.lines == ["works 2 1 2 3", "denied no-dynamic-code", "denied no-dynamic-code"], ran


def test_a_stdlib_caller_is_told_by_its_file(python, tmp_path):
    body = """
import os, sysconfig, json
from auditwall import _core
stdlib = sysconfig.get_paths()['stdlib']
print(_core._in_stdlib(json.__file__), _core._in_stdlib(os.path.join(stdlib, 'x.py')))
print(_core._in_stdlib(os.path.join(stdlib, 'site-packages', 'x.py')), _core._in_stdlib(stdlib + '/../../x.py'),
      _core._in_stdlib(stdlib + '//x.py'), _core._in_stdlib('/tmp/x.py'), _core._in_stdlib(_core.__file__))
print(_core._in_stdlib('<frozen os>'), _core._in_stdlib('<string>'))
"""
    ran = python("-c", body, cwd=tmp_path)
    assert ran.lines == ["True True", "False False False False False", "True False"], ran


# ---- callers ------------------------------------------------------------------------------

def test_caller_rule_allows_one_module_and_denies_another(python, policy_file, tmp_path):
    marker = tmp_path / "marker"
    for name in ("trusted_net", "untrusted_net"):
        (tmp_path / f"{name}.py").write_text(
            "import os\ndef run(marker):\n    os.system('touch ' + marker)\n")
    body = f"""
import os
MARKER = {str(marker)!r}
import trusted_net, untrusted_net
""" + attempt("untrusted_net.run(MARKER + '-untrusted')\n") + attempt("trusted_net.run(MARKER + '-trusted')\n")
    plain = python("-c", body, cwd=tmp_path)
    assert plain.lines == ["done", "done"], plain
    for suffix in ("-trusted", "-untrusted"):
        assert (tmp_path / f"marker{suffix}").exists()
        (tmp_path / f"marker{suffix}").unlink()
    policy = policy_file("""\
version: 1
rules:
  - id: trusted-may-run
    on: os.system
    match: {caller: [trusted_net]}
    action: allow
  - id: nobody-else
    on: os.system
    action: deny
""")
    ran = python("-c", arm(policy, body), cwd=tmp_path)
    assert ran.lines == ["denied nobody-else", "done"], ran
    assert (tmp_path / "marker-trusted").exists() and not (tmp_path / "marker-untrusted").exists()


# ---- open with no mode and no flags -------------------------------------------------------

def test_open_event_without_mode_or_flags_is_both_read_and_write(python, policy_file, tmp_path):
    # No CPython function raises `open` without a mode and flags; a program or library can
    # (sys.audit). Its access cannot be told, so file.read and file.write both select it, and
    # default: deny covers it (only read-only opens are exempt).
    for on, rule in (("file.write", "no-writes"), ("file.read", "no-reads")):
        policy = policy_file(f"version: 1\nrules:\n  - id: {rule}\n    on: {on}\n"
                             f"    match: {{path: ['{tmp_path}/**']}}\n    action: deny\n")
        ran = python("-c", arm(policy, attempt(f"import sys\nsys.audit('open', {str(tmp_path / 'f')!r}, None, None)\n")))
        assert ran.lines == [f"denied {rule}"], ran
    policy = policy_file("version: 1\ndefault: deny\nrules:\n  - id: reads-anywhere\n    on: file.read\n"
                         "    match: {path: ['/**']}\n    action: allow\n")
    ran = python("-c", arm(policy, attempt(f"import sys\nsys.audit('open', {str(tmp_path / 'f')!r}, None, None)\n")))
    # an allow rule for reads does not cover an open that may write: the default decides
    assert ran.lines == ["denied default"], ran
