"""auditwall policy generate LOG... -o policy.yaml: a least-privilege policy learned from the
event log of a run under builtin:monitor-all (docs/learning.md)."""

import collections
import datetime
import ipaddress
import json
import os
import posixpath
import sys

from .report import read_records

# Decisions that say the operation happened, and so was part of the workload. A `deny` or
# `kill` did not happen: it is never learned.
LEARNED = {"log", "allow", "would-deny"}

# Files written under these are generalised to one directory pattern per distinct directory;
# a directory with this many written entries or more becomes DIR/**.
MANY_FILES = 3
# A group of records keeps its calling modules as a `caller` matcher when there are at most
# this many of them, all known.
MAX_CALLERS = 5

# Families closed at the end of the policy, each by a deny rule, so that what the workload
# never did is denied. The policy's default stays `allow`: imports, plain reads, listings and
# marshal, which an interpreter makes by the thousand, and events a closing rule does not
# apply to (a write to an inherited file descriptor) are left open.
CLOSING = [
    ("process", "process", None),
    ("network", "network", None),
    # Only changes to named files: writes to an inherited file descriptor (stdout) have no path.
    ("file-changes", ["file.write", "file.delete", "file.rename", "file.meta"], {"path": ["/**"]}),
    ("pickle", "pickle.find_class", None),
    ("dynamic-code", ["exec", "compile"], {"origin": "dynamic"}),
    ("native-code", "native", None),
    ("tampering", "tamper", None),
    ("environment", "env", None),
]

FILE_WRITE_EVENTS = {"os.truncate", "os.mkdir", "shutil.copyfile", "shutil.copytree",
                     "shutil.make_archive", "shutil.unpack_archive", "tempfile.mkstemp",
                     "tempfile.mkdtemp"}
FILE_SUBFAMILY = {
    "os.remove": "file.delete", "os.rmdir": "file.delete", "shutil.rmtree": "file.delete",
    "os.rename": "file.rename", "os.link": "file.rename", "os.symlink": "file.rename",
    "shutil.move": "file.rename",
    "os.chmod": "file.meta", "os.chown": "file.meta", "os.chflags": "file.meta",
    "os.lchflags": "file.meta", "os.utime": "file.meta", "os.setxattr": "file.meta",
    "os.removexattr": "file.meta", "shutil.chown": "file.meta", "shutil.copymode": "file.meta",
    "shutil.copystat": "file.meta",
}


def file_subfamily(record):
    """file.read, file.write, file.delete, file.rename, file.meta, or None (a listing)."""
    event, args = record["event"], record.get("args") or {}
    if event in FILE_SUBFAMILY:
        return FILE_SUBFAMILY[event]
    if event in FILE_WRITE_EVENTS:
        return "file.write"
    if event == "open":
        mode = args.get("open_mode")
        if mode is not None:
            return "file.write" if any(c in mode for c in "wax+") else "file.read"
        flags = args.get("flags")
        if flags is not None:
            return "file.write" if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC |
                                            os.O_APPEND) else "file.read"
        return "file.write"  # neither: both read and write select it
    return None


class Group:
    """Records that one rule will allow: how many, from whom, and an example."""

    def __init__(self):
        self.count = 0
        self.events = collections.Counter()
        self.callers = set()
        self.unknown_caller = False
        self.values = collections.defaultdict(set)
        self.example = None

    def add(self, record, **values):
        self.count += 1
        self.events[record["event"]] += 1
        caller = record.get("caller")
        if isinstance(caller, dict) and caller.get("module"):
            self.callers.add(caller["module"])
        else:
            self.unknown_caller = True
        for key, value in values.items():
            if value is not None:
                self.values[key].add(value)
        if self.example is None:
            self.example = (record.get("args") or {}).get("call") or record["event"]

    def comment(self):
        events = ", ".join(f"{e} x{n}" for e, n in self.events.most_common())
        lines = [f"learned from {self.count} record(s): {events}"]
        if self.callers:
            lines.append("called from: " + ", ".join(sorted(self.callers)))
        lines.append(f"e.g. {self.example}")
        return lines

    def caller_match(self):
        if self.callers and not self.unknown_caller and len(self.callers) <= MAX_CALLERS:
            return sorted(self.callers)
        return None


