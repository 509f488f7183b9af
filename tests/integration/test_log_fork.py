"""The event log around fork, kill and exit: nothing written twice, nothing lost, no deadlock."""

import collections

import pytest

from log_records import check, decisions, parse

POLICY = """\
version: 1
rules:
  - id: app-event
    on: app.event
    action: log
  - id: app-kill
    on: app.kill
    action: kill
"""

# The parent logs 5 records, forks; the child logs 3 and exits; the parent logs 2 more.
# With -W error::DeprecationWarning, CPython 3.12+ would raise in os.fork() if auditwall's
# writer thread were still running at the fork.
FORK = """\
import os, sys
for i in range(5):
    sys.audit("app.event", "parent", i)
pid = os.fork()
if pid == 0:
    for i in range(3):
        sys.audit("app.event", "child", i)
    sys.exit(0)
_, status = os.waitpid(pid, 0)
for i in range(5, 7):
    sys.audit("app.event", "parent", i)
print("parent", os.getpid(), "child", pid, "status", status)
"""

# A thread logs without pause while the main thread forks 20 children, each of which logs
# once and exits. The thread writes tens of thousands of records (over a hundred thousand on
# CPython 3.13, where each fork takes longer).
FORK_UNDER_LOAD = """\
import os, sys, threading
stop = False
def hammer():
    i = 0
    while not stop:
        sys.audit("app.event", "thread", i)
        i += 1
thread = threading.Thread(target=hammer)
thread.start()
children = []
for n in range(20):
    pid = os.fork()
    if pid == 0:
        sys.audit("app.event", "child", n)
        sys.exit(0)
    children.append(pid)
statuses = [os.waitpid(pid, 0)[1] for pid in children]
stop = True
thread.join()
print("children", " ".join(map(str, children)), "statuses", set(statuses))
"""


def test_fork_writes_each_record_once_and_the_child_starts_clean(tmp_path, policy_file,
                                                                  auditwall_run):
    script = tmp_path / "fork.py"
    script.write_text(FORK)
    log = tmp_path / "events.jsonl"
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"file:{log}", "-W",
                        "error::DeprecationWarning", script, timeout=60)
    assert ran.returncode == 0, ran
    words = ran.lines[-1].split()
    parent, child, status = int(words[1]), int(words[3]), words[5]
    assert status == "0", ran
    records = decisions(parse(log.read_text()))
    mine = [r for r in records if r["pid"] == parent]
    theirs = [r for r in records if r["pid"] == child]
    assert [r["args"]["call"] for r in mine] == [f"app.event('parent', {i})" for i in range(7)]
    assert [r["seq"] for r in mine] == list(range(1, 8))
    assert [r["args"]["call"] for r in theirs] == [f"app.event('child', {i})" for i in range(3)]
    # The child's own numbering: it does not continue (or repeat) the parent's records.
    assert [r["seq"] for r in theirs] == [1, 2, 3]
    assert {r["tid"] for r in theirs} == {child}
    # Flushed at the fork: the parent's first five records are in the file before the child's.
    position = {id(r): n for n, r in enumerate(records)}
    assert max(position[id(r)] for r in mine[:5]) < min(position[id(r)] for r in theirs)


def test_fork_while_another_thread_logs_does_not_deadlock(tmp_path, policy_file, auditwall_run):
    script = tmp_path / "fork_load.py"
    script.write_text(FORK_UNDER_LOAD)
    log = tmp_path / "events.jsonl"
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"file:{log},rate_limit=0",
                        script, timeout=120)
    assert ran.returncode == 0, ran
    words = ran.lines[-1].split()
    children = [int(w) for w in words[1:21]]
    assert words[22:] == ["{0}"], ran
    by_pid = collections.defaultdict(list)
    # Validated against the schema below: the children's records and the parent's first and
    # last thousand, not each of the thread's.
    for record in decisions(parse(log.read_text(), validate=False)):
        by_pid[record["pid"]].append(record)
    for n, pid in enumerate(children):
        # Each child wrote its own record, and nothing of the parent's.
        assert [r["args"]["call"] for r in by_pid[pid]] == [f"app.event('child', {n})"], pid
        check(by_pid[pid][0])
    parent = [pid for pid in by_pid if pid not in children]
    assert len(parent) == 1
    seqs = [r["seq"] for r in by_pid[parent[0]]]
    assert seqs == list(range(1, len(seqs) + 1)), "the parent lost or repeated records"
    for record in by_pid[parent[0]][:1000] + by_pid[parent[0]][-1000:]:
        check(record)


def test_kill_writes_the_record_of_why_before_the_process_ends(tmp_path, policy_file,
                                                               auditwall_run):
    marker = tmp_path / "after-kill"
    log = tmp_path / "events.jsonl"
    code = ("import sys\nfor i in range(50):\n    sys.audit('app.event', i)\n"
            f"sys.audit('app.kill', 'now')\nopen({str(marker)!r}, 'w').close()\n")
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"file:{log}", "-c", code)
    assert ran.returncode in (-9, 137), ran
    assert not marker.exists()
    records = decisions(parse(log.read_text()))
    assert len(records) == 51, records
    assert records[-1]["event"] == "app.kill" and records[-1]["decision"] == "kill", records[-1]


def test_records_are_flushed_at_normal_exit(tmp_path, policy_file, auditwall_run):
    """The writer batches for up to 50 ms; a program that exits at once loses nothing."""
    log = tmp_path / "events.jsonl"
    ran = auditwall_run("--policy", policy_file(POLICY), "--log", f"file:{log},rate_limit=0",
                        "-c", "import sys\nfor i in range(1000):\n    sys.audit('app.event', i)\n")
    assert ran.returncode == 0, ran
    assert len(decisions(parse(log.read_text()), "app.event")) == 1000
