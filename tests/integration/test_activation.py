"""Every way of arming auditwall: pre-init, auto-load, children, forks and servers."""

import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request

import pytest

from conftest import FIXTURES, run

DENY_SYSTEM = FIXTURES / "deny-system.yaml"

# One line per fact: whether auditwall is armed in this process, how, and whether os.system
# ran (the marker file) or was denied.
PROBE = """\
import os, sys
try:
    import auditwall
    s = auditwall.status()
    print("armed", s["armed"], s.get("how"))
except ImportError:
    print("armed unknown")
marker = sys.argv[1]
try:
    os.system("touch " + marker)
    print("ran", os.path.exists(marker))
except PermissionError as e:
    print("denied", e.rule, os.path.exists(marker))
"""


@pytest.fixture
def probe(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(PROBE)
    return path


# --- auto-load -------------------------------------------------------------------------------

def test_autoload_arms_when_the_variable_is_set(python, probe, tmp_path):
    ran = python(probe, tmp_path / "m", env={"AUDITWALL_POLICY": str(DENY_SYSTEM)})
    assert ran.lines == ["armed True auto-load", "denied no-os-system False"], ran


def test_autoload_does_nothing_without_the_variable(python, probe, tmp_path):
    ran = python("-c", "import sys; print('auditwall' in sys.modules)")
    assert ran.lines == ["False"], ran
    ran = python(probe, tmp_path / "m")
    assert ran.lines == ["armed False None", "ran True"], ran


def test_autoload_resolves_a_relative_policy_for_children(python, tmp_path):
    (tmp_path / "p.yaml").write_text(DENY_SYSTEM.read_text())
    code = "import os, auditwall; print(os.environ['AUDITWALL_POLICY']); print(auditwall.status()['policy'])"
    ran = python("-c", code, env={"AUDITWALL_POLICY": "p.yaml"}, cwd=tmp_path)
    assert ran.lines == [str(tmp_path / "p.yaml")] * 2, ran


def test_autoload_keeps_an_existing_sitecustomize(python, probe, tmp_path):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "sitecustomize.py").write_text("print('sitecustomize ran')\n")
    ran = python(probe, tmp_path / "m",
                 env={"AUDITWALL_POLICY": str(DENY_SYSTEM), "PYTHONPATH": str(site_dir)})
    assert ran.lines == ["sitecustomize ran", "armed True auto-load", "denied no-os-system False"], ran


def test_autoload_with_a_broken_policy_stops_the_program(python, policy_file, tmp_path):
    bad = policy_file("version: 1\nrules:\n  - {id: x, on: os.system, action: nope}\n")
    ran = python("-c", "print('ran')", env={"AUDITWALL_POLICY": str(bad)})
    assert ran.returncode == 78, ran
    assert "ran" not in ran.stdout
    assert f"{bad}:3:36: error: action must be one of" in ran.stderr, ran
    assert "refusing to start" in ran.stderr, ran


def test_autoload_monitor_mode_from_the_environment(python, probe, tmp_path):
    ran = python(probe, tmp_path / "m",
                 env={"AUDITWALL_POLICY": str(DENY_SYSTEM), "AUDITWALL_MODE": "monitor"})
    assert ran.lines == ["armed True auto-load", "ran True"], ran
    assert '"event":"os.system","family":"process","decision":"would-deny"' in ran.stderr, ran


# --- pre-init --------------------------------------------------------------------------------

def test_run_imports_no_module_at_start_up(python, auditwall_run):
    code = "import sys; print(sorted(sys.modules))"
    plain = python("-c", code)
    armed = auditwall_run("--policy", DENY_SYSTEM, "-c", code)
    assert plain.returncode == 0 and armed.returncode == 0, (plain, armed)
    assert armed.lines == plain.lines, armed


@pytest.fixture
def evil_pth():
    """A .pth file in this interpreter's site-packages that runs os.system at start-up when
    AUDITWALL_TEST_EVIL_PTH names a marker (and does nothing otherwise). Its name sorts before
    auditwall-autoload.pth, so it runs before the auto-load does."""
    site_packages = pathlib.Path(sysconfig.get_paths()["purelib"])
    path = site_packages / "00-auditwall-test-evil.pth"
    path.write_text("import os; m = os.environ.get('AUDITWALL_TEST_EVIL_PTH'); "
                    "m and os.system('touch ' + m)\n")
    yield path
    path.unlink()


def test_malicious_pth_runs_without_auditwall(python, evil_pth, tmp_path):
    marker = tmp_path / "m"
    ran = python("-c", "pass", env={"AUDITWALL_TEST_EVIL_PTH": str(marker)})
    assert ran.returncode == 0, ran
    assert marker.exists(), "the .pth attack did not work without auditwall"


