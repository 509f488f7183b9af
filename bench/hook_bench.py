#!/usr/bin/env python3
"""The cost of auditwall's audit hook per event, in one run per interpreter.

Measures an event that no rule names (`sys._getframe`, raised from C on every call) under:

  none         no audit hook
  c-empty      an empty C audit hook (built here from C source, returns 0)
  auditwall    auditwall armed with a policy whose rules name other events
  python-hook  the pure-Python reference (bench/pure_python_reference.py) with the same policy

and reports nanoseconds per event (best of several runs, wall clock) and, with valgrind,
instructions per event by callgrind, which are exact and machine-independent. auditwall's
budget (docs/events.md): at most 50 instructions per event more than the empty C hook,
counted inside the hook function (the rest of an event's cost is CPython's and the same).

usage: hook_bench.py [--quick] [--no-callgrind] [--python PYTHON]... [--json FILE]
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tempfile

CONFIGS = ["none", "c-empty", "auditwall", "python-hook"]
BENCH = pathlib.Path(__file__).resolve().parent
BUDGET_INSTRUCTIONS = 50

EMPTY_HOOK_C = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static int empty_hook(const char *event, PyObject *args, void *data) {
    (void)event; (void)args; (void)data;
    return 0;
}
static PyObject *install(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    if (PySys_AddAuditHook(empty_hook, NULL) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef methods[] = {{"install", install, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "aw_empty_hook", NULL, -1, methods};
PyMODINIT_FUNC PyInit_aw_empty_hook(void) { return PyModule_Create(&def); }
"""

# Rules on events other than the measured one: the hook must skip sys._getframe at once.
POLICY = """\
version: 1
mode: enforce
rules:
  - id: no-shells
    on: [os.system, os.exec, os.posix_spawn, subprocess.Popen]
    action: deny
  - id: no-pickle-globals
    on: pickle.find_class
    action: deny
"""

# The child: sets up one configuration, then raises N events in a loop and prints ns/event.
CHILD = r"""
import sys, time
config, n, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if config == 'c-empty':
    sys.path.insert(0, sys.argv[4])
    import aw_empty_hook
    aw_empty_hook.install()
elif config == 'auditwall':
    import auditwall
    auditwall.activate(sys.argv[4])
elif config == 'python-hook':
    sys.path.insert(0, sys.argv[5])
    import pure_python_reference
    pure_python_reference.install(sys.argv[4])
seen = []
if '--check' in sys.argv:
    # prove the measured call raises an event (a second hook counts it)
    sys.addaudithook(lambda e, a: seen.append(e) if e == 'sys._getframe' else None)
    sys._getframe()
    print('events', len(seen))
    raise SystemExit
# Every event allocates its argument tuple, which counts towards the cyclic GC's thresholds;
# a collection's cost depends on how many objects each configuration has alive, so leave the
# GC out of the measured loop.
import gc
gc.disable()
f = sys._getframe
best = None
for _ in range(repeats):
    t0 = time.perf_counter_ns()
    for _ in range(n):
        f()
    t = (time.perf_counter_ns() - t0) / n
    best = t if best is None else min(best, t)
print(best)
"""


def build_empty_hook(python, workdir):
    """Compiles the empty C hook for `python`; returns the directory holding it."""
    info = json.loads(subprocess.check_output([python, "-c", (
        "import json, sysconfig; print(json.dumps({'include': sysconfig.get_paths()['include'],"
        " 'suffix': sysconfig.get_config_var('EXT_SUFFIX')}))")]))
    out = pathlib.Path(workdir) / ("empty-" + pathlib.Path(python).parent.parent.name)
    out.mkdir(parents=True, exist_ok=True)
    src = out / "aw_empty_hook.c"
    src.write_text(EMPTY_HOOK_C)
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    subprocess.check_call([cc, "-O2", "-shared", "-fPIC", "-I", info["include"], str(src),
                           "-o", str(out / ("aw_empty_hook" + info["suffix"]))])
    return out


def child_argv(python, config, n, repeats, hook_dir, policy):
    argv = [python, "-c", CHILD, config, str(n), str(repeats)]
    if config == "c-empty":
        argv.append(str(hook_dir))
    elif config == "auditwall":
        argv.append(str(policy))
    elif config == "python-hook":
        argv += [str(policy), str(BENCH)]
    return argv


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("AUDITWALL_") and k != "LD_PRELOAD"}


def timing(python, config, n, repeats, hook_dir, policy):
    out = subprocess.check_output(child_argv(python, config, n, repeats, hook_dir, policy),
                                  env=clean_env(), text=True)
    return float(out.strip().splitlines()[-1])


# The C function that is the audit hook, per configuration, for callgrind's --toggle-collect.
HOOK_FUNCTIONS = {"c-empty": "empty_hook", "auditwall": "auditwall_audit_hook"}


