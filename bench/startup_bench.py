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


def variants(policy):
    import auditwall

    bindir = pathlib.Path(sys.executable).parent
    shim = str(pathlib.Path(auditwall.__file__).parent / "libauditwall-preload.so")
    launcher = bindir / "auditwall-launch"
    command = bindir / "auditwall"
    py = sys.executable
    out = {
        "plain": ([py], {}),
        "pre-init (auditwall-launch / auditwall run, in the program)":
            ([py], {"LD_PRELOAD": shim, "AUDITWALL_POLICY": policy}),
        "auto-load (AUDITWALL_POLICY)": ([py], {"AUDITWALL_POLICY": policy}),
    }
    if launcher.exists():
        out["auditwall-launch, whole"] = ([str(launcher), "--policy", policy, py], {})
    if command.exists():
        out["auditwall run, whole (front end + program)"] = ([str(command), "run", "--policy", policy], {})
    out["python -m auditwall run, whole"] = ([py, "-m", "auditwall", "run", "--policy", policy], {})
    return out


def clean_env(extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AUDITWALL_") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


def wall_times(cases, runs):
    times = {name: [] for name in cases}
    for _ in range(runs):
        for name, (argv, env) in cases.items():
            start = time.perf_counter()
            subprocess.run(argv, env=env, check=True, stdin=subprocess.DEVNULL)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def instructions(argv, env):
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "cg.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        "--trace-children=no", *argv], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for line in out.read_text().splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("no callgrind summary")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--policy", default=str(DEFAULT_POLICY))
    parser.add_argument("--no-callgrind", action="store_true")
    args = parser.parse_args()

    print(f"interpreter: {sys.executable} (CPython {platform.python_version()}, "
          f"{platform.python_build()[0]})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; policy: {args.policy}; "
          f"{args.runs} runs per variant, interleaved; median wall time")
    base = variants(args.policy)
    use_callgrind = not args.no_callgrind and shutil.which("valgrind")
    for label, program in PROGRAMS.items():
        cases = {name: (argv + program, clean_env(env)) for name, (argv, env) in base.items()}
        medians = wall_times(cases, args.runs)
        plain = medians["plain"]
        print(f"\n{label}")
        print(f"  {'variant':<62} {'ms':>8} {'+ms':>8}")
        for name, ms in medians.items():
            print(f"  {name:<62} {ms:8.2f} {ms - plain:+8.2f}")
        if use_callgrind:
            print(f"  {'instructions (callgrind)':<62} {'Ir':>14} {'+Ir':>12}")
            counts = {}
            for name in ("plain", "pre-init (auditwall-launch / auditwall run, in the program)",
                         "auto-load (AUDITWALL_POLICY)"):
                argv, env = cases[name]
                counts[name] = instructions(argv, env)
                print(f"  {name:<62} {counts[name]:>14,} {counts[name] - counts['plain']:>+12,}")


if __name__ == "__main__":
    main()