def test_malicious_pth_is_blocked_under_auditwall_run(evil_pth, tmp_path):
    # The `auditwall` command starts its own interpreter with -S, and the program's interpreter
    # is armed before site runs: the .pth runs nowhere unchecked.
    marker = tmp_path / "m"
    command = pathlib.Path(sys.executable).parent / "auditwall"
    ran = run([command, "run", "--policy", DENY_SYSTEM, "-c", "print('program ran')"],
              env={"AUDITWALL_TEST_EVIL_PTH": str(marker)})
    assert not marker.exists(), ran
    assert "blocked by rule no-os-system" in ran.stderr, ran
    assert "program ran" in ran.stdout, ran


# The `auditwall` command runs `auditwall run` natively, with no interpreter of its own;
# `python -m auditwall run` is the same command in Python. They must behave the same.
FRONT_END_CASES = {
    "no program": ["--policy", str(DENY_SYSTEM)],
    "option without value": ["--policy"],
    "-c without code": ["--policy", str(DENY_SYSTEM), "-c"],
    "-m without module": ["--policy", str(DENY_SYSTEM), "--", "-m"],
    "no policy": ["-c", "pass"],
    "unknown mode": ["--policy", str(DENY_SYSTEM), "--mode", "audit", "-c", "pass"],
    "broken policy": ["--policy", "broken.yaml", "-c", "pass"],
    "missing policy": ["--policy=does-not-exist.yaml", "-c", "pass"],
    "program runs": ["--policy", str(DENY_SYSTEM), "--mode=monitor", "-c",
                     "import os, sys; print(sys.argv[1:], os.environ['AUDITWALL_MODE'], "
                     "os.environ['AUDITWALL_POLICY'], os.environ['AUDITWALL_LOG'])", "a", "--b"],
}


@pytest.mark.parametrize("in_process", ["1", "0"], ids=["in-process", "exec"])
@pytest.mark.parametrize("case", FRONT_END_CASES)
def test_auditwall_command_and_python_m_auditwall_run_agree(case, in_process, tmp_path):
    args = FRONT_END_CASES[case]
    (tmp_path / "broken.yaml").write_text(
        "version: 1\nrules:\n  - id: x\n    on: os.system\n    action: nope\n")
    env = {"AUDITWALL_LOG": "file:events.jsonl,rate_limit=5", "AUDITWALL_IN_PROCESS": in_process}
    native = run([pathlib.Path(sys.executable).parent / "auditwall", "run", *args],
                 env=env, cwd=tmp_path)
    python = run([sys.executable, "-m", "auditwall", "run", *args], env=env, cwd=tmp_path)
    assert native.returncode == python.returncode, (native, python)
    assert native.stdout == python.stdout, (native, python)
    assert native.stderr.splitlines()[:1] == python.stderr.splitlines()[:1], (native, python)
    if case == "program runs":
        assert native.returncode == 0 and native.lines == [
            f"['a', '--b'] monitor {DENY_SYSTEM} file:{tmp_path}/events.jsonl,rate_limit=5"], native
    else:
        assert native.returncode in (2, 78) and native.stderr, native
    if case == "broken policy":  # reported before the program starts, however it is run
        assert f"{tmp_path}/broken.yaml:5:13: error: action must be one of" in native.stderr, native


# --- the native command runs a shared-libpython interpreter in its own process ----------------

COMMAND = pathlib.Path(sys.executable).parent / "auditwall"
# The interpreter the command runs: the environment's, beside it.
COMMAND_PYTHON = COMMAND.parent / f"python{sys.version_info[0]}.{sys.version_info[1]}"

# What a program can see of how it was started.
STARTED = """\
import os, signal, sys
print("exe", os.path.realpath("/proc/self/exe"))
print("executable", sys.executable)
print("comm", open("/proc/self/comm").read().strip())
print("prefix", sys.prefix, sys.base_prefix, sys.exec_prefix)
print("path", sys.path)
print("argv", sys.argv, sys.orig_argv)
print("flags", sys.flags)
print("main", __name__, __file__ if "__file__" in globals() else None)
print("stdin", sys.stdin.read())
print("armed", os.environ.get("AUDITWALL_ARMED") == str(os.getpid()))
sys.stdout.flush()
how = sys.argv[1]
if how == "status":
    sys.exit(3)
if how == "signal":
    os.kill(os.getpid(), signal.SIGTERM)
if how == "interrupt":
    raise KeyboardInterrupt
if how == "child":
    import subprocess
    out = subprocess.run([sys.executable, "-c", "import os, sys; print(os.environ.get("
                         "'AUDITWALL_ARMED') == str(os.getpid()), sys.executable)"],
                         capture_output=True, text=True)
    print("child", out.stdout.strip())
"""


def _started(script, how, env=None):
    return run([COMMAND, "run", "--policy", DENY_SYSTEM, script, how], env=env, input="in")


