"""Start-up cost of each way of arming auditwall, against plain `python`.

Runs every variant interleaved, many times, in one run, and prints the median wall time and
the difference to plain start-up; with valgrind, also instruction counts (callgrind), the
noise-free figure. Run it with the interpreter to measure, with auditwall installed:

    python bench/startup_bench.py [--runs N] [--no-callgrind] [--policy FILE]
"""

import argparse
import os
import pathlib
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_POLICY = ROOT / "tests" / "fixtures" / "deny-system.yaml"

PROGRAMS = {
    "python -c pass": ["-c", "pass"],
    "import-heavy start": ["-c", "import json, asyncio, http.client, email.message, decimal, "
                                 "subprocess, socket, pickle"],
}


PRE_INIT = "pre-init (auditwall run / auditwall-launch --no-seccomp, in the program)"
PRE_INIT_SECCOMP = "pre-init + armed seccomp stage (auditwall-launch, in the program)"
PRE_INIT_YAML = "pre-init reading the YAML itself (no AUDITWALL_COMPILED)"
AUTO_LOAD = "auto-load (AUDITWALL_POLICY)"
AUTO_LOAD_CHILD = "auto-load in a child of an auto-loaded process"
# Not auditwall: plain Python started through `env`, what one more exec (any wrapper) costs.
ONE_MORE_EXEC = "env python: one more exec, for reference (no auditwall)"
RUN = "auditwall run, whole (front end + program)"
# The same with the program's interpreter exec'd rather than run in the command's process.
RUN_EXEC = "auditwall run, exec'd (AUDITWALL_IN_PROCESS=0)"
# The variants measured in instructions: those that run in the program's own process, except
# the seccomp stage, whose seccomp(2) call valgrind does not support.
IN_PROGRAM = ("plain", PRE_INIT, PRE_INIT_YAML, AUTO_LOAD, AUTO_LOAD_CHILD)


def variants(policy):
    import auditwall
    from auditwall import _core

    bindir = pathlib.Path(sys.executable).parent
    shim = str(pathlib.Path(auditwall.__file__).parent / "libauditwall-preload.so")
    launcher = bindir / "auditwall-launch"
    command = bindir / "auditwall"
    py = sys.executable
    ok, report, compiled = _core.compile_policy(policy)
    if not ok:
        sys.exit(report)
    # What the front ends hand the program's interpreter.
    pre_init = {"LD_PRELOAD": shim, "AUDITWALL_POLICY": policy, "AUDITWALL_COMPILED": compiled}
    out = {
        "plain": ([py], {}),
        ONE_MORE_EXEC: ([shutil.which("env") or "/usr/bin/env", py], {}),
        PRE_INIT: ([py], pre_init),
        PRE_INIT_SECCOMP: ([py], {**pre_init, "AUDITWALL_SECCOMP": "on"}),
        PRE_INIT_YAML: ([py], {"LD_PRELOAD": shim, "AUDITWALL_POLICY": policy}),
        AUTO_LOAD: ([py], {"AUDITWALL_POLICY": policy}),
        # Auto-load hands its compiled policy down to the children, as the front ends do.
        AUTO_LOAD_CHILD: ([py], {"AUDITWALL_POLICY": policy, "AUDITWALL_COMPILED": compiled}),
    }
    if launcher.exists():
        out["auditwall-launch, whole"] = ([str(launcher), "--policy", policy, py], {})
        out["auditwall-launch --no-seccomp, whole"] = (
            [str(launcher), "--no-seccomp", "--policy", policy, py], {})
    if command.exists():
        out[RUN] = ([str(command), "run", "--policy", policy], {})
        out[RUN_EXEC] = ([str(command), "run", "--policy", policy], {"AUDITWALL_IN_PROCESS": "0"})
    out["python -m auditwall run, whole"] = ([py, "-m", "auditwall", "run", "--policy", policy], {})
    return out


