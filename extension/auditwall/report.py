"""auditwall report LOG...: a readable summary of auditwall's event log (docs/log-schema.md)."""

import collections
import json
import sys

# Decisions in the order the report shows them, with their headings.
SECTIONS = [
    ("kill", "Killed"),
    ("deny", "Denied"),
    ("would-deny", "Would have been denied (monitor mode)"),
    ("log", "Logged"),
    ("allow", "Allowed"),
]


def _lines(path):
    if path == "-":
        yield from sys.stdin
        return
    with open(path, encoding="utf-8", errors="replace") as stream:
        yield from stream


def read_records(paths, errors):
    """Yields the JSON records of the logs at `paths` ("-" is stdin). Lines that are not JSON
    records (a program's own stderr mixed in) are skipped; unreadable files go to `errors`."""
    for path in paths:
        try:
            for line in _lines(path):
                start = line.find("{")
                if start < 0:
                    continue
                try:
                    record = json.loads(line[start:])  # a syslog line has a prefix
                except ValueError:
                    continue
                if isinstance(record, dict) and "schema" in record and "event" in record:
                    yield record
        except OSError as e:
            errors.append(f"{path}: {e.strerror}")


def caller_module(record):
    caller = record.get("caller")
    if isinstance(caller, dict) and caller.get("module"):
        return caller["module"]
    return "an unknown caller"


def example_of(record):
    args = record.get("args") or {}
    text = args.get("call") or record["event"]
    caller = record.get("caller")
    if isinstance(caller, dict) and caller.get("file"):
        text += f"  at {caller['file']}:{caller.get('line', 0)}"
    return text


class Summary:
    """Counts by decision, rule, event and calling module, with a few examples each."""

    def __init__(self, examples=3):
        self.examples = examples
        self.records = 0
        self.pids = set()
        self.policies = set()
        self.first = None
        self.last = None
        # decision -> rule -> event -> caller -> [count, [examples]]
        self.groups = collections.defaultdict(
            lambda: collections.defaultdict(lambda: collections.defaultdict(dict)))
        self.dropped = 0
        self.sink_errors = 0
        self.summaries = []

    def add(self, record):
        self.records += 1
        self.pids.add(record.get("pid"))
        if record.get("policy"):
            self.policies.add(record["policy"])
        ts = record.get("ts")
        if ts:
            self.first = ts if self.first is None else min(self.first, ts)
            self.last = ts if self.last is None else max(self.last, ts)
        event = record["event"]
        if event == "auditwall.summary":
            self.summaries.append(record)
            self.sink_errors += (record.get("args") or {}).get("sink_errors", 0)
            return
        count = 1
        if event == "auditwall.rate-limit":
            args = record.get("args") or {}
            count = args.get("dropped", 0)
            self.dropped += count
            event = args.get("event", event)
        rule = record.get("rule") or "(default)"
        slot = self.groups[record.get("decision", "?")][rule][event].setdefault(
            caller_module(record), [0, []])
        slot[0] += count
        if record["event"] != "auditwall.rate-limit" and len(slot[1]) < self.examples:
            example = example_of(record)
            if example not in slot[1]:
                slot[1].append(example)

    def render(self, out):
        span = f", {self.first} to {self.last}" if self.first else ""
        out.write(f"{self.records} records from {len(self.pids)} process(es){span}\n")
        if self.policies:
            out.write(f"policy hash: {', '.join(sorted(self.policies))}\n")
        if self.dropped:
            out.write(f"{self.dropped} identical records were rate-limited (counted below)\n")
        if self.sink_errors:
            out.write(f"warning: the log sink failed {self.sink_errors} time(s); records may "
                      f"be missing\n")
        for decision, heading in SECTIONS:
            rules = self.groups.get(decision)
            if not rules:
                continue
            total = sum(slot[0] for events in rules.values() for callers in events.values()
                        for slot in callers.values())
            out.write(f"\n{heading}: {total}\n")
            for rule, events in sorted(rules.items(), key=lambda kv: -_total(kv[1])):
                out.write(f"  rule {rule}: {_total(events)}\n")
                for event, callers in sorted(events.items(), key=lambda kv: -_total({0: kv[1]})):
                    for caller, (count, examples) in sorted(callers.items(),
                                                            key=lambda kv: -kv[1][0]):
                        out.write(f"    {event} from {caller}: {count}\n")
                        for example in examples:
                            out.write(f"      e.g. {example}\n")
        for record in self.summaries:
            counters = (record.get("args") or {}).get("rules", {})
            busy = {rule: c for rule, c in counters.items() if any(c.values())}
            if busy:
                out.write(f"\nCounters at exit of process {record.get('pid')}:\n")
                for rule, c in busy.items():
                    out.write(f"  {rule}: allowed {c['allowed']}, denied {c['denied']}, "
                              f"would-deny {c['would_deny']}\n")


def _total(events):
    return sum(slot[0] for callers in events.values() for slot in callers.values())


USAGE = "usage: auditwall report [--examples N] LOG...   (LOG may be - for stdin)\n"


def main(argv):
    examples = 3
    paths = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        if arg == "--examples" and i + 1 < len(argv) and argv[i + 1].isdigit():
            examples = int(argv[i + 1])
            i += 2
            continue
        paths.append(arg)
        i += 1
    if not paths:
        sys.stderr.write("auditwall: report needs at least one LOG\n" + USAGE)
        return 2
    errors = []
    summary = Summary(examples)
    for record in read_records(paths, errors):
        summary.add(record)
    for error in errors:
        sys.stderr.write(f"auditwall: report: {error}\n")
    summary.render(sys.stdout)
    return 1 if errors else 0