@pytest.mark.parametrize("how", ["status", "signal", "interrupt", "child"])
def test_run_in_process_is_the_program_as_exec_would_start_it(how, tmp_path):
    script = tmp_path / "started.py"
    script.write_text(STARTED)
    in_process = _started(script, how)
    executed = _started(script, how, env={"AUDITWALL_IN_PROCESS": "0"})
    # The one difference: which program the kernel started.
    assert in_process.lines[0] == f"exe {COMMAND.resolve()}", in_process
    assert executed.lines[0] == f"exe {pathlib.Path(sys.executable).resolve()}", executed
    assert in_process.lines[1:] == executed.lines[1:], (in_process, executed)
    assert in_process.returncode == executed.returncode, (in_process, executed)
    assert in_process.lines[1] == f"executable {COMMAND_PYTHON}", in_process
    assert "stdin in" in in_process.lines and "armed True" in in_process.lines, in_process
    expected = {"status": 3, "signal": -15, "interrupt": -2, "child": 0}[how]
    assert in_process.returncode == expected, in_process
    if how == "child":
        assert in_process.lines[-1] == f"child True {COMMAND_PYTHON}", in_process


def _scopes(result):
    """The lookup scopes LD_DEBUG=scopes printed for each libpython loaded: its lists of objects,
    by their file names."""
    found, current = [], None
    for line in result.stderr.splitlines():
        text = line.split(":", 1)[-1].strip()
        if text.startswith("object="):
            current = [] if "libpython" in text else None
            if current is not None:
                found.append(current)
        elif current is not None and text.startswith("scope "):
            current.append([pathlib.Path(o).name for o in text.split(":", 1)[1].split()])
    return found


@pytest.mark.skipif(pathlib.Path("/etc/ld.so.preload").exists(),
                    reason="this machine preloads libraries into every process")
def test_run_in_process_binds_libpython_to_itself_first(tmp_path):
    # libpython's thousands of references to itself are looked up in libpython first, as
    # when an interpreter's executable links it: not after the command, libc and the loader.
    result = run([COMMAND, "run", "--policy", DENY_SYSTEM, "-c", "pass"],
                 env={"LD_DEBUG": "scopes"})
    assert result.returncode == 0, result
    scopes = _scopes(result)
    assert scopes, result.stderr[-2000:]
    assert all(s[0][0].startswith("libpython") for s in scopes), scopes


INTERPOSER = """\
#include <unistd.h>
pid_t getppid(void) { return 4242; }
"""


def test_run_in_process_keeps_a_preloaded_library_first(python, tmp_path):
    # A library the user preloads (another malloc, say) comes before libc for libpython too,
    # as in a plain start: libpython is then not bound to itself first.
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "no C compiler"
    (tmp_path / "interposer.c").write_text(INTERPOSER)
    library = tmp_path / "libinterposer.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", library, tmp_path / "interposer.c"],
                   check=True)
    code = "import os; print(os.getppid())"
    plain = python("-c", code, env={"LD_PRELOAD": str(library)})
    assert plain.returncode == 0 and plain.stdout.strip() == "4242", plain
    for in_process in "10":
        result = run([COMMAND, "run", "--policy", DENY_SYSTEM, "-c", code],
                     env={"LD_PRELOAD": str(library), "AUDITWALL_IN_PROCESS": in_process,
                          "LD_DEBUG": "scopes"})
        assert result.returncode == 0 and result.stdout.strip() == "4242", (in_process, result)
        if in_process == "1":
            scopes = _scopes(result)
            assert scopes and all(s[0][0] == COMMAND.name for s in scopes), result.stderr[-2000:]


def _alone(tmp_path, python, preload):
    """A copy of the `auditwall` command in a directory of its own, whose Python is `python`."""
    (tmp_path / "bin").mkdir()
    command = tmp_path / "bin" / "auditwall"
    command.write_bytes(COMMAND.read_bytes())
    command.chmod(0o755)
    (tmp_path / "bin" / "python3").symlink_to(python)
    return command, {"AUDITWALL_PRELOAD": str(preload), "PATH": "/usr/bin:/bin"}


def test_run_execs_a_statically_linked_interpreter(preload, probe, tmp_path):
    if not DEBIAN_PYTHON.exists():
        pytest.skip("Debian's python3.11 is not installed")
    command, env = _alone(tmp_path, DEBIAN_PYTHON, preload)
    code = "import os; print(os.path.realpath('/proc/self/exe'))"
    ran = run([command, "run", "--policy", DENY_SYSTEM, "-c", code], env=env)
    if sys.version_info[:2] == (3, 11):
        # Debian's interpreter links no libpython: it is exec'd, and armed there.
        assert ran.lines == [str(DEBIAN_PYTHON.resolve())], ran
        ran = run([command, "run", "--policy", DENY_SYSTEM, probe, tmp_path / "m"], env=env)
        assert ran.lines == ["armed unknown", "denied no-os-system False"], ran
    else:
        assert ran.returncode == 78, ran
        assert "auditwall is not installed for this interpreter" in ran.stderr, ran