def clean_env(extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AUDITWALL_") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


def wall_times(cases, runs, samples=None):
    """Median wall time of each case, in ms. The runs are interleaved, in a new random order
    each round, and all of them run on one CPU (this process's last allowed one, which the
    children inherit): a start moving between CPUs, or sharing one with this process's own
    work, varies by more than the differences measured here. `samples`, when given, receives
    every run's time, for added()."""
    times = {name: [] for name in cases}
    order = list(cases)
    shuffle = random.Random(0).shuffle
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(allowed)})
    try:
        for _ in range(runs):
            shuffle(order)
            for name in order:
                argv, env = cases[name]
                start = time.perf_counter()
                subprocess.run(argv, env=env, check=True, stdin=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                times[name].append((time.perf_counter() - start) * 1000)
    finally:
        os.sched_setaffinity(0, allowed)
    if samples is not None:
        samples.update(times)
    return {name: statistics.median(t) for name, t in times.items()}


def added(samples, name, base="plain"):
    """What `name` adds to `base`, in ms: the median of the differences between the two runs
    of each round, which moves less than the difference of their medians when the machine's
    speed drifts during the benchmark, with a 95% interval (bootstrap, fixed seed)."""
    differences = [a - b for a, b in zip(samples[name], samples[base])]
    draw = random.Random(1)
    medians = sorted(statistics.median(draw.choices(differences, k=len(differences)))
                     for _ in range(1000))
    return statistics.median(differences), medians[25], medians[974]


def instructions(argv, env, status=0):
    """Instructions of the process `argv` under callgrind, which must end with `status`. With
    one hash seed for every count: a random one moves a start by tens of thousands of
    instructions (the layout of every dict and set), more than some differences measured."""
    env = {**env, "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "cg.out"
        ran = subprocess.run([shutil.which("valgrind") or "valgrind", "--tool=callgrind",
                              f"--callgrind-out-file={out}", "--trace-children=no", *argv],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if ran.returncode != status:
            raise RuntimeError(f"{argv[0]} exited with {ran.returncode}, not {status}: "
                               f"{ran.stderr.strip()[-2000:]}")
        for line in out.read_text().splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("no callgrind summary")


FRONT_END_RUN = "auditwall run itself, up to its exec of the program"
FRONT_END_LAUNCH = "auditwall-launch --no-seccomp itself, up to its exec of the program"
RUN_WHOLE = "auditwall run, whole: one process, the program in it"
RUN_WHOLE_EXEC = "auditwall run, exec'd: its front end + pre-init reading the policy"


def front_ends(policy):
    """Instructions of each native front end's own process, all it does before the program
    starts (auditwall-launch reads and checks the policy; the auditwall command leaves it to
    the extension that arms the program's interpreter). callgrind writes no counts for a
    process that execs, so each is made to fail its exec: auditwall-launch is given a program
    that does not exist, and a copy of `auditwall` finds no Python beside it or on PATH. Both
    must end with status 127 (cannot run the program), which auditwall-launch reaches only
    past the policy.
    (Without seccomp: valgrind does not support seccomp(2).)"""
    import auditwall

    bindir = pathlib.Path(sys.executable).parent
    shim = str(pathlib.Path(auditwall.__file__).parent / "libauditwall-preload.so")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        alone = pathlib.Path(tmp) / "auditwall"
        shutil.copy2(bindir / "auditwall", alone)
        env = clean_env({"PATH": tmp, "AUDITWALL_PRELOAD": shim})
        out[FRONT_END_RUN] = instructions([str(alone), "run", "--policy", policy, "-c", "pass"],
                                          env, status=127)
    out[FRONT_END_LAUNCH] = instructions(
        [str(bindir / "auditwall-launch"), "--no-seccomp", "--policy", policy,
         "/nonexistent/program"], clean_env({}), status=127)
    return out


def run_whole(policy, program=("-c", "pass")):
    """Instructions added to plain start-up by a whole `auditwall run` of `program`: counted
    in its one process when it runs the interpreter in that process (a shared-libpython
    build); None when it execs the interpreter, whose counts callgrind does not write."""
    command = pathlib.Path(sys.executable).parent / "auditwall"
    py = sys.executable
    try:
        whole = instructions([str(command), "run", "--policy", policy, *program], clean_env({}))
    except (RuntimeError, OSError):
        return None
    return whole - instructions([py, *program], clean_env({}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--policy", default=str(DEFAULT_POLICY))
    parser.add_argument("--no-callgrind", action="store_true")
    args = parser.parse_args()

    print(f"interpreter: {sys.executable} (CPython {platform.python_version()}, "
          f"{platform.python_build()[0]})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; policy: {args.policy}; "
          f"{args.runs} runs per variant, interleaved; median wall time, and the median of "
          "each round's difference to plain")
    base = variants(args.policy)
    use_callgrind = not args.no_callgrind and shutil.which("valgrind")
    for label, program in PROGRAMS.items():
        cases = {name: (argv + program, clean_env(env)) for name, (argv, env) in base.items()}
        samples = {}
        medians = wall_times(cases, args.runs, samples)
        plain = medians["plain"]
        print(f"\n{label}")
        print(f"  {'variant':<62} {'ms':>8} {'+ms':>8}   paired +ms [95% interval]")
        for name, ms in medians.items():
            diff, low, high = added(samples, name)
            print(f"  {name:<62} {ms:8.2f} {ms - plain:+8.2f}   "
                  f"{diff:+.2f} [{low:+.2f}, {high:+.2f}]")
        if use_callgrind:
            print(f"  {'instructions (callgrind)':<62} {'Ir':>14} {'+Ir':>12}")
            counts = {}
            for name in IN_PROGRAM:
                argv, env = cases[name]
                counts[name] = instructions(argv, env)
                print(f"  {name:<62} {counts[name]:>14,} {counts[name] - counts['plain']:>+12,}")
            own = front_ends(args.policy)
            for name, count in own.items():
                print(f"  {name:<62} {count:>14,}")
            # Exec'd, the program's interpreter reads the policy itself (no compiled form).
            whole = own[FRONT_END_RUN] + counts[PRE_INIT_YAML] - counts["plain"]
            print(f"  {RUN_WHOLE_EXEC:<62} {'':>14} {whole:>+12,}")
            whole = run_whole(args.policy, program)
            if whole is not None:
                print(f"  {RUN_WHOLE:<62} {'':>14} {whole:>+12,}")

if __name__ == "__main__":
    main()
