"""Arms auditwall at interpreter start-up when AUDITWALL_POLICY is set.

Imported by auditwall-autoload.pth from site-packages, and only when the variable is set.
When the hook was already armed before start-up (auditwall run, auditwall-launch), this does
nothing. If the policy cannot be used, the interpreter exits before the program starts:
auditwall never lets a program run unprotected that asked to be protected.
"""

import os
import sys


def _arm():
    from . import _core

    if _core.status()["armed"]:
        return
    policy = os.environ.get("AUDITWALL_POLICY", "")
    if policy and not policy.startswith("builtin:") and not os.path.isabs(policy):
        # Children started from other directories must find the same policy.
        policy = os.path.abspath(policy)
        os.environ["AUDITWALL_POLICY"] = policy
    mode = os.environ.get("AUDITWALL_MODE", "")
    try:
        _core.activate(policy, mode, "auto-load")
    except Exception as e:  # noqa: BLE001 - any failure to arm must stop the program
        sys.stderr.write(f"{e}\nauditwall: refusing to start: the policy cannot be used: {policy}\n")
        sys.stderr.flush()
        os._exit(_core.EXIT_POLICY_ERROR)
    # Children auto-load too: hand them the compiled policy, as the front ends do, so that
    # they need not load the YAML parser again. Each checks that it still matches the file.
    os.environ[_core.COMPILED_VARIABLE] = _core.compiled_form()


try:
    _arm()
except BaseException as e:  # noqa: BLE001 - fail closed whatever went wrong
    sys.stderr.write(f"auditwall: refusing to start: cannot arm auditwall: {e!r}\n")
    sys.stderr.flush()
    os._exit(70)