@pytest.mark.parametrize("in_process", ["1", "0"], ids=["in-process", "exec"])
def test_run_refuses_a_shim_that_cannot_be_preloaded(in_process, probe, tmp_path):
    # The dynamic loader skips an LD_PRELOAD entry it cannot load, with a warning, and starts
    # the program anyway: the front end refuses before, whichever way it runs the program.
    not_a_library = tmp_path / "libauditwall-preload.so"
    not_a_library.write_text("not a library")
    command, env = _alone(tmp_path, sys.executable, not_a_library)
    marker = tmp_path / "m"
    ran = run([command, "run", "--policy", DENY_SYSTEM, probe, marker],
              env={**env, "AUDITWALL_IN_PROCESS": in_process})
    assert ran.returncode == 127, ran
    assert (f"auditwall: refusing to start: AUDITWALL_PRELOAD={not_a_library} is not a shared "
            "library this machine can load") in ran.stderr, ran
    assert ran.stdout == "" and not marker.exists(), ran


def test_launcher_refuses_a_shim_that_cannot_be_preloaded(launcher, probe, tmp_path):
    not_a_library = tmp_path / "libauditwall-preload.so"
    not_a_library.write_bytes(b"\x7fELF but not a library")
    marker = tmp_path / "m"
    ran = run([launcher, "--no-seccomp", "--policy", DENY_SYSTEM, "--", sys.executable, probe,
               marker], env={"AUDITWALL_PRELOAD": str(not_a_library)})
    assert ran.returncode == 127, ran
    assert "auditwall-launch: refusing to start: AUDITWALL_PRELOAD=" in ran.stderr, ran
    assert ran.stdout == "" and not marker.exists(), ran


def test_run_in_process_refuses_without_the_extension_beside_the_shim(preload, probe, tmp_path):
    # In its own process the command arms with the shim's code, from the extension in the
    # shim's directory: none there, and the program does not start.
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / preload.name).symlink_to(preload)
    command, env = _alone(tmp_path, sys.executable, lib / preload.name)
    marker = tmp_path / "m"
    ran = run([command, "run", "--policy", DENY_SYSTEM, probe, marker], env=env)
    assert ran.returncode == 78, ran
    assert "refusing to start: auditwall is not installed for this interpreter" in ran.stderr
    assert ran.stdout == "" and not marker.exists(), ran


def test_run_in_process_outside_a_venv(preload, probe, tmp_path):
    # The interpreter found through a symbolic link, its libpython through its DT_RUNPATH.
    real = pathlib.Path(sys.executable).resolve()
    command, env = _alone(tmp_path, real, preload)
    code = "import os, sys; print(os.path.realpath('/proc/self/exe'), sys.executable)"
    ran = run([command, "run", "--policy", DENY_SYSTEM, "-c", code], env=env)
    assert ran.lines == [f"{command} {tmp_path / 'bin' / 'python3'}"], ran
    ran = run([command, "run", "--policy", DENY_SYSTEM, probe, tmp_path / "m"], env=env)
    assert ran.lines[1:] == ["denied no-os-system False"], ran


def test_an_extension_of_another_name_is_found_by_a_search(preload, probe, tmp_path):
    # The extension built beside the shim is tried by its file name; one of the same version
    # under any other name (another build's) is found by a search of the shim's directory.
    import auditwall
    core = pathlib.Path(auditwall._core.__file__)
    version = "cpython-%d%d" % sys.version_info[:2]
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / preload.name).symlink_to(preload)
    (lib / f"_core.{version}-another-build.so").symlink_to(core)
    command, env = _alone(tmp_path, sys.executable, lib / preload.name)
    for in_process in "10":
        marker = tmp_path / f"m{in_process}"
        ran = run([command, "run", "--policy", DENY_SYSTEM, probe, marker],
                  env={**env, "AUDITWALL_IN_PROCESS": in_process})
        assert ran.lines[1:] == ["denied no-os-system False"], ran


def test_run_in_process_finds_libpython_through_origin_as_the_loader_does(preload, tmp_path):
    # $ORIGIN is the directory of the interpreter's real file, past the link to it: a copy of
    # libpython beside the link must not be the one loaded, in this process or exec'd.
    soname = sysconfig.get_config_var("INSTSONAME")
    libdir = pathlib.Path(sysconfig.get_config_var("LIBDIR") or "")
    if not sysconfig.get_config_var("Py_ENABLE_SHARED") or not (libdir / soname).exists():
        pytest.skip("this interpreter links no shared libpython")
    real = pathlib.Path(sys.executable).resolve()
    command, env = _alone(tmp_path, real, preload)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / soname).write_bytes((libdir / soname).read_bytes())
    env["LD_LIBRARY_PATH"] = "$ORIGIN/../lib"
    code = ("print(*sorted({line.split()[-1] for line in open('/proc/self/maps') "
            "if 'libpython' in line}))")
    loaded = [run([command, "run", "--policy", DENY_SYSTEM, "-c", code],
                  env={**env, "AUDITWALL_IN_PROCESS": in_process}) for in_process in "10"]
    assert loaded[0].lines == loaded[1].lines, loaded
    assert loaded[0].lines == [str((real.parent / ".." / "lib" / soname).resolve())], loaded


