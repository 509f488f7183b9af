"""What logging a checked event costs a Python program, end to end: the hook, the decision,
the record and its output, per audit event, relative to the same loop without auditwall.

    python bench/log_bench.py [--events N] [--repeat R]

Each measure runs in a fresh interpreter: a loop of N `sys.audit("bench.event", PATH, i)`
calls (and, for the floor, the same loop raising an event no rule names). The log goes to a
file, written by auditwall's writer thread while the loop runs: this measures the program's
thread. bench/log_bench.cpp measures the writer's side too. Prints nanoseconds per event, the
best of R runs.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

LOOP = """\
import sys, time
n = int(sys.argv[1])
audit = sys.audit
path = "/srv/app/data/reports/2026/11/summary.csv"
start = time.perf_counter_ns()
for i in range(n):
    audit(sys.argv[2], path, i)
end = time.perf_counter_ns()
print((end - start) / n)
"""

POLICY = """\
version: 1
rules:
  - id: bench-log
    on: bench.event
    action: log
"""


def measure(env, events, event, repeat):
    best = None
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", LOOP, str(events), event], env=env,
                             capture_output=True, text=True, check=True)
        value = float(out.stdout.split()[-1])
        best = value if best is None else min(best, value)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import auditwall

    preload = str(pathlib.Path(auditwall.__file__).parent / "libauditwall-preload.so")
    with tempfile.TemporaryDirectory() as tmp:
        policy = pathlib.Path(tmp, "bench.yaml")
        policy.write_text(POLICY)
        log = pathlib.Path(tmp, "bench.jsonl")
        base = {k: v for k, v in os.environ.items() if not k.startswith("AUDITWALL_")}
        armed = dict(base, AUDITWALL_POLICY=str(policy), LD_PRELOAD=preload,
                     AUDITWALL_LOG=f"file:{log},rate_limit=0")
        plain = measure(base, args.events, "bench.event", args.repeat)
        fast = measure(armed, args.events, "bench.unruled", args.repeat)
        logged = measure(armed, args.events, "bench.event", args.repeat)
        lines = sum(1 for _ in open(log)) if log.exists() else 0
    print(f"log_bench.py: {args.events} events, best of {args.repeat}, {sys.version.split()[0]}")
    print(f"  no auditwall:            {plain:7.1f} ns/event")
    print(f"  armed, no rule (floor):  {fast:7.1f} ns/event  (+{fast - plain:.1f})")
    print(f"  armed, checked + logged: {logged:7.1f} ns/event  (+{logged - plain:.1f})")
    print(f"  records written: {lines}")


if __name__ == "__main__":
    main()
