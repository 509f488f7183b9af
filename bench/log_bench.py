#!/usr/bin/env python3
"""What logging a checked event costs a Python program, output included, in one run.

    python bench/log_bench.py [--events N] [--repeat R] [--quick] [--no-callgrind]
                              [--python PYTHON] [--json FILE]

Each variant runs a loop of `sys.audit(EVENT, PATH, i)` in a fresh interpreter:

  none            no audit hook
  c-empty         an empty C audit hook (built here from C source, returns 0): the floor
  no-rule         auditwall armed, the event named by no rule (the fast path)
  allowed         auditwall armed, a rule allows the event: checked and counted, not logged
  logged-file     a rule logs the event: every record written to a log file (rate_limit=0)
  logged-devnull  the same, written to /dev/null: the log's work without the disk's
  logged-none     the same with the sink `none`: checked and counted, nothing written

The cost per event is amortised with the output included: each variant runs with N/5 and
with N events, and the difference of the two runs (whole process, every thread: the program's
thread, auditwall's writer thread, and the flush at exit) is divided by the difference in
events, so that start-up and exit cancel out. Reported per event: the wall time of the
process, its CPU time (all threads), and the loop's own wall time as the program's thread
sees it; the best of R runs. With valgrind, the instructions per event (callgrind, the same
difference), split into the program's thread and auditwall's writer thread.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hook_bench import build_empty_hook, clean_env, run_each  # noqa: E402

VARIANTS = ["none", "c-empty", "no-rule", "allowed", "logged-file", "logged-devnull",
            "logged-none"]
LABELS = {
    "none": "no hook",
    "c-empty": "empty C hook (the floor)",
    "no-rule": "auditwall, no rule names the event",
    "allowed": "auditwall, checked and allowed (not logged)",
    "logged-file": "auditwall, checked and logged to a file",
    "logged-devnull": "auditwall, checked and logged to /dev/null",
    "logged-none": "auditwall, checked, log sink none",
}
TARGET_NS = 150

POLICY = """\
version: 1
rules:
  - id: bench-log
    on: bench.event
    action: log
  - id: bench-allow
    on: bench.allowed
    action: allow
"""

PATH = "/srv/app/data/reports/2026/11/summary.csv"

# The child: sets up one variant, raises N events in a loop, prints the loop's ns per event.
CHILD = r"""
import sys, time
variant, n, event = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if variant == 'c-empty':
    sys.path.insert(0, sys.argv[4])
    import aw_empty_hook
    aw_empty_hook.install()
elif variant != 'none':
    import auditwall
    auditwall.activate(sys.argv[4])
import gc
gc.disable()
audit = sys.audit
path = %r
start = time.perf_counter_ns()
for i in range(n):
    audit(event, path, i)