# The auditwall command reads the policies people write with the fast reader alone; any other
# text, and every policy with something to report, goes to the full loader in
# libauditwall-loader.so, which says the same as every other auditwall tool.
OUTSIDE_FAST_READER = """\
version: 1
rules:
  - id: &id no-os-system
    on: os.system
    action: deny
log:
  redact_patterns: ["password=[^&]*"]
"""
WARNED = """\
version: 1
rules:
  - {id: no-process, on: os.system, action: deny}
  - {id: shadowed, on: os.system, action: allow}
"""


@pytest.mark.parametrize("in_process", ["1", "0"], ids=["in-process", "exec"])
@pytest.mark.parametrize("text", [OUTSIDE_FAST_READER, WARNED], ids=["outside", "warned"])
def test_run_reads_any_policy_through_the_full_loader(text, in_process, policy_file, probe,
                                                      tmp_path):
    policy = policy_file(text)
    marker = tmp_path / "m"
    native = run([COMMAND, "run", "--policy", policy, probe, marker],
                 env={"AUDITWALL_IN_PROCESS": in_process})
    python = run([sys.executable, "-m", "auditwall", "run", "--policy", policy, probe, marker])
    rule = "no-os-system" if text is OUTSIDE_FAST_READER else "no-process"
    assert native.lines[1:] == [f"denied {rule} False"], native
    assert native.stdout == python.stdout and native.returncode == python.returncode == 0
    # What each says of the policy (the log's records differ in time and pid).
    said = [[line for line in ran.stderr.splitlines() if not line.startswith("{")]
            for ran in (native, python)]
    assert said[0] == said[1], (native, python)
    if text is WARNED:  # once, by the interpreter that read the policy
        assert native.stderr.count("warning:") == 1, native


def test_run_refuses_when_the_full_loader_is_missing(policy_file, preload, probe, tmp_path):
    # A shim with no libauditwall-loader.so beside it: the policies the fast reader reads still
    # run; any other one cannot be checked, so the program does not start.
    (tmp_path / "lib").mkdir()
    shim = tmp_path / "lib" / "libauditwall-preload.so"
    shim.symlink_to(preload)
    for core in preload.parent.glob("_core.*.so"):
        (tmp_path / "lib" / core.name).symlink_to(core)
    marker = tmp_path / "m"
    outside = policy_file(OUTSIDE_FAST_READER)
    # In the command's process and exec'd: the extension reads the policy either way.
    for in_process in ("1", "0"):
        env = {"AUDITWALL_PRELOAD": str(shim), "AUDITWALL_IN_PROCESS": in_process}
        ran = run([COMMAND, "run", "--policy", DENY_SYSTEM, "-c", "print('ran')"], env=env)
        assert ran.lines == ["ran"], ran
        ran = run([COMMAND, "run", "--policy", outside, probe, marker], env=env)
        assert ran.returncode == 127, ran
        assert "refusing to start: cannot load the policy loader" in ran.stderr, ran
        assert ran.stdout == "" and not marker.exists(), ran
    # The shim itself, without a compiled form to arm from.
    ran = run([sys.executable, probe, marker],
              env={"LD_PRELOAD": str(shim), "AUDITWALL_POLICY": str(outside)})
    assert ran.returncode == 127, ran
    assert "refusing to start: cannot load the policy loader" in ran.stderr, ran
    assert ran.stdout == "" and not marker.exists(), ran


def test_python_m_auditwall_front_end_runs_site_unprotected(auditwall_run, evil_pth, tmp_path):
    # The documented limit of `python -m auditwall run`: the front-end interpreter runs site,
    # and so the .pth, before any auditwall code. The program's interpreter is still armed
    # before its own site runs, which is why the same .pth is blocked there.
    marker = tmp_path / "m"
    ran = auditwall_run("--policy", DENY_SYSTEM, "-c", "print('program ran')",
                        env={"AUDITWALL_TEST_EVIL_PTH": str(marker)})
    assert marker.exists(), "the front end was expected to run the .pth"
    assert "blocked by rule no-os-system" in ran.stderr, ran
    assert "program ran" in ran.stdout, ran


def test_malicious_pth_is_blocked_under_the_launcher(launcher, evil_pth, tmp_path):
    marker = tmp_path / "m"
    ran = run([launcher, "--policy", DENY_SYSTEM, sys.executable, "-c", "pass"],
              env={"AUDITWALL_TEST_EVIL_PTH": str(marker)})
    assert not marker.exists(), ran
    assert "blocked by rule no-os-system" in ran.stderr, ran