def is_address(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def absolute(path, cwd):
    if path.startswith("/"):
        return posixpath.normpath(path)
    if cwd and cwd.startswith("/"):
        return posixpath.normpath(posixpath.join(cwd, path))
    return None


def generalise(paths):
    """Patterns that cover `paths`: DIR/** where a directory holds MANY_FILES or more of them,
    or PARENT/** where MANY_FILES or more sibling directories do; the exact paths otherwise."""
    by_dir = collections.defaultdict(set)
    for path in paths:
        by_dir[posixpath.dirname(path) or "/"].add(path)
    patterns = set()
    parents = collections.Counter(posixpath.dirname(d) for d in by_dir)
    for directory, files in by_dir.items():
        parent = posixpath.dirname(directory)
        if parents[parent] >= MANY_FILES and parent not in ("/", ""):
            patterns.add(parent.rstrip("/") + "/**")
        elif len(files) >= MANY_FILES:
            patterns.add(directory.rstrip("/") + "/**")
        else:
            patterns.update(files)
    # Drop what a broader DIR/** already covers.
    trees = sorted(p[:-3] for p in patterns if p.endswith("/**"))
    return sorted(p for p in patterns
                  if not any(p != t + "/**" and (p == t or p.startswith(t + "/")) for t in trees))


class Learner:
    def __init__(self):
        self.records = 0
        self.learned = 0
        self.skipped = collections.Counter()
        self.rate_limited = 0
        self.sources = set()
        self.groups = collections.OrderedDict()

    def group(self, key):
        if key not in self.groups:
            self.groups[key] = Group()
        return self.groups[key]

    def add(self, record):
        self.records += 1
        event, family = record["event"], record.get("family")
        if event == "auditwall.rate-limit":
            self.rate_limited += (record.get("args") or {}).get("dropped", 0)
            return
        if event.startswith("auditwall."):
            return
        if record.get("decision") not in LEARNED:
            self.skipped[record.get("decision")] += 1
            return
        if record.get("policy"):
            self.sources.add(record["policy"])
        args = record.get("args") or {}
        self.learned += 1
        if family == "process":
            target = args.get("executable") or (args.get("argv") or [None])[0]
            self.group(("process", event if target is None else None)).add(
                record, executable=target)
        elif family == "network":
            self.add_network(record, event, args)
        elif family == "file":
            sub = file_subfamily(record)
            if sub in (None, "file.read"):
                return  # reads and listings are never denied by default
            path = absolute(args.get("path") or "", args.get("cwd"))
            if path is None:
                self.group(("file-event", sub, event)).add(record)
            else:
                self.group(("file", sub)).add(record, path=path)
        elif event == "pickle.find_class":
            self.group(("pickle",)).add(record, global_=args.get("global"))
        elif event in ("exec", "compile"):
            if args.get("code_origin") == "dynamic":
                self.group(("code",)).add(record)
        elif family == "native":
            self.group(("native", event)).add(record, path=args.get("path"))
        elif family == "tamper":
            self.group(("tamper", event)).add(record, attribute=args.get("attribute"))
        elif family == "env":
            self.group(("env", event)).add(record, env=args.get("env_key"))

    def add_network(self, record, event, args):
        host, port = args.get("host"), args.get("port")
        if args.get("address_family") == "AF_UNIX":
            self.group(("unix", event)).add(record, unix=args.get("path") or host)
        elif host is not None and is_address(host):
            self.group(("address", event, host)).add(record, port=port)
        elif host is not None:
            self.group(("host", event, host.lower())).add(record, port=port)
        else:
            self.group(("network-event", event)).add(record)

    # ---- output ----------------------------------------------------------------------------

    def rules(self):
        """(comment lines, rule dict) for every group, in a stable order."""
        out = []
        counters = collections.Counter()

        def rule_id(stem):
            counters[stem] += 1
            return stem if counters[stem] == 1 else f"{stem}-{counters[stem]}"

        for key, group in self.groups.items():
            kind = key[0]
            events = sorted(group.events)
            match = {}
            if kind == "process":
                executables = sorted(group.values.get("executable", ()))
                if executables:
                    match["executable"] = executables
                stem = "allow-process"
            elif kind in ("address", "host"):
                host = key[2]
                if kind == "address":
                    network = ipaddress.ip_network(host)
                    match["address"] = [str(network)]
                else:
                    match["host"] = [host]
                ports = sorted(group.values.get("port", ()))
                if ports:
                    match["port"] = ports
                stem = "allow-" + key[1].replace(".", "-") + "-" + host.replace(":", "-")
            elif kind == "unix":
                paths = sorted(p for p in group.values.get("unix", ()) if p)
                if paths:
                    match["unix"] = paths
                stem = "allow-unix-socket"
            elif kind == "file":
                match["path"] = generalise(group.values["path"])
                events = [key[1]]
                stem = "allow-" + key[1].replace(".", "-")
            elif kind == "pickle":
                globals_ = sorted(group.values.get("global_", ()))
                if globals_:
                    match["global"] = globals_
                stem = "allow-pickle-globals"
            elif kind == "code":
                match["origin"] = "dynamic"
                stem = "allow-dynamic-code"
            elif kind == "native":
                paths = sorted(group.values.get("path", ()))
                if paths:
                    match["path"] = paths
                stem = "allow-native-code"
            elif kind == "tamper":
                stem = "allow-" + key[1].replace(".", "-").replace("_", "")
            elif kind == "env":
                keys = sorted(group.values.get("env", ()))
                if keys:
                    match["env"] = keys
                stem = "allow-environment"
            else:
                stem = "allow-" + key[-1].replace(".", "-")
            callers = group.caller_match()
            if callers:
                match["caller"] = callers
            rule = {"id": rule_id(stem.strip("-").lower()), "on": events}
            comment = group.comment()
            if match:
                rule["match"] = match
            elif kind != "code":
                comment.append("WARNING: the log gave no arguments to narrow this rule: it "
                               "allows every " + ", ".join(events) + " event")
            rule["action"] = "allow"
            out.append((comment, rule))
        return out

    def render(self, logs):
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            "# Generated by `auditwall policy generate` on " + now + ".",
            f"# Learned from {self.learned} of {self.records} records in: " + ", ".join(logs),
            "# Every allow rule below names what it was learned from. Review it, then run the",
            "# program under it in monitor mode before enforcing it.",
        ]
        if self.skipped:
            lines.append("# Not learned (the operation did not happen): " + ", ".join(
                f"{n} {d}" for d, n in sorted(self.skipped.items())))
        if self.rate_limited:
            lines.append(f"# WARNING: {self.rate_limited} records were rate-limited and not seen;"
                         " learn from a run with --log ...,rate_limit=0")
        lines += ["version: 1", "mode: enforce",
                  "# What the workload did is allowed by the rules below; the rules at the end",
                  "# deny the rest of each family.",
                  "default: allow", "rules:"]
        for comment, rule in self.rules():
            lines.append("")
            lines += ["  # " + c for c in comment]
            lines += emit_rule(rule)
        lines.append("")
        lines.append("  # What the workload never did: closed.")
        for name, on, match in CLOSING:
            rule = {"id": "deny-other-" + name, "on": on}
            if match:
                rule["match"] = match
            rule["action"] = "deny"
            lines += emit_rule(rule)
        return "\n".join(lines) + "\n"


