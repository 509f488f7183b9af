"""Per-event cost of every hook variant on every event type, wall time and callgrind.

Each variant (no hook, the empty C hook, auditwall with a policy, the pure-Python reference
with the same policy, the audit-hook sandboxes from PyPI) runs in a fresh interpreter that arms
it and then times one cheap operation per event type in a loop. Wall times come from several
children per variant, interleaved (variant A, B, C, A, B, C, ...), and the median is kept:
this machine is shared and loaded, so single wall times are noise. Instruction counts come
from one run per variant under `valgrind --tool=callgrind`, split per event loop by a marker
function (--dump-before), the noise-free figure.

Used by run_all.py; also runnable alone:
    python bench/event_matrix.py --variant none --variant auditwall:builtin:monitor-all
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import sysconfig
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

# event -> (statement raising it once, iterations for wall time, iterations under callgrind)
EVENTS = {
    "open": ("open('/dev/null', 'rb').close()", 4000, 400),
    "exec": ("exec(CODE, NS)", 40000, 2000),
    "compile": ("compile('1', '<bench>', 'eval')", 20000, 1000),
    "import": ("sys.modules.pop('errno', None); __import__('errno')", 4000, 400),
    "marshal.loads": ("marshal.loads(DATA)", 40000, 2000),
    "sys._getframe": ("getframe()", 40000, 2000),
    "object.__getattr__": ("F.__code__", 40000, 2000),
    "pickle.find_class": ("pickle.loads(PICKLED)", 20000, 1000),
    "socket.__new__": ("socket.socket(AF_INET, SOCK_STREAM).close()", 4000, 400),
    "socket.connect": ("UDP.connect(LOOPBACK)", 10000, 1000),
    "subprocess.Popen": ("subprocess.Popen(['/bin/true']).wait()", 20, 3),
}

MARK_SYMBOL = "auditwall_bench_mark"


# ---- in the child -----------------------------------------------------------------------

def _namespace():
    import collections
    import marshal
    import pickle
    import socket
    import subprocess as sp

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def f():
        return 0

    return {
        "sys": sys, "marshal": marshal, "pickle": pickle, "socket": socket, "subprocess": sp,
        "CODE": compile("pass", "<bench>", "exec"), "NS": {}, "DATA": marshal.dumps(1),
        "getframe": sys._getframe, "F": f,
        "PICKLED": pickle.dumps(collections.OrderedDict),
        "AF_INET": socket.AF_INET, "SOCK_STREAM": socket.SOCK_STREAM,
        "UDP": udp, "LOOPBACK": receiver.getsockname(), "_keep": receiver,
    }


def _arm(kind, policy, mode, log):
    """Arms one variant in this process; _arm.settle() then writes out its buffered records."""
    _arm.settle = lambda: None
    if kind == "none":
        return
    if kind == "empty-c":
        import bench_ext
        bench_ext.install_empty_hook()
    elif kind == "auditwall":
        import auditwall
        auditwall.activate(policy, mode or None)
        _arm.settle = auditwall.flush
    elif kind == "python":
        import pure_python_reference
        out = open(log, "a", buffering=1 << 20)
        pure_python_reference.install(policy, mode or None, log=out)
        _arm.settle = out.flush
    elif kind == "malwi-box":
        # Its force mode: every check runs, violations are logged, nothing is blocked.
        from malwi_box.engine import BoxEngine
        from malwi_box.hook import setup_force_hook
        setup_force_hook(BoxEngine(config_path=os.path.join(tempfile.gettempdir(),
                                                            "no-malwi-box.toml")))
    elif kind == "fastaudit":
        # Writes only under the temp dir; before_deny allows what it would deny (its
        # closest to a monitor mode), so each denied event still runs its whole check.
        import fastaudit
        context = fastaudit.mk_audit([tempfile.gettempdir()], before_deny=lambda *a: True,
                                     monitor_calls=False)()
        context.__enter__()
        _arm.keep = context
    else:
        raise SystemExit(f"unknown variant kind {kind!r}")


def child(args):
    import timeit

    _arm(args.kind, args.policy, args.mode, args.log)
    ns = _namespace()
    mark = None
    if args.mark:
        import bench_ext
        mark = bench_ext.mark
    names = args.events.split(",")
    timers = {e: timeit.Timer(EVENTS[e][0], globals=ns) for e in names}
    counts = {}
    for event in names:
        # A variant that makes an event very slow gets fewer iterations, not a longer run.
        # Calibrated for every event before any marked loop, so no loop's callgrind part
        # holds another event's calibration.
        timer = timers[event]
        timer.timeit(1)
        once = timer.timeit(1)
        nominal = EVENTS[event][2] if mark else EVENTS[event][1]
        counts[event] = max(1, min(int(nominal * args.scale), int(args.budget / max(once, 1e-9))))
    out = {}
    for event in names:
        n, timer = counts[event], timers[event]
        if mark:
            # Each callgrind part holds one loop and the writing of its records: the log
            # writer would otherwise write a loop's records during a later loop.
            _arm.settle()
            mark()
            timer.timeit(n)
            out[event] = {"n": n}
            continue
        timer.timeit(max(1, n // 10))  # warm-up: caches, allocator, the hook's own tables
        out[event] = {"n": n, "ns": [timer.timeit(n) * 1e9 / n for _ in range(args.repeats)]}
    if mark:
        _arm.settle()
        mark()
    json.dump(out, sys.stdout)


# ---- in the parent ----------------------------------------------------------------------

def build_ext(python, build_root):
    """Builds bench_ext for `python`; returns the directory to put on PYTHONPATH."""
    info = json.loads(subprocess.check_output([python, "-c", (
        "import json, sysconfig; print(json.dumps({'inc': sysconfig.get_paths()['include'], "
        "'suffix': sysconfig.get_config_var('EXT_SUFFIX'), 'ver': sysconfig.get_python_version()}))")]))
    out_dir = pathlib.Path(build_root) / f"py{info['ver']}"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"bench_ext{info['suffix']}"
    source = HERE / "bench_ext.c"
    if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
        subprocess.run(["cc", "-O2", "-g", "-shared", "-fPIC", f"-I{info['inc']}", str(source),
                        "-o", str(target)], check=True)
    return str(out_dir)


class Variant:
    """One hook configuration: `kind[:policy[:mode]]`, run by a given interpreter."""

    def __init__(self, spec, python):
        self.spec = spec
        parts = spec.split(":", 1)
        self.kind = parts[0]
        rest = parts[1] if len(parts) > 1 else ""
        self.policy, self.mode = rest, ""
        for m in ("enforce", "monitor"):
            if rest.endswith(":" + m):
                self.policy, self.mode = rest[: -len(m) - 1], m
        if self.policy and not self.policy.startswith("builtin:"):
            self.policy = os.path.abspath(self.policy)
        self.python = python

    def argv(self, events, scale, repeats, log, mark=False):
        out = [self.python, str(HERE / "event_matrix.py"), "--child", "--kind", self.kind,
               "--policy", self.policy, "--mode", self.mode, "--events", ",".join(events),
               "--scale", str(scale), "--repeats", str(repeats), "--log", log]
        return out + (["--mark"] if mark else [])


def _failed(what, err_path):
    tail = pathlib.Path(err_path).read_text(errors="replace").splitlines()[-15:]
    return RuntimeError(f"{what} failed:\n" + "\n".join(tail))


def _env(ext_dir):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AUDITWALL_", "MALWI_BOX")) and k not in ("LD_PRELOAD", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([ext_dir, str(HERE)])
    return env


def wall(variants, events, ext_dir, rounds, scale, repeats, workdir, errors=None):
    """{variant spec: {event: median ns per operation}}: children interleaved by round.

    With `errors` (a dict), a variant whose child fails is dropped and its error kept there;
    without, the failure raises."""
    samples = {v.spec: {e: [] for e in events} for v in variants}
    env = _env(ext_dir)
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            if errors is not None and v.spec in errors:
                continue
            log = os.path.join(workdir, f"log-{abs(hash(v.spec))}.txt")
            with open(log + ".stderr", "ab") as err:
                ran = subprocess.run(v.argv(events, scale, repeats, log), env=env,
                                     stdout=subprocess.PIPE, stderr=err, cwd=workdir,
                                     stdin=subprocess.DEVNULL, timeout=900)
            if ran.returncode != 0:
                failure = _failed(f"{v.spec} (exit {ran.returncode})", log + ".stderr")
                if errors is None:
                    raise failure
                errors[v.spec] = str(failure)
                del samples[v.spec]
                continue
            for event, res in json.loads(ran.stdout).items():
                samples[v.spec][event].append(statistics.median(res["ns"]))
    return {spec: {e: statistics.median(s) for e, s in per.items()}
            for spec, per in samples.items()}


def _callgrind_parts(prefix):
    """Total Ir of each dump, in dump order."""
    parts = []
    for path in pathlib.Path(prefix).parent.glob(pathlib.Path(prefix).name + "*"):
        part, total = 0, None
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("part:"):
                part = int(line.split()[1])
            elif line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
        if total is not None:
            parts.append((part, total))
    return [t for _, t in sorted(parts)]


def callgrind(variant, events, ext_dir, scale, workdir):
    """{event: instructions per operation} for one variant, from one run under callgrind."""
    prefix = os.path.join(workdir, f"cg-{abs(hash(variant.spec))}.out")
    for old in pathlib.Path(workdir).glob(pathlib.Path(prefix).name + "*"):
        old.unlink()
    log = os.path.join(workdir, f"cglog-{abs(hash(variant.spec))}.txt")
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={prefix}",
            f"--dump-before={MARK_SYMBOL}", "--trace-children=no",
            *variant.argv(events, scale, 1, log, mark=True)]
    # One hash seed for every variant: with a random one, the loop's own dict and set lookups
    # cost a different number of instructions in each run, and the ratios between variants
    # moved with it.
    env = {**_env(ext_dir), "PYTHONHASHSEED": "0"}
    with open(log + ".stderr", "ab") as err:
        ran = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=err,
                             cwd=workdir, stdin=subprocess.DEVNULL, timeout=1800)
    if ran.returncode != 0:
        raise _failed(f"{variant.spec} under callgrind", log + ".stderr")
    counts = json.loads(ran.stdout)
    parts = _callgrind_parts(prefix)
    # parts: [start-up, loop 1, loop 2, ..., loop N, the rest]
    if len(parts) < len(events) + 1:
        raise RuntimeError(f"callgrind gave {len(parts)} dumps for {len(events)} loops")
    return {e: parts[i + 1] / counts[e]["n"] for i, e in enumerate(events)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="none")
    parser.add_argument("--policy", default="")
    parser.add_argument("--mode", default="")
    parser.add_argument("--log", default=os.devnull)
    parser.add_argument("--mark", action="store_true")
    parser.add_argument("--events", default=",".join(EVENTS))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=0.1,
                        help="seconds at most per timed loop (fewer iterations if slower)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variant", action="append", default=[])
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    if args.child:
        return child(args)
    events = args.events.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        ext_dir = build_ext(sys.executable, os.path.join(tmp, "ext"))
        variants = [Variant(s, sys.executable) for s in args.variant or ["none", "empty-c"]]
        result = {"wall": wall(variants, events, ext_dir, args.rounds, args.scale,
                               args.repeats, tmp)}
        if args.callgrind:
            result["callgrind"] = {v.spec: callgrind(v, events, ext_dir, args.scale, tmp)
                                   for v in variants}
    json.dump(result, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
