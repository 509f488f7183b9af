"""Evasion classes the other suites do not cover, each with the layer that stops it.

Every escape is first shown to work with no auditwall (its harmless proof appears: a marker
file in a temporary directory, or a changed byte in the escape's own memory), then under the
audit hook alone (`auditwall run`) and under the hook plus the kernel layer
(`auditwall-launch`). Where auditwall does not stop it, the test is an expected failure whose
reason says why; docs/threat-model.md has the same table.

The other evasion classes are tested beside the layer they are about:
tests/integration/test_hook_evasion.py (ctypes, fork_exec under the hook, gc and frames,
sub-interpreters, importlib), tests/launcher/test_seccomp.py (ctypes, fork_exec, mknod,
pidfd_send_signal and raw syscalls under the kernel layer).
"""

import glob
import os
import shutil
import sys
import sysconfig

import pytest

from conftest import run

# A program that must not start processes, with the kernel layer derived from its rules.
NO_PROCESSES = """\
version: 1
rules:
  - {id: no-processes, on: process, action: deny}
seccomp: {derive: true}
"""

# Native code only from the interpreter's own directories; ctypes allowed (a program that
# needs a C library), tampering denied.
EXTENSIONS_FROM_THE_INTERPRETER = """\
version: 1
rules:
  - id: extensions-from-the-interpreter
    on: import
    match: {{not: {{path: ["{stdlib}/**", "{dynload}/**"]}}}}
    action: deny
    message: native code loads only from the interpreter's own directories
  - {{id: no-tamper, on: tamper, action: deny}}
"""

NATIVE_ALLOWED = """\
version: 1
rules:
  - {id: no-tamper, on: tamper, action: deny}
seccomp: {derive: true}
"""

NO_NATIVE = """\
version: 1
rules:
  - {id: no-native, on: native, action: deny}
  - {id: no-tamper, on: tamper, action: deny}
"""

# multiprocessing's own helper for starting a program: it calls
# _posixsubprocess.fork_exec, which raises no audit event.
SPAWNV_PASSFDS = """\
import sys
from multiprocessing import util
try:
    pid = util.spawnv_passfds(b"/bin/sh", [b"/bin/sh", b"-c", b"touch " + sys.argv[1].encode()],
                              ())
except OSError as e:
    print("refused", e.errno)
else:
    import os
    print("status", os.waitpid(pid, 0)[1])
"""

# An extension module planted in a writable directory that comes first on sys.path.
PLANTED_EXTENSION = """\
import sys
sys.path.insert(0, sys.argv[2])
try:
    import {name}
except PermissionError as e:
    print("refused", e)
else:
    print("loaded", {name}.__file__)
    open(sys.argv[1], "w").close()
"""

# ctypes writes the interpreter's memory with no audit event: here, the bytes of an immutable
# object of the escape's own, which is as far as a harmless proof goes. The same write aimed
# at the audit hook list clears every hook.
MEMORY_WRITE = """\
import sys
try:
    import ctypes
except PermissionError as e:
    print("refused", e)
    raise SystemExit(0)
data = bytes(b"untouched")
offset = sys.getsizeof(b"") - 1  # where a bytes object's characters start
ctypes.memmove(id(data) + offset, b"rewritten", 9)
print("memory", data.decode())
if data == b"rewritten":
    open(sys.argv[1], "w").close()
"""


def planted_extension(tmp_path):
    """Copies one of the interpreter's extension modules, not yet imported, into tmp_path."""
    dynload = sysconfig.get_config_var("DESTSHARED")
    for candidate in ("_bisect", "_heapq", "_statistics", "_random"):
        found = glob.glob(os.path.join(dynload, candidate + ".cpython-*.so"))
        if found:
            planted = tmp_path / "planted"
            planted.mkdir()
            shutil.copy(found[0], planted)
            return candidate, planted
    pytest.skip("this interpreter has no extension module in lib-dynload to plant")


@pytest.fixture
def layers(launcher, tmp_path):
    """Runs a script with no auditwall, under the hook alone, and under auditwall-launch."""
    def _layers(policy_text, script, *args):
        policy = tmp_path / "policy.yaml"
        policy.write_text(policy_text)
        path = tmp_path / "escape.py"
        path.write_text(script)
        argv = [sys.executable, path, *args]
        return {
            "none": lambda: run(argv, cwd=tmp_path),
            "hook": lambda: run([sys.executable, "-m", "auditwall", "run", "--policy", policy,
                                 "--", *argv[1:]], cwd=tmp_path),
            "launch": lambda: run([launcher, "--policy", policy, "--", *argv], cwd=tmp_path),
        }
    return _layers


def test_multiprocessing_spawn_helper_needs_the_kernel_layer(layers, tmp_path):
    marker = tmp_path / "marker"
    runs = layers(NO_PROCESSES, SPAWNV_PASSFDS, marker)
    for layer in ("none", "hook"):
        ran = runs[layer]()
        assert ran.returncode == 0 and "status 0" in ran.lines, (layer, ran)
        assert marker.exists(), (layer, ran)
        marker.unlink()
    ran = runs["launch"]()
    assert "status 0" not in ran.lines, ran
    assert not marker.exists(), ran
    assert "seccomp-derived-process" in ran.stderr, ran


@pytest.mark.parametrize("layer", ["hook", "launch"])
def test_extension_planted_in_a_writable_directory_is_refused(layers, tmp_path, layer):
    name, planted = planted_extension(tmp_path)
    marker = tmp_path / "marker"
    runs = layers(EXTENSIONS_FROM_THE_INTERPRETER.format(
        stdlib=sysconfig.get_paths()["stdlib"], dynload=sysconfig.get_config_var("DESTSHARED")),
        PLANTED_EXTENSION.format(name=name), marker, planted)
    ran = runs["none"]()
    assert ran.returncode == 0 and f"loaded {planted}" in ran.stdout, ran
    assert marker.exists(), ran
    marker.unlink()
    ran = runs[layer]()
    assert ran.returncode == 0, ran
    assert "refused" in ran.stdout and "extensions-from-the-interpreter" in ran.stdout, ran
    assert not marker.exists(), ran


@pytest.mark.parametrize("layer", ["hook", "launch"])
def test_memory_writes_through_ctypes_are_stopped_with_native_code(layers, tmp_path, layer):
    marker = tmp_path / "marker"
    runs = layers(NO_NATIVE, MEMORY_WRITE, marker)
    ran = runs["none"]()
    assert "memory rewritten" in ran.lines and marker.exists(), ran
    marker.unlink()
    ran = runs[layer]()
    assert ran.returncode == 0 and "refused" in ran.stdout and "no-native" in ran.stdout, ran
    assert not marker.exists(), ran


@pytest.mark.parametrize("layer", ["hook", "launch"])
def test_memory_writes_through_ctypes_when_native_code_is_allowed(layers, tmp_path, layer):
    marker = tmp_path / "marker"
    runs = layers(NATIVE_ALLOWED, MEMORY_WRITE, marker)
    ran = runs[layer]()
    assert ran.returncode == 0 and "memory rewritten" in ran.lines, ran
    assert marker.exists(), ran
    pytest.xfail("once ctypes is loaded, its memory writes raise no audit event and make no "
                 "syscall: no layer of auditwall sees them; deny native code")