def scalar(value):
    """A YAML scalar for `value`: JSON's quoting is valid YAML and keeps every string a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def flow(value):
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    return scalar(value)


def emit_rule(rule):
    lines = [f"  - id: {rule['id']}", f"    on: {flow(rule['on'])}"]
    if "match" in rule:
        lines.append("    match:")
        for key, value in rule["match"].items():
            lines.append(f"      {key}: {flow(value)}")
    lines.append(f"    action: {rule['action']}")
    return lines


USAGE = "usage: auditwall policy generate LOG... -o POLICY.yaml\n"


def main(argv):
    output = None
    logs = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-o", "--output") and i + 1 < len(argv):
            output = argv[i + 1]
            i += 2
        elif argv[i] in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        else:
            logs.append(argv[i])
            i += 1
    if not logs or not output:
        sys.stderr.write("auditwall: policy generate needs LOG... and -o POLICY.yaml\n" + USAGE)
        return 2
    errors = []
    learner = Learner()
    for record in read_records(logs, errors):
        learner.add(record)
    for error in errors:
        sys.stderr.write(f"auditwall: policy generate: {error}\n")
    if errors:
        return 1
    if learner.learned == 0:
        sys.stderr.write("auditwall: policy generate: no decision records in the log(s); run "
                         "the program with --policy builtin:monitor-all first\n")
        return 1
    text = learner.render(logs)
    with open(output, "w", encoding="utf-8") as out:
        out.write(text)
    from . import _core

    ok, report = _core.check_policy(output)
    sys.stderr.write(report)
    if not ok:
        sys.stderr.write(f"auditwall: policy generate: {output} does not load; this is a bug\n")
        return 1
    print(f"{output}: {len(learner.groups)} allow rules learned from {learner.learned} records")
    return 0
