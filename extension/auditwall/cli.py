"""The auditwall command line: run a program under a policy, check a policy."""

import os
import sys

USAGE = """\
usage: auditwall run [--policy PATH|builtin:NAME] [--mode enforce|monitor] [--log SINK] [--] (SCRIPT | -m MODULE | -c CODE) [ARGS...]
       auditwall policy check FILE...
       auditwall policy explain FILE --event NAME [ARG...]
       auditwall policy generate LOG... -o POLICY.yaml
       auditwall report [--examples N] LOG...
       auditwall --version
"""

EXIT_USAGE = 2


def _fail_usage(message):
    sys.stderr.write(f"auditwall: {message}\n{USAGE}")
    return EXIT_USAGE


def _check(paths):
    from . import _core

    if not paths:
        return _fail_usage("policy check needs at least one FILE")
    status = 0
    for path in paths:
        ok, report = _core.check_policy(path)
        if report:
            sys.stderr.write(report)
        if ok:
            # Contradictions between the audit rules and the kernel layer are warnings: the
            # policy works, but auditwall-launch would stop what the audit rules allow.
            for note in _core.seccomp_notes(path):
                sys.stderr.write(f"{path}: warning: seccomp: {note}\n")
            print(f"{path}: ok")
        else:
            status = 1
    return status


def _explain(argv):
    # The decision is the policy library's own, so the explanation comes from a small native
    # tool built with it (policy/tools), not from a second implementation in Python.
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "auditwall-policy")
    if len(argv) < 3 or argv[1] != "--event":
        return _fail_usage("policy explain needs FILE --event NAME [ARG...]")
    if not os.access(tool, os.X_OK):
        sys.stderr.write(f"auditwall: cannot find {tool}; reinstall auditwall\n")
        return 1
    import subprocess

    sys.stdout.flush()
    return subprocess.run([tool, "explain"] + list(argv)).returncode


def _preload_path():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "libauditwall-preload.so")


def _policy_ref(ref):
    """An absolute path, so that children in other directories find the same policy."""
    return ref if ref.startswith("builtin:") else os.path.abspath(ref)


def _run(argv):
    options = {
        "--policy": os.environ.get("AUDITWALL_POLICY"),
        "--mode": os.environ.get("AUDITWALL_MODE"),
        "--log": os.environ.get("AUDITWALL_LOG"),
    }
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        name, eq, value = arg.partition("=")
        if name not in options:
            break
        if not eq:
            if i + 1 >= len(argv):
                return _fail_usage(f"{arg} needs a value")
            value = argv[i + 1]
            i += 1
        options[name] = value
        i += 1
    policy, mode, log = options["--policy"], options["--mode"], options["--log"]
    program = argv[i:]
    if not program:
        return _fail_usage("run needs a program: SCRIPT, -m MODULE or -c CODE")
    if program[0] in ("-m", "-c") and len(program) < 2:
        return _fail_usage(f"{program[0]} needs an argument")
    if not policy:
        return _fail_usage("run needs --policy (or AUDITWALL_POLICY)")
    if mode not in (None, "", "enforce", "monitor"):
        return _fail_usage(f"unknown mode '{mode}'; use enforce or monitor")

    from . import _core

    policy = _policy_ref(policy)
    # Load and check here, so that a broken policy is reported before the program starts. The
    # program's interpreter arms from the compiled form, with no YAML parser; it loads the
    # file itself, and refuses to start if it has become unusable, only when the file changed.
    ok, report, compiled = _core.compile_policy(policy)
    sys.stderr.write(report)
    if not ok:
        sys.stderr.write("auditwall: refusing to start: the policy cannot be used\n")
        return _core.EXIT_POLICY_ERROR

    env = dict(os.environ)
    env["AUDITWALL_POLICY"] = policy
    env[_core.COMPILED_VARIABLE] = compiled
    if mode:
        env["AUDITWALL_MODE"] = mode
    if log:
        if log.startswith("file:"):  # the program may change directory before it logs
            sink, comma, options = log.partition(",")
            log = "file:" + os.path.abspath(sink[5:]) + comma + options
        env["AUDITWALL_LOG"] = log  # docs/log-schema.md says what SPEC can be
    preload = _preload_path()
    existing = [p for p in env.get("LD_PRELOAD", "").split() if p and p != preload]
    env["LD_PRELOAD"] = " ".join([preload] + existing)
    sys.stdout.flush()
    sys.stderr.flush()
    # exec, not a child: the program keeps this process's pid, stdin, signals and exit status.
    os.execve(sys.executable, [sys.executable] + program, env)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else EXIT_USAGE
    if argv[0] == "--version":
        from . import __version__

        print(f"auditwall {__version__}")
        return 0
    if argv[0] == "run":
        return _run(argv[1:])
    if argv[0] == "policy" and len(argv) >= 2 and argv[1] == "check":
        return _check(argv[2:])
    if argv[0] == "policy" and len(argv) >= 2 and argv[1] == "explain":
        return _explain(argv[2:])
    if argv[0] == "policy" and len(argv) >= 2 and argv[1] == "generate":
        from .generate import main as generate

        return generate(argv[2:])
    if argv[0] == "report":
        from .report import main as report

        return report(argv[1:])
    return _fail_usage(f"unknown command '{' '.join(argv[:2])}'")
