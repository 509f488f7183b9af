"""Where the start-up time of a whole `auditwall run` goes, step by step, against plain `python`.

A minimal C host (bench/startup_host.c, built here with the system's C compiler) loads
libpython as the `auditwall` command does and takes one step of arming at a time: nothing
more, an empty C audit hook (CPython's own cost of any hook), an empty shared library loaded
and an empty hook (the floor of any engine armed before start-up), auditwall's `_core` loaded
but not armed, `_core` armed from the policy, or fresh pages of memory written before the
interpreter starts (what one page costs). Every variant runs interleaved with plain start-up
and with the whole command, on one CPU; the host also stamps its own phases. Run it with the
interpreter to measure, with auditwall installed (a shared-libpython build):

    python bench/startup_phases.py [--runs N] [--policy FILE] [--pages N]
"""

import argparse
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile

from startup_bench import DEFAULT_POLICY, added, clean_env, wall_times

HERE = pathlib.Path(__file__).resolve().parent

PLAIN = "plain"
HOST = "host: libpython loaded, nothing else"
HOOK = "host + an empty C audit hook"
FLOOR = "host + an empty library loaded + empty hook"
CORE = "host + _core loaded, not armed"
ARMED = "host + _core armed"
PAGES = "host + {} fresh pages written"
RUN = "auditwall run, whole"


def libpython():
    """The interpreter's shared libpython, or None for a statically linked interpreter."""
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        return None
    name = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY")
    path = pathlib.Path(sysconfig.get_config_var("LIBDIR")) / name
    return path if path.exists() else None


def build_host(directory):
    """The host, and an empty shared library for it to load: the least that loading any
    engine with dlopen() costs."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("startup_phases: no C compiler (cc) to build the host with")
    directory = pathlib.Path(directory)
    host = directory / "startup_host"
    subprocess.run([compiler, "-O2", "-o", str(host), str(HERE / "startup_host.c"), "-ldl"],
                   check=True)
    source = directory / "empty.c"
    source.write_text("int auditwall_bench_empty(void) { return 0; }\n")
    empty = directory / "libempty.so"
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(empty), str(source)],
                   check=True)
    return host, empty


def variants(host, empty, lib, policy, pages, times):
    import auditwall

    package = pathlib.Path(auditwall.__file__).parent
    core = next(package.glob("_core.*.so"))
    py = sys.executable
    base = {"AUDITWALL_HOST_LIBPYTHON": str(lib), "AUDITWALL_HOST_PROGRAM": py}
    cases = {PLAIN: ([py, "-c", "pass"], clean_env({}))}

    def in_host(name, **extra):
        env = {**base, **extra, "AUDITWALL_HOST_TIMES": str(times / f"{len(cases)}.txt")}
        cases[name] = ([str(host), "-c", "pass"], clean_env(env))

    in_host(HOST)
    in_host(HOOK, AUDITWALL_HOST_HOOK="1")
    in_host(FLOOR, AUDITWALL_HOST_CORE=str(empty), AUDITWALL_HOST_HOOK="1")
    in_host(CORE, AUDITWALL_HOST_CORE=str(core))
    in_host(ARMED, AUDITWALL_HOST_CORE=str(core), AUDITWALL_HOST_ARM="1",
            AUDITWALL_POLICY=policy,
            AUDITWALL_HOST_SHIM=str(package / "libauditwall-preload.so"))
    in_host(PAGES.format(pages), AUDITWALL_HOST_PAGES=str(pages))
    command = pathlib.Path(py).parent / "auditwall"
    cases[RUN] = ([str(command), "run", "--policy", policy, "-c", "pass"], clean_env({}))
    return cases


def stamps(path):
    """The host's own time stamps of each run, in microseconds: loading its library (_core or
    the empty one), arming, the interpreter."""
    return [[float(x) for x in line.split()] for line in path.read_text().splitlines()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--policy", default=str(DEFAULT_POLICY))
    parser.add_argument("--pages", type=int, default=32)
    args = parser.parse_args()

    print(f"interpreter: {sys.executable} (CPython {platform.python_version()}, "
          f"{platform.python_build()[0]})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; policy: {args.policy}; "
          f"{args.runs} runs per variant, interleaved, on one CPU")
    lib = libpython()
    if lib is None:
        sys.exit("startup_phases: this interpreter has no shared libpython for a host to load "
                 "(`auditwall run` execs such an interpreter; bench/startup_bench.py measures it)")
    with tempfile.TemporaryDirectory() as tmp:
        times = pathlib.Path(tmp)
        cases = variants(*build_host(tmp), lib, os.path.abspath(args.policy), args.pages, times)
        samples = {}
        wall = wall_times(cases, args.runs, samples)
        stamped = {name: stamps(times / f"{n}.txt") for n, name in enumerate(cases)
                   if (times / f"{n}.txt").exists()}

    print()
    print(f"  {'variant':44s} {'ms':>7s} {'paired +ms [95% interval]':>28s}   "
          f"{'load lib':>10s} {'arm':>6s} {'interpreter':>11s} (us)")
    for name in cases:
        add, low, high = added(samples, name) if name != PLAIN else (0.0, 0.0, 0.0)
        line = f"  {name:44s} {wall[name]:7.2f} {add:+9.3f} [{low:+.3f}, {high:+.3f}]"
        if name in stamped:
            core, arm, interpreter = (statistics.median(c) for c in zip(*stamped[name]))
            line += f"   {core:10.1f} {arm:6.1f} {interpreter:11.1f}"
        print(line)

    def delta(name, other):
        return added(samples, name, other)[0]

    # The same, for the interpreter's own start as the host stamped it (in the same rounds).
    inside = statistics.median(a[2] - b[2] for a, b in zip(stamped[CORE], stamped[HOST])) / 1000
    print()
    print("What each step adds, in ms (paired medians):")
    print(f"  the host itself, against plain python:          {delta(HOST, PLAIN):+.3f}")
    print(f"  any audit hook (CPython's own cost, per start): {delta(HOOK, HOST):+.3f}")
    print(f"  loading _core:                                  {delta(CORE, HOST):+.3f}"
          f"  (of which {inside:+.3f} inside the "
          "interpreter's own start)")
    print(f"  arming, from the loaded _core:                  {delta(ARMED, CORE):+.3f}")
    print(f"  the command's own work (whole run - armed host): {delta(RUN, ARMED):+.3f}")
    print(f"  the floor of any engine loaded with dlopen():   {delta(FLOOR, PLAIN):+.3f}"
          "  (an empty library and an empty hook)")
    print(f"  auditwall above that floor (whole run - floor):  {delta(RUN, FLOOR):+.3f}")
    name = PAGES.format(args.pages)
    print(f"  one fresh page of memory:                        "
          f"{delta(name, HOST) / args.pages * 1000:+.2f} us")


if __name__ == "__main__":
    main()
