"""Shared helpers: every hook scenario runs in a fresh interpreter, never in pytest's own."""

import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

# A test run started in the background by a shell without job control inherits SIGINT ignored
# and hands that on to every interpreter it starts, which then has no KeyboardInterrupt (CPython
# installs its handler only when SIGINT is not ignored). Start them as from a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


class Ran:
    """A finished child process, with its output shown in assertion messages."""

    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def __repr__(self):
        return (f"<exit {self.returncode}>\n--- stdout ---\n{self.stdout}"
                f"--- stderr ---\n{self.stderr}")

    @property
    def lines(self):
        return self.stdout.splitlines()


def run(argv, *, env=None, cwd=None, timeout=60, input=None):
    """Runs argv with a clean auditwall environment plus `env`."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("AUDITWALL_") and k != "LD_PRELOAD"}
    full_env.update(env or {})
    proc = subprocess.run([str(a) for a in argv], env=full_env, cwd=cwd, timeout=timeout,
                          capture_output=True, text=True, input=input)
    return Ran(proc)


@pytest.fixture
def python():
    """Runs `python ARGS...` in a fresh interpreter (the one pytest runs on)."""
    def _python(*args, **kwargs):
        return run([sys.executable, *args], **kwargs)
    return _python


@pytest.fixture
def auditwall_run():
    """Runs `python -m auditwall run ARGS...`."""
    def _run(*args, **kwargs):
        return run([sys.executable, "-m", "auditwall", "run", *args], **kwargs)
    return _run


@pytest.fixture
def launcher():
    """The path of the installed auditwall-launch beside this interpreter."""
    path = pathlib.Path(sys.executable).parent / "auditwall-launch"
    if not path.exists():
        found = shutil.which("auditwall-launch")
        assert found, "auditwall-launch is not installed beside " + sys.executable
        path = pathlib.Path(found)
    return path


@pytest.fixture
def policy_file(tmp_path):
    """Writes a policy text to a temporary file and returns its path."""
    def _write(text, name="policy.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return _write


@pytest.fixture
def preload():
    """The path of the installed pre-init shim, libauditwall-preload.so."""
    import auditwall
    return pathlib.Path(auditwall.__file__).parent / "libauditwall-preload.so"
