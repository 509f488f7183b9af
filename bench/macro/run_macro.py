"""Macro workload: CPython's own regression tests, plain and under auditwall.

The tests are the ones shipped with the interpreter (`python -m test`), written by no one
here. Each configuration runs them in a fresh process, interleaved over several rounds
(plain, monitor-all, web-service, plain, ...); the median CPU time (user + system, of the
process and its children) and wall time are kept, and every run must pass. On this shared,
loaded machine CPU time is the steadier figure: wall time includes the tests' own sleeps and
other engineers' load.

auditwall runs through `python -m auditwall run` (pre-init arming), in monitor mode, so that
the policies record what they would deny instead of failing the tests: builtin:web-service
would deny test_pickle's arbitrary globals and test_subprocess's shell commands, as it should.
Records go to a file sink (`--log file:PATH`, inherited by the tests' child interpreters,
whose stderr some tests check is empty) and are counted.

    python bench/macro/run_macro.py [--rounds N] [--tests test_json,test_pickle]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

DEFAULT_TESTS = ["test_json", "test_pickle", "test_subprocess"]

DEFAULT_POLICIES = ["builtin:monitor-all", "builtin:web-service"]

# Tests left out of every configuration, plain included, each for a documented reason.
LEFT_OUT = {
    "test_pass_fds_redirected": "it checks that a child holds no descriptor but the ones it "
                                "was given, and an armed child holds one for its log "
                                "(docs/log-schema.md, Where it goes)",
}


def configs(policies):
    """{name: the `auditwall run` options, or [] for plain python}, plain first."""
    out = {"plain": []}
    for policy in policies:
        out[f"auditwall {policy} (monitor)"] = ["--policy", policy, "--mode", "monitor"]
    return out


def clean_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith("AUDITWALL_") and k not in ("LD_PRELOAD", "PYTHONPATH")}


def run_once(python, options, config, tests, workdir):
    """(cpu seconds, wall seconds, records logged) for one run; raises if a test fails."""
    log_path = os.path.join(workdir, "auditwall.log")
    if os.path.exists(log_path):
        os.unlink(log_path)
    pre = ([python, "-m", "auditwall", "run", *options, "--log", f"file:{log_path}", "--"]
           if options else [python])
    ignore = [arg for name in LEFT_OUT for arg in ("--ignore", name)]
    argv = pre + ["-m", "test", "-q", "--timeout", "600", *ignore, *tests]
    err_path = os.path.join(workdir, "stderr.txt")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(err_path, "wb") as err:
        ran = subprocess.run(argv, env=clean_env(), stdout=subprocess.PIPE, stderr=err,
                             stdin=subprocess.DEVNULL, cwd=workdir, timeout=3600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    records = 0
    if os.path.exists(log_path):
        with open(log_path, "rb") as f:
            records = sum(1 for _ in f)
    if ran.returncode != 0:
        with open(err_path, "rb") as f:
            err_tail = f.read().decode(errors="replace").splitlines()[-10:]
        tail = ran.stdout.decode(errors="replace").splitlines()[-25:] + err_tail
        raise RuntimeError(f"{config}: {' '.join(tests)} failed (exit {ran.returncode}):\n"
                           + "\n".join(tail))
    return cpu, wall, records


def measure(python, tests, rounds, policies=None):
    options = configs(policies or DEFAULT_POLICIES)
    names = list(options)
    samples = {c: {"cpu": [], "wall": [], "records": []} for c in names}
    with tempfile.TemporaryDirectory() as workdir:
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for config in order:
                cpu, wall, records = run_once(python, options[config], config, tests, workdir)
                samples[config]["cpu"].append(cpu)
                samples[config]["wall"].append(wall)
                samples[config]["records"].append(records)
    out = {}
    for config, s in samples.items():
        out[config] = {"cpu_s": statistics.median(s["cpu"]), "wall_s": statistics.median(s["wall"]),
                       "records": max(s["records"]), "runs": len(s["cpu"])}
    return {"tests": tests, "left_out": LEFT_OUT, "rounds": rounds, "results": out}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tests", default=",".join(DEFAULT_TESTS))
    parser.add_argument("--policies", default=",".join(DEFAULT_POLICIES))
    args = parser.parse_args()
    result = measure(args.python, args.tests.split(","), args.rounds, args.policies.split(","))
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