def test_autoload_cannot_see_a_pth_that_runs_before_it(python, evil_pth, tmp_path):
    # The documented limit of auto-load: code that runs before it is not checked.
    marker = tmp_path / "m"
    ran = python("-c", "import auditwall; print(auditwall.status()['how'])",
                 env={"AUDITWALL_TEST_EVIL_PTH": str(marker), "AUDITWALL_POLICY": str(DENY_SYSTEM)})
    assert ran.lines == ["auto-load"], ran
    assert marker.exists(), "auto-load was expected to miss a .pth that runs before it"


DEBIAN_PYTHON = pathlib.Path("/usr/bin/python3.11")


@pytest.mark.skipif(not DEBIAN_PYTHON.exists(), reason="Debian's python3.11 is not installed")
def test_preinit_works_in_debians_statically_linked_python(preload, probe, tmp_path):
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    marker = tmp_path / "m"
    env = {"LD_PRELOAD": str(preload), "AUDITWALL_POLICY": str(DENY_SYSTEM)}
    ran = run([DEBIAN_PYTHON, probe, marker], env=env)
    if sys.version_info[:2] == (3, 11):
        # The extension built here for 3.11 is loaded into Debian's own interpreter.
        assert ran.lines == ["armed unknown", "denied no-os-system False"], ran
    else:
        # No extension for 3.11 beside this shim: the interpreter must refuse to start.
        assert ran.returncode == 78, ran
        assert "auditwall is not installed for this interpreter" in ran.stderr, ran
        assert ext not in ran.stderr or "3.11" in ran.stderr
    assert not marker.exists()


# --- the compiled policy the front ends hand down ----------------------------------------------

# Which C++ runtimes and YAML parsers are mapped in this process, and whether os.system runs.
MAPPED = """\
import os, sys
maps = open("/proc/self/maps").read()
print("yaml-cpp", "libyaml-cpp" in maps)
print("shared libstdc++", "libstdc++.so" in maps)
try:
    os.system("true")
    print("ran")
except PermissionError as e:
    print("denied", e.rule)
"""


def _compiled(path):
    from auditwall import _core
    ok, report, compiled = _core.compile_policy(str(path))
    assert ok, report
    return compiled


def test_plain_python_maps_no_yaml_parser(python):
    # The baseline of the tests below: the interpreter itself loads neither library.
    ran = python("-c", MAPPED)
    assert ran.lines == ["yaml-cpp False", "shared libstdc++ False", "ran"], ran


def test_run_arms_without_a_yaml_parser(auditwall_run, python, preload, policy_file):
    # A policy the fast reader declines: only yaml-cpp reads it.
    policy = policy_file(OUTSIDE_FAST_READER)
    ran = auditwall_run("--policy", policy, "-c", MAPPED)
    assert ran.lines == ["yaml-cpp False", "shared libstdc++ False", "denied no-os-system"], ran
    # Without the compiled form, the same process reads the YAML itself, and so maps the
    # parser: the check above can fail.
    ran = python("-c", MAPPED, env={"LD_PRELOAD": str(preload), "AUDITWALL_POLICY": str(policy)})
    assert ran.lines == ["yaml-cpp True", "shared libstdc++ True", "denied no-os-system"], ran


def test_policies_the_fast_reader_reads_need_no_yaml_parser(python, preload):
    # Read by the process itself, without a compiled form: by the shim, and by auto-load.
    for shim in ({"LD_PRELOAD": str(preload)}, {}):
        ran = python("-c", MAPPED, env={**shim, "AUDITWALL_POLICY": str(DENY_SYSTEM)})
        assert ran.lines == ["yaml-cpp False", "shared libstdc++ False", "denied no-os-system"], ran


def test_launcher_arms_without_a_yaml_parser(launcher):
    for seccomp in ([], ["--no-seccomp"]):
        ran = run([launcher, "--policy", DENY_SYSTEM, *seccomp, "--", sys.executable, "-c", MAPPED])
        assert ran.lines == ["yaml-cpp False", "shared libstdc++ False", "denied no-os-system"], ran


def test_compiled_policy_for_another_file_is_not_used(python, preload, policy_file):
    # Outside the fast reader's subset (an anchor): read, it would map yaml-cpp.
    allow = policy_file("version: 1\nrules:\n  - {id: &ok ok, on: os.system, action: allow}\n",
                        name="allow.yaml")
    env = {"LD_PRELOAD": str(preload), "AUDITWALL_COMPILED": _compiled(allow)}
    # The compiled form is what the process arms with when it belongs to AUDITWALL_POLICY...
    ran = python("-c", MAPPED, env={**env, "AUDITWALL_POLICY": str(allow)})
    assert ran.lines[-1] == "ran", ran
    assert "yaml-cpp False" in ran.lines, ran
    # ...and never stands for another file: that file is loaded instead.
    ran = python("-c", MAPPED, env={**env, "AUDITWALL_POLICY": str(DENY_SYSTEM)})
    assert ran.lines[-1] == "denied no-os-system", ran