def instructions(python, config, n, hook_dir, policy, workdir, inside_hook=False):
    """Instructions (callgrind Ir) of a child raising n events: the whole process, or only those
    executed inside the C audit hook function."""
    out = pathlib.Path(workdir) / f"callgrind.{config}.{n}.{int(inside_hook)}.out"
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--quiet"]
    if inside_hook:
        argv.append(f"--toggle-collect={HOOK_FUNCTIONS[config]}")
    argv += child_argv(python, config, n, 1, hook_dir, policy)
    subprocess.run(argv, env=clean_env(), check=True, stdout=subprocess.DEVNULL)
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {out}")


def measure(python, args, workdir):
    hook_dir = build_empty_hook(python, workdir)
    policy = pathlib.Path(workdir) / "policy.yaml"
    policy.write_text(POLICY)
    check = subprocess.run(child_argv(python, "none", 1, 1, hook_dir, policy) + ["--check"],
                           env=clean_env(), capture_output=True, text=True)
    if check.stdout.strip() != "events 1":
        raise RuntimeError(f"sys._getframe raises no audit event on {python}: {check!r}")
    version = subprocess.check_output([python, "-c", "import sys; print(sys.version.split()[0])"],
                                      text=True).strip()
    result = {"python": python, "version": version, "ns_per_event": {},
              "instructions_per_event": {}, "hook_instructions_per_event": {}}
    for config in CONFIGS:
        result["ns_per_event"][config] = timing(python, config, args.events, args.repeats, hook_dir, policy)
    if args.callgrind:
        n1, n2 = args.callgrind_events
        for config in args.callgrind_configs:
            i1 = instructions(python, config, n1, hook_dir, policy, workdir)
            i2 = instructions(python, config, n2, hook_dir, policy, workdir)
            result["instructions_per_event"][config] = (i2 - i1) / (n2 - n1)
        # The whole-process difference moves by tens of instructions with the allocator's state
        # (obmalloc arenas differ between configurations); the instructions inside the hook
        # function are exact: CPython's cost of calling one C hook is the same for both.
        for config in HOOK_FUNCTIONS:
            i1 = instructions(python, config, n1, hook_dir, policy, workdir, inside_hook=True)
            i2 = instructions(python, config, n2, hook_dir, policy, workdir, inside_hook=True)
            result["hook_instructions_per_event"][config] = (i2 - i1) / (n2 - n1)
    return result


def report(result):
    ns = result["ns_per_event"]
    ir = result["instructions_per_event"]
    print(f"CPython {result['version']} ({result['python']})")
    print(f"  {'config':<12} {'ns/event':>9} {'+ns vs none':>12} {'instr/event':>12} {'+instr vs c-empty':>18}")
    for config in CONFIGS:
        extra_ir = ""
        if config in ir and "c-empty" in ir:
            extra_ir = f"{ir[config] - ir['c-empty']:+.1f}"
        print(f"  {config:<12} {ns[config]:9.1f} {ns[config] - ns['none']:+12.1f} "
              f"{ir[config] if config in ir else float('nan'):12.1f} {extra_ir:>18}")
    inside = result["hook_instructions_per_event"]
    if "auditwall" in inside and "c-empty" in inside:
        extra = inside["auditwall"] - inside["c-empty"]
        verdict = "within" if extra <= BUDGET_INSTRUCTIONS else "OVER"
        print(f"  inside the hook function: empty C hook {inside['c-empty']:.1f}, auditwall "
              f"{inside['auditwall']:.1f} instructions per event")
        print(f"  auditwall on an event no rule names: {extra:+.1f} instructions over the empty C "
              f"hook ({verdict} the budget of {BUDGET_INSTRUCTIONS})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", help="interpreter to measure (repeatable); "
                        "default: this one")
    parser.add_argument("--quick", action="store_true", help="tiny iteration counts (smoke test)")
    parser.add_argument("--no-callgrind", dest="callgrind", action="store_false")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    args.events, args.repeats = (2_000, 1) if args.quick else (2_000_000, 5)
    args.callgrind_events = (2_000, 22_000) if args.quick else (20_000, 220_000)
    args.callgrind_configs = ["c-empty", "auditwall"] if args.quick else CONFIGS
    return run_each(args, measure, report, "aw-hook-bench-")


def run_each(args, measure, report, prefix):
    """Runs measure(python, args, workdir) and report(result) for each --python (default: this
    one) in a temporary directory, without callgrind when valgrind is missing; writes --json."""
    if args.callgrind and shutil.which("valgrind") is None:
        print("valgrind not found: instruction counts skipped", file=sys.stderr)
        args.callgrind = False
    results = []
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        for python in args.python or [sys.executable]:
            result = measure(python, args, workdir)
            report(result)
            results.append(result)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
