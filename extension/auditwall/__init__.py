"""auditwall: a runtime sandbox for CPython built on PEP 578 audit hooks."""

from ._core import PolicyViolation, __version__
from ._core import flush as _flush
from ._core import status as _status

__all__ = ["PolicyViolation", "__version__", "activate", "flush", "status"]


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


def flush():
    """Writes every log record buffered so far to the sink, and returns when they are written.

    Records are written by a background thread within about 50 ms, and at normal exit; call
    this before ending the process another way (os._exit()) or to read the log right away.
    Does nothing when auditwall is not armed.
    """
    _flush()
