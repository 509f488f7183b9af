"""auditwall: a runtime sandbox for CPython built on PEP 578 audit hooks."""

from ._core import PolicyViolation, __version__
from ._core import status as _status

__all__ = ["PolicyViolation", "__version__", "activate", "status"]


def activate(policy, mode=None):
    """Arms auditwall's audit hook in this process with the policy file `policy`.

    Code that ran before this call was not checked; `auditwall run` arms the hook before the
    interpreter starts. Once armed, the hook stays and its policy cannot be changed.
    Raises RuntimeError when the policy cannot be loaded or the hook is already armed.
    """
    from . import _core
    import os

    _core.activate(os.fspath(policy), mode or "", "api")


def status():
    """A dict saying whether the hook is armed, how, and with which policy and mode."""
    return _status()