def test_damaged_compiled_policy_is_not_used(python, preload, policy_file):
    policy = policy_file(OUTSIDE_FAST_READER)
    good = _compiled(policy)
    for bad in (good[:-3], good[:20] + ("B" if good[20] == "A" else "A") + good[21:], "junk"):
        ran = python("-c", MAPPED, env={"LD_PRELOAD": str(preload), "AUDITWALL_COMPILED": bad,
                                        "AUDITWALL_POLICY": str(policy)})
        assert ran.lines[-1] == "denied no-os-system", ran
        assert "yaml-cpp True" in ran.lines, ran


EDIT_THEN_SPAWN = """\
import subprocess, sys
open(sys.argv[1], "w").write(sys.argv[2])
child = subprocess.run([sys.executable, "-c", "import os; os.system('true'); print('child ran')"],
                       capture_output=True, text=True)
print("child exit", child.returncode)
sys.stdout.write(child.stdout)
sys.stderr.write(child.stderr)
"""


def test_policy_edited_after_start_is_read_again_by_children(auditwall_run, policy_file, tmp_path):
    policy = policy_file(DENY_SYSTEM.read_text())
    script = tmp_path / "edit.py"
    script.write_text(EDIT_THEN_SPAWN)
    # A broken policy stops the child before any of its code runs, with the diagnostics...
    ran = auditwall_run("--policy", policy, script, policy,
                        "version: 1\nrules:\n  - {id: x, on: os.system, action: nope}\n")
    assert ran.lines == ["child exit 78"], ran
    assert f"{policy}:3:36: error: action must be one of" in ran.stderr, ran
    # ...and a changed one is the one the child follows.
    policy.write_text(DENY_SYSTEM.read_text())
    ran = auditwall_run("--policy", policy, script, policy,
                        "version: 1\nrules:\n  - {id: ok, on: os.system, action: allow}\n")
    assert ran.lines == ["child exit 0", "child ran"], ran


HAND_DOWN = """\
import os, subprocess, sys
print("handed down", bool(os.environ.get("AUDITWALL_COMPILED")))
sys.stdout.flush()
subprocess.run([sys.executable, "-c", sys.argv[1]])
"""


def test_autoload_hands_its_compiled_policy_to_children(python, policy_file):
    # On its own, an auto-loaded interpreter reads the YAML, and so maps the parser (the
    # policy is one the fast reader declines)...
    policy = policy_file(OUTSIDE_FAST_READER)
    ran = python("-c", MAPPED, env={"AUDITWALL_POLICY": str(policy)})
    assert ran.lines == ["yaml-cpp True", "shared libstdc++ True", "denied no-os-system"], ran
    # ...its children arm from the compiled policy it hands down, without the parser.
    ran = python("-c", HAND_DOWN, MAPPED, env={"AUDITWALL_POLICY": str(policy)})
    assert ran.lines == ["handed down True", "yaml-cpp False", "shared libstdc++ False",
                         "denied no-os-system"], ran


@pytest.mark.parametrize("in_process", ["1", "0"], ids=["in-process", "exec"])
def test_run_hands_the_compiled_policy_to_children(in_process, policy_file):
    # The extension reads the policy as it arms the program's interpreter (with yaml-cpp, for
    # this one), in the command's own process or in the interpreter it execs, and the program's
    # children arm from the compiled form it hands down.
    policy = policy_file(OUTSIDE_FAST_READER)
    ran = run([COMMAND, "run", "--policy", policy, "-c", HAND_DOWN, MAPPED],
              env={"AUDITWALL_COMPILED": "junk", "AUDITWALL_IN_PROCESS": in_process})
    assert ran.lines == ["handed down True", "yaml-cpp False", "shared libstdc++ False",
                         "denied no-os-system"], ran


def test_preinit_hands_down_the_policy_it_read(preload, policy_file):
    # An interpreter the shim arms with no compiled form reads the file, and hands the
    # compiled form to its own children, which then read nothing.
    policy = policy_file(OUTSIDE_FAST_READER)
    ran = run([sys.executable, "-c", HAND_DOWN, MAPPED],
              env={"LD_PRELOAD": str(preload), "AUDITWALL_POLICY": str(policy)})
    assert ran.lines == ["handed down True", "yaml-cpp False", "shared libstdc++ False",
                         "denied no-os-system"], ran


def test_autoload_children_follow_a_policy_edited_after_start(python, policy_file, tmp_path):
    policy = policy_file(DENY_SYSTEM.read_text())
    script = tmp_path / "edit.py"
    script.write_text(EDIT_THEN_SPAWN)
    ran = python(script, policy, "version: 1\nrules:\n  - {id: ok, on: os.system, action: allow}\n",
                 env={"AUDITWALL_POLICY": str(policy)})
    assert ran.lines == ["child exit 0", "child ran"], ran


