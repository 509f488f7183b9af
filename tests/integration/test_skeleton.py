"""The walking skeleton: a policy that denies os.system, armed through every path."""

import re
import sys

import pytest

from conftest import FIXTURES

DENY_SYSTEM = FIXTURES / "deny-system.yaml"

# Writes a marker file through os.system, and reports what happened, one line per fact.
SCRIPT = """\
import os, sys
marker = sys.argv[1]
try:
    status = os.system("touch " + marker)
    print("status", status)
except PermissionError as e:
    print("denied", type(e).__module__ + "." + type(e).__qualname__)
    print("event", e.event)
    print("rule", e.rule)
    print("reason", e.reason)
    print("message", e)
print("marker", os.path.exists(marker))
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "script.py"
    path.write_text(SCRIPT)
    return path


def test_os_system_runs_without_auditwall(python, script, tmp_path):
    marker = tmp_path / "marker"
    ran = python(script, marker)
    assert ran.returncode == 0, ran
    assert ran.lines == ["status 0", "marker True"], ran
    assert marker.exists()


def test_run_blocks_os_system(auditwall_run, script, tmp_path):
    marker = tmp_path / "marker"
    ran = auditwall_run("--policy", DENY_SYSTEM, script, marker)
    assert ran.returncode == 0, ran
    assert ran.lines[0] == "denied auditwall.PolicyViolation", ran
    assert ran.lines[1] == "event os.system", ran
    assert ran.lines[2] == "rule no-os-system", ran
    assert ran.lines[3] == "reason running shell commands is not allowed", ran
    assert ran.lines[4].startswith("message auditwall: os.system("), ran
    assert "blocked by rule no-os-system" in ran.lines[4], ran
    assert ran.lines[5] == "marker False", ran
    assert not marker.exists()
    assert re.search(r'^\{.*"event":"os\.system".*"decision":"deny","rule":"no-os-system"', ran.stderr, re.M), ran


def test_policy_violation_is_a_permission_error(python):
    ran = python("-c", "import auditwall; print(issubclass(auditwall.PolicyViolation, PermissionError))")
    assert ran.lines == ["True"], ran


def test_uncaught_violation_names_the_rule_and_fails_the_program(auditwall_run, tmp_path):
    marker = tmp_path / "marker"
    ran = auditwall_run("--policy", DENY_SYSTEM, "-c", f"import os; os.system('touch {marker}')")
    assert ran.returncode == 1, ran
    assert "auditwall.PolicyViolation: auditwall: os.system(" in ran.stderr, ran
    assert not marker.exists()


def test_run_passes_argv_and_exit_status(auditwall_run, tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("import sys\nprint(sys.argv)\nprint(__name__)\nsys.exit(7)\n")
    ran = auditwall_run("--policy", DENY_SYSTEM, prog, "a", "--policy", "b")
    assert ran.returncode == 7, ran
    assert ran.lines == [repr([str(prog), "a", "--policy", "b"]), "__main__"], ran


def test_run_module_and_code(auditwall_run):
    ran = auditwall_run("--policy", DENY_SYSTEM, "-m", "json.tool", input='{"a": 1}')
    assert ran.returncode == 0, ran
    assert '"a": 1' in ran.stdout
    ran = auditwall_run("--policy", DENY_SYSTEM, "-c", "import sys; print(sys.argv[1:])", "x")
    assert ran.lines == ["['x']"], ran


def test_hook_is_armed_before_the_program_starts(auditwall_run):
    ran = auditwall_run("--policy", DENY_SYSTEM, "-c",
                        "import auditwall; s = auditwall.status(); print(s['armed'], s['how'])")
    assert ran.lines == ["True pre-init"], ran


def test_monitor_mode_records_but_does_not_block(auditwall_run, script, tmp_path):
    marker = tmp_path / "marker"
    ran = auditwall_run("--policy", DENY_SYSTEM, "--mode", "monitor", script, marker)
    assert ran.returncode == 0, ran
    assert ran.lines == ["status 0", "marker True"], ran
    assert '"event":"os.system","family":"process","decision":"would-deny"' in ran.stderr, ran


def test_broken_policy_refuses_to_start(auditwall_run, policy_file, tmp_path):
    bad = policy_file("version: 1\nrules:\n  - id: x\n    on: os.system\n    acton: deny\n")
    marker = tmp_path / "marker"
    ran = auditwall_run("--policy", bad, "-c", f"open({str(marker)!r}, 'w')")
    assert ran.returncode == 78, ran
    assert f"{bad}:5:5: error: unknown key 'acton' in a rule (did you mean 'action'?)" in ran.stderr, ran
    assert "refusing to start" in ran.stderr, ran
    assert not marker.exists(), "the program ran although its policy is broken"


def test_missing_policy_refuses_to_start(auditwall_run, tmp_path):
    ran = auditwall_run("--policy", tmp_path / "absent.yaml", "-c", "print('ran')")
    assert ran.returncode == 78, ran
    assert "cannot read policy file" in ran.stderr, ran
    assert "ran" not in ran.stdout


def test_preinit_shim_fails_closed_when_the_policy_breaks_after_the_check(python, tmp_path):
    # The shim loads the policy itself; if it is unusable there, the program must not run.
    import auditwall
    import os
    shim = os.path.join(os.path.dirname(auditwall.__file__), "libauditwall-preload.so")
    ran = python("-c", "print('ran')",
                 env={"LD_PRELOAD": shim, "AUDITWALL_POLICY": str(tmp_path / "gone.yaml")})
    assert ran.returncode == 78, ran
    assert ran.stdout == "", ran
    assert "refusing to start" in ran.stderr, ran


def test_version(python):
    import auditwall
    ran = python("-m", "auditwall", "--version")
    assert ran.returncode == 0, ran
    assert ran.lines == [f"auditwall {auditwall.__version__}"], ran
    assert re.fullmatch(r"\d+\.\d+\.\d+", auditwall.__version__)


def test_policy_check(python, policy_file):
    ran = python("-m", "auditwall", "policy", "check", DENY_SYSTEM)
    assert ran.returncode == 0, ran
    assert ran.lines == [f"{DENY_SYSTEM}: ok"], ran
    bad = policy_file("version: 1\nmode: enforcing\n")
    ran = python("-m", "auditwall", "policy", "check", bad)
    assert ran.returncode == 1, ran
    assert f"{bad}:2:7: error: mode must be one of enforce, monitor, not 'enforcing'" in ran.stderr, ran


def test_api_activate_then_status(python, tmp_path):
    marker = tmp_path / "marker"
    code = f"""