end = time.perf_counter_ns()
print((end - start) / max(n, 1))
""" % PATH


def event_of(variant):
    return {"no-rule": "bench.unruled", "allowed": "bench.allowed"}.get(variant, "bench.event")


def child_argv(python, variant, n, hook_dir, policy):
    argv = [python, "-c", CHILD, variant, str(n), event_of(variant)]
    if variant == "c-empty":
        argv.append(str(hook_dir))
    elif variant != "none":
        argv.append(str(policy))
    return argv


def child_env(variant, log):
    env = clean_env()
    # The same str hashes in every run: the loop's own dict lookups then cost the same in each
    # variant, and instruction counts compare across variants and builds.
    env["PYTHONHASHSEED"] = "0"
    if variant in ("no-rule", "allowed", "logged-file"):
        env["AUDITWALL_LOG"] = f"file:{log},rate_limit=0"
    elif variant == "logged-devnull":
        env["AUDITWALL_LOG"] = "file:/dev/null,rate_limit=0"
    elif variant == "logged-none":
        env["AUDITWALL_LOG"] = "none"
    return env


def run_once(python, variant, n, hook_dir, policy, log):
    """(process wall s, process CPU s over all threads, loop ns per event) of one child."""
    if log.exists():
        log.unlink()
    start = time.perf_counter()
    proc = subprocess.Popen(child_argv(python, variant, n, hook_dir, policy),
                            env=child_env(variant, log), stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} with {n} events failed ({proc.returncode}): {out}")
    return wall, usage.ru_utime + usage.ru_stime, float(out.split()[-1])


def timing(python, variant, events, repeats, hook_dir, policy, log):
    """Best-of-`repeats` per-event figures of `variant`: amortised wall and CPU, loop wall."""
    small = max(events // 5, 1)
    best = {}
    for _ in range(repeats):
        w1, c1, _ = run_once(python, variant, small, hook_dir, policy, log)
        w2, c2, loop = run_once(python, variant, events, hook_dir, policy, log)
        written = 0
        if variant == "logged-file":
            with open(log, "rb") as f:
                written = sum(1 for line in f if b'"bench.event"' in line)
        sample = {"wall": (w2 - w1) * 1e9 / (events - small),
                  "cpu": (c2 - c1) * 1e9 / (events - small), "loop": loop}
        for key, value in sample.items():
            best[key] = value if key not in best else min(best[key], value)
        if variant == "logged-file":
            best["records"] = written
    return best


def callgrind_total(path):
    for line in path.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {path}")


def instructions(python, variant, n, hook_dir, policy, log, workdir):
    """Instructions (callgrind Ir) of a child raising n events: (program thread, other threads)."""
    base = pathlib.Path(workdir) / f"callgrind.{variant}.{n}"
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={base}", "--quiet",
            "--separate-threads=yes"] + child_argv(python, variant, n, hook_dir, policy)
    if log.exists():
        log.unlink()
    subprocess.run(argv, env=child_env(variant, log), check=True, stdout=subprocess.DEVNULL)
    # --separate-threads writes BASE-01 for the first (the program's) thread, -02... for others.
    files = sorted(base.parent.glob(base.name + "-*"))
    main = sum(callgrind_total(f) for f in files if f.name.endswith("-01"))
    others = sum(callgrind_total(f) for f in files if not f.name.endswith("-01"))
    for f in files:
        f.unlink()
    return main, others


def measure(python, args, workdir):
    hook_dir = build_empty_hook(python, workdir)
    policy = pathlib.Path(workdir) / "policy.yaml"
    policy.write_text(POLICY)
    log = pathlib.Path(workdir) / "bench.jsonl"
    version = subprocess.check_output([python, "-c", "import sys; print(sys.version.split()[0])"],
                                      text=True).strip()
    result = {"python": python, "version": version, "events": args.events,
              "repeats": args.repeat, "timing": {}, "instructions": {}}
    for variant in VARIANTS:
        result["timing"][variant] = timing(python, variant, args.events, args.repeat, hook_dir,
                                           policy, log)
    if args.callgrind:
        n1, n2 = args.callgrind_events
        for variant in args.callgrind_variants:
            m1, o1 = instructions(python, variant, n1, hook_dir, policy, log, workdir)
            m2, o2 = instructions(python, variant, n2, hook_dir, policy, log, workdir)
            result["instructions"][variant] = {"program": (m2 - m1) / (n2 - n1),
                                               "writer": (o2 - o1) / (n2 - n1)}
    return result


def report(result):
    t = result["timing"]
    ir = result["instructions"]
    none = t["none"]
    print(f"log_bench.py: CPython {result['version']} ({result['python']})")
    print(f"  sys.audit(EVENT, PATH, i) in a loop; per event, amortised over "
          f"{result['events'] - max(result['events'] // 5, 1)} events (runs of "
          f"{max(result['events'] // 5, 1)} and {result['events']}), output included; "
          f"best of {result['repeats']}")
    print(f"  {'variant':<44} {'wall ns':>8} {'cpu ns':>8} {'+cpu':>7} {'loop ns':>8}"
          f" {'instr':>7} {'+instr':>7} {'program':>8} {'writer':>7}")
    base_ir = ir.get("none")
    for variant in VARIANTS:
        v = t[variant]
        line = (f"  {LABELS[variant]:<44} {v['wall']:8.1f} {v['cpu']:8.1f} "
                f"{v['cpu'] - none['cpu']:+7.1f} {v['loop']:8.1f}")
        if variant in ir:
            total = ir[variant]["program"] + ir[variant]["writer"]
            added = f"{total - (base_ir['program'] + base_ir['writer']):+7.0f}" if base_ir else ""
            line += (f" {total:7.0f} {added:>7} {ir[variant]['program']:8.0f}"
                     f" {ir[variant]['writer']:7.0f}")
        print(line)
    logged = t["logged-file"]
    print(f"  records in the log file: {logged.get('records', 0)} of {result['events']}")
    for name, base in (("no hook", "none"), ("a checked, unlogged event", "allowed")):
        cpu = logged["cpu"] - t[base]["cpu"]
        wall = logged["wall"] - t[base]["wall"]
        text = f"  a logged event (file) over {name}: {cpu:+.1f} ns CPU, {wall:+.1f} ns wall"
        if "logged-file" in ir and base in ir:
            added = (ir["logged-file"]["program"] + ir["logged-file"]["writer"]
                     - ir[base]["program"] - ir[base]["writer"])
            text += f", {added:+.0f} instructions"
        print(text)
    cpu = logged["cpu"] - none["cpu"]
    verdict = "within" if cpu <= TARGET_NS else "OVER"
    print(f"  target: a checked and logged event at most {TARGET_NS} ns over no hook, output "
          f"included: {cpu:.1f} ns CPU, {verdict}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny iteration counts (smoke test)")
    parser.add_argument("--no-callgrind", dest="callgrind", action="store_false")
    parser.add_argument("--python", action="append", help="interpreter to measure (repeatable); "
                        "default: this one")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.repeat = 5_000, 1
    args.callgrind_events = (1_000, 3_000) if args.quick else (10_000, 60_000)
    args.callgrind_variants = ["none", "allowed", "logged-file"] if args.quick else VARIANTS
    return run_each(args, measure, report, "aw-log-bench-")

if __name__ == "__main__":
    sys.exit(main())
