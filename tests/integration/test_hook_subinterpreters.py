"""The hook in sub-interpreters: it is process-wide, and each interpreter raises its own
auditwall.PolicyViolation. Every way this CPython offers to run a sub-interpreter is tried."""

import sys

import pytest

from log_records import decisions, logged, parse

# How to run code in a sub-interpreter, by CPython version: name -> (module, code that runs
# the string CODE in a new sub-interpreter).
RUNNERS = {
    "testcapi.run_in_subinterp": ("_testcapi", "_testcapi.run_in_subinterp(CODE)"),
    "xxsubinterpreters": ("_xxsubinterpreters",
                          "i = _xxsubinterpreters.create()\n"
                          "_xxsubinterpreters.run_string(i, CODE)\n"
                          "_xxsubinterpreters.destroy(i)"),
    "interpreters": ("_interpreters",
                     "i = _interpreters.create()\n"
                     "_interpreters.run_string(i, CODE)\n"
                     "_interpreters.destroy(i)"),
    "own-gil-3.12": ("_testcapi",
                     "_testcapi.run_in_subinterp_with_config(CODE, use_main_obmalloc=False, "
                     "allow_fork=False, allow_exec=False, allow_threads=True, "
                     "allow_daemon_threads=False, check_multi_interp_extensions=True, gil=2)"),  # 2: own GIL
    "own-gil-3.13": ("_testinternalcapi",
                     "import types\n"
                     "_testinternalcapi.run_in_subinterp_with_config(CODE, "
                     "types.SimpleNamespace(use_main_obmalloc=False, allow_fork=False, allow_exec=False, "
                     "allow_threads=True, allow_daemon_threads=False, check_multi_interp_extensions=True, "
                     "gil='own'))"),
}


def available(name):
    module, _ = RUNNERS[name]
    try:
        __import__(module)
    except ImportError:
        return False
    if name == "own-gil-3.12":
        import _testcapi
        return hasattr(_testcapi, "run_in_subinterp_with_config") and sys.version_info[:2] == (3, 12)
    if name == "own-gil-3.13":
        import _testinternalcapi
        return hasattr(_testinternalcapi, "run_in_subinterp_with_config")
    return True


def runner(name):
    if not available(name):
        pytest.skip(f"{RUNNERS[name][0]} cannot run sub-interpreters on this CPython {sys.version.split()[0]}")
    return RUNNERS[name]


INSIDE = """
import os
try:
    os.system('touch ' + {marker!r})
    result = 'ran'
except PermissionError as e:
    result = 'denied %s %s %s' % (type(e).__module__ + '.' + type(e).__qualname__, e.rule, e.event)
    try:
        import auditwall
        result += ' same-type=%s' % (type(e) is auditwall.PolicyViolation)
    except ImportError as imp:
        result += ' no-import(%s)' % imp
with open({out!r}, 'w') as f:
    f.write(result)
"""


def run_inside(python, policy_file, tmp_path, name, policy_text):
    """Arms `policy_text`, then runs INSIDE in a sub-interpreter made by runner `name`."""
    module, run = runner(name)
    policy = policy_file(policy_text)
    out = tmp_path / "out"
    code = INSIDE.format(marker=str(tmp_path / "marker"), out=str(out))
    script = f"""
import auditwall, {module}
auditwall.activate({str(policy)!r})
CODE = {code!r}
{run}
print(open({str(out)!r}).read())
"""
    return python("-c", script)


@pytest.mark.parametrize("name", sorted(RUNNERS))
def test_denied_inside_a_sub_interpreter_with_its_own_violation_type(python, policy_file, tmp_path, name):
    marker = tmp_path / "marker"
    ran = run_inside(python, policy_file, tmp_path, name,
                     "version: 1\nrules:\n  - id: no-system\n    on: os.system\n    action: deny\n")
    assert ran.returncode == 0, ran
    assert not marker.exists(), ran
    line = ran.lines[-1]
    assert line.startswith("denied auditwall.PolicyViolation no-system os.system"), ran
    # where auditwall can be imported in the sub-interpreter, its PolicyViolation is the one
    # the hook raised there
    if "no-import" not in line:
        assert line.endswith("same-type=True"), ran


@pytest.mark.parametrize("name", sorted(RUNNERS))
def test_sub_interpreter_runs_the_operation_when_allowed(python, policy_file, tmp_path, name):
    if "own-gil" in name:
        # own-GIL interpreters cannot fork; os.system is refused there by CPython itself
        pytest.skip("an isolated sub-interpreter may not fork")
    marker = tmp_path / "marker"
    ran = run_inside(python, policy_file, tmp_path, name,
                     "version: 1\nrules:\n  - id: no-probe\n    on: aw.probe\n    action: deny\n")
    assert ran.returncode == 0, ran
    assert ran.lines[-1] == "ran", ran
    assert marker.exists()


# CPython raises cpython.PyInterpreterState_New only when the creating thread has a thread
# state. Py_NewInterpreter() (what _testcapi.run_in_subinterp calls) drops it first, and from
# 3.12 every way of creating one does: no audit hook sees the creation. Only 3.10 and 3.11's
# _xxsubinterpreters.create() raise the event to hooks. The code inside is still checked.
def creation_is_seen(name):
    return name == "xxsubinterpreters" and sys.version_info < (3, 12)


@pytest.mark.parametrize("name", [
    n if creation_is_seen(n) else pytest.param(n, marks=pytest.mark.xfail(
        strict=True, reason="the sub-interpreter is created with no thread state, so "
                            "cpython.PyInterpreterState_New reaches no audit hook"))
    for n in sorted(RUNNERS)])
def test_creating_a_sub_interpreter_can_be_denied(python, policy_file, tmp_path, name):
    module, run = runner(name)
    policy = policy_file("version: 1\nrules:\n  - id: no-subinterpreters\n"
                         "    on: cpython.PyInterpreterState_New\n    action: deny\n")
    marker = tmp_path / "marker"
    code = f"open({str(marker)!r}, 'w').close()"
    script = f"""
import auditwall, {module}
auditwall.activate({str(policy)!r})
CODE = {code!r}
try:
{chr(10).join('    ' + line for line in run.splitlines())}
    print('created')
except Exception as e:
    print('refused', type(e).__name__)
"""
    ran = python("-c", script)
    assert ran.returncode == 0, ran
    assert ran.lines[-1].startswith("refused"), ran
    assert not marker.exists(), ran
    assert logged(ran.stderr, "cpython.PyInterpreterState_New", "deny"), ran


def test_main_and_sub_interpreter_types_differ(python, tmp_path):
    module, run = runner("testcapi.run_in_subinterp")
    out = tmp_path / "out"
    code = f"""
try:
    import auditwall
    result = str(id(auditwall.PolicyViolation))
except ImportError as e:
    result = 'ImportError ' + str(e)
open({str(out)!r}, 'w').write(result)
"""
    script = f"""
import auditwall, {module}
CODE = {code!r}
{run}
result = open({str(out)!r}).read()
print(result if result.startswith('ImportError') else result != str(id(auditwall.PolicyViolation)))
"""
    ran = python("-c", script, timeout=30)
    assert ran.returncode == 0, ran
    if sys.version_info >= (3, 12):
        assert ran.lines == ["True"], ran
    else:
        # before 3.12 the module refuses to load in a sub-interpreter (pybind11 would deadlock
        # on the main interpreter's GIL state); the hook still works there (tests above)
        assert ran.lines[0].startswith("ImportError auditwall._core can be imported in a "
                                       "sub-interpreter from CPython 3.12 on"), ran