import auditwall, os
print(auditwall.status()["armed"])
auditwall.activate({str(DENY_SYSTEM)!r})
s = auditwall.status()
print(s["armed"], s["how"], s["mode"], s["policy"] == {str(DENY_SYSTEM)!r})
try:
    auditwall.activate({str(DENY_SYSTEM)!r}, mode="monitor")
except RuntimeError as e:
    print("second activate refused:", "already armed" in str(e))
try:
    os.system("touch {marker}")
except auditwall.PolicyViolation as e:
    print("denied", e.rule)
"""
    ran = python("-c", code)
    assert ran.returncode == 0, ran
    assert ran.lines == ["False", "True api enforce True", "second activate refused: True",
                         "denied no-os-system"], ran
    assert not marker.exists()


def test_launcher_blocks_os_system(launcher, script, tmp_path):
    from conftest import run
    marker = tmp_path / "marker"
    ran = run([launcher, "--policy", DENY_SYSTEM, "--", sys.executable, script, marker])
    assert ran.returncode == 0, ran
    assert ran.lines[0] == "denied auditwall.PolicyViolation", ran
    assert not marker.exists()


def test_launcher_refuses_broken_policy(launcher, policy_file):
    from conftest import run
    bad = policy_file("version: 1\nrules: {}\n")
    ran = run([launcher, "--policy", bad, sys.executable, "-c", "print('ran')"])
    assert ran.returncode == 78, ran
    assert f"{bad}:2:8: error: rules must be a list" in ran.stderr, ran
    assert "ran" not in ran.stdout