def test_static_and_shared_cpp_runtimes_live_side_by_side(auditwall_run, policy_file):
    # The armed extension has its own C++ runtime; reading YAML in the same process loads the
    # loader library with the shared one. Exceptions thrown on both sides stay on their side.
    bad = policy_file("version: 1\nrules: [\n", name="bad.yaml")
    code = f"""
import os, auditwall
from auditwall import _core
print(_core.check_policy({str(bad)!r})[0])
print(_core.check_policy({str(DENY_SYSTEM)!r})[0])
try:
    auditwall.activate({str(DENY_SYSTEM)!r})
except RuntimeError as e:
    print("second activate refused")
try:
    os.system("true")
except auditwall.PolicyViolation as e:
    print("denied", e.rule)
print("shared libstdc++", "libstdc++.so" in open("/proc/self/maps").read())
"""
    ran = auditwall_run("--policy", DENY_SYSTEM, "-c", code)
    assert ran.lines == ["False", "True", "second activate refused", "denied no-os-system",
                         "shared libstdc++ True"], ran


# --- children --------------------------------------------------------------------------------

CHILDREN = """\
import multiprocessing, os, subprocess, sys
probe, tmp = sys.argv[1], sys.argv[2]
how = sys.argv[3]
if how == "subprocess":
    subprocess.run([sys.executable, probe, tmp + "/m"], check=False)
elif how in ("spawn", "forkserver", "fork"):
    def child(marker):
        import auditwall
        print("armed", auditwall.status()["armed"], flush=True)
        try:
            os.system("touch " + marker)
            print("ran", flush=True)
        except PermissionError as e:
            print("denied", e.rule, flush=True)
    if __name__ == "__main__":
        ctx = multiprocessing.get_context(how)
        p = ctx.Process(target=child, args=(tmp + "/m",))
        p.start(); p.join()
elif how == "exec":
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, probe, tmp + "/m"])
"""


@pytest.fixture
def children(tmp_path):
    path = tmp_path / "children.py"
    path.write_text(CHILDREN)
    return path


def test_subprocess_child_is_armed_before_start_up(auditwall_run, children, probe, tmp_path):
    ran = auditwall_run("--policy", DENY_SYSTEM, children, probe, tmp_path, "subprocess")
    assert ran.lines == ["armed True pre-init", "denied no-os-system False"], ran


def test_exec_of_python_stays_armed(auditwall_run, children, probe, tmp_path):
    ran = auditwall_run("--policy", DENY_SYSTEM, children, probe, tmp_path, "exec")
    assert ran.lines == ["armed True pre-init", "denied no-os-system False"], ran


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_multiprocessing_children_are_armed(auditwall_run, children, probe, tmp_path, method):
    ran = auditwall_run("--policy", DENY_SYSTEM, children, probe, tmp_path, method)
    assert ran.lines == ["armed True", "denied no-os-system"], ran
    assert not (tmp_path / "m").exists()


def test_children_inherit_monitor_mode(auditwall_run, children, probe, tmp_path):
    ran = auditwall_run("--policy", DENY_SYSTEM, "--mode", "monitor", children, probe, tmp_path,
                        "subprocess")
    assert ran.lines == ["armed True pre-init", "ran True"], ran


# --- a real pre-fork server ------------------------------------------------------------------

APP = """\
import os
import auditwall

def app(environ, start_response):
    try:
        os.system("touch " + os.environ["MARKER_DIR"] + "/request.ran")
        verdict = "ran"
    except auditwall.PolicyViolation as e:
        verdict = "denied " + e.rule
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{os.getpid()} {verdict}".encode()]
"""

# Runs in every worker once it is forked, before it serves: proves each worker is armed.
GUNICORN_CONF = """\
import os

def post_worker_init(worker):
    import auditwall
    path = os.path.join(os.environ["MARKER_DIR"], "worker-%d" % os.getpid())
    try:
        os.system("touch " + path + ".ran")
        verdict = "ran"
    except auditwall.PolicyViolation as e:
        verdict = "denied " + e.rule
    with open(path, "w") as f:
        f.write("%s %s" % (auditwall.status()["how"], verdict))
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, attempts=150):
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"no answer from {url}")


def test_gunicorn_workers_are_all_protected(tmp_path):
    pytest.importorskip("gunicorn")
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "conf.py").write_text(GUNICORN_CONF)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITWALL_")}
    env["MARKER_DIR"] = str(tmp_path)
    server = subprocess.Popen(
        [sys.executable, "-m", "auditwall", "run", "--policy", str(DENY_SYSTEM), "-m",
         "gunicorn", "--config", "conf.py", "--workers", "3", "--bind", f"127.0.0.1:{port}",
         "app:app"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid, verdict = _get(f"http://127.0.0.1:{port}/").split(" ", 1)
        assert verdict == "denied no-os-system"
        for _ in range(100):
            workers = sorted(tmp_path.glob("worker-*[0-9]"))
            if len(workers) == 3:
                break
            time.sleep(0.1)
        assert len(workers) == 3, workers
        assert pid in {w.name.split("-")[1] for w in workers}
        for worker in workers:
            assert worker.read_text() == "pre-init denied no-os-system", worker
        assert not list(tmp_path.glob("*.ran")), "a worker ran os.system"
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
