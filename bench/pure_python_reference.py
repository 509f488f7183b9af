"""The pure-Python reference: auditwall's policy checks as a `sys.addaudithook` hook.

This is what a user would write instead of auditwall: the same YAML policy (version 1), the
same decisions (first applicable rule decides, `default`, per-rule `mode`, monitor mode) and
a log line per recorded decision, written as fast as Python allows: the policy is compiled at
load time into a dict from event name to a tuple of (rule, matcher) pairs, events no rule
selects return after one dict lookup, the log is buffered, and the hook uses only locals.

It supports the policy features the built-in policies and the benchmarks use (families,
sub-families, names and globs in `on`; the `shell`, `global`, `address`, `host`, `port`,
`path`, `executable`, `command`, `module`, `caller` matchers and `not`/`any`/`all`). A policy
using anything else is refused with NotImplementedError rather than decided differently.

    import pure_python_reference
    pure_python_reference.install("policy.yaml", mode="monitor", log=open(PATH, "w"))
    pure_python_reference.install("builtin:web-service")
"""

import fnmatch
import ipaddress
import json
import os
import pathlib
import re
import sys
import sysconfig

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The families of docs/policy.md (CPython 3.10 to 3.13), sub-family -> event names.
FAMILIES = {
    "code": ["exec", "compile", "cpython.run_command", "cpython.run_stdin",
             "cpython.run_interactivehook", "cpython.run_startup"],
    "deserialize": ["pickle.find_class", "marshal.loads", "marshal.load"],
    "process.exec": ["os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
                     "pty.spawn", "os.startfile", "os.startfile/2"],
    "process.fork": ["os.fork", "os.forkpty"],
    "process.signal": ["os.kill", "os.killpg", "signal.pthread_kill"],
    "network.connect": ["socket.connect", "http.client.connect", "ftplib.connect",
                        "smtplib.connect", "poplib.connect", "imaplib.open", "nntplib.connect",
                        "telnetlib.Telnet.open"],
    "network.bind": ["socket.bind"],
    "network.send": ["socket.sendto", "socket.sendmsg", "http.client.send", "ftplib.sendcmd",
                     "smtplib.send", "poplib.putline", "imaplib.send", "nntplib.putline",
                     "telnetlib.Telnet.write"],
    "network.resolve": ["socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                        "socket.getnameinfo", "socket.getservbyname", "socket.getservbyport"],
    "network.url": ["urllib.Request", "webbrowser.open"],
    "network.socket": ["socket.__new__", "socket.sethostname"],
    # `open` is in file.read or file.write by its mode; the rule's matcher sees the access.
    "file.read": ["open"],
    "file.write": ["open", "os.truncate", "os.mkdir", "shutil.copyfile", "shutil.copytree",
                   "shutil.make_archive", "shutil.unpack_archive", "tempfile.mkstemp",
                   "tempfile.mkdtemp"],
    "file.delete": ["os.remove", "os.rmdir", "shutil.rmtree"],
    "file.rename": ["os.rename", "os.link", "os.symlink", "shutil.move"],
    "file.meta": ["os.chmod", "os.chown", "os.chflags", "os.lchflags", "os.utime",
                  "os.setxattr", "os.removexattr", "shutil.chown", "shutil.copymode",
                  "shutil.copystat"],
    "file.list": ["os.listdir", "os.scandir", "os.listxattr", "os.getxattr", "glob.glob",
                  "glob.glob/2"],
    "import": ["import"],
    "native": ["ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata",
               "ctypes.cdata/buffer", "ctypes.addressof", "ctypes.call_function",
               "ctypes.create_string_buffer", "ctypes.create_unicode_buffer", "ctypes.get_errno",
               "ctypes.set_errno", "ctypes.get_last_error", "ctypes.set_last_error",
               "ctypes.set_exception", "ctypes.string_at", "ctypes.wstring_at",
               "ctypes.PyObj_FromPtr", "ctypes.seh_exception"],
    "tamper": ["sys.addaudithook", "sys.settrace", "sys.setprofile", "sys._current_frames",
               "sys._current_exceptions", "sys.monitoring.register_callback", "gc.get_objects",
               "gc.get_referrers", "gc.get_referents", "code.__new__", "function.__new__",
               "cpython.PyInterpreterState_New",
               "object.__setattr__", "object.__delattr__"],
    "env": ["os.putenv", "os.unsetenv"],
}
for _top in ("process", "network", "file"):
    FAMILIES[_top] = sorted({e for k, v in FAMILIES.items() if k.startswith(_top + ".") for e in v})
ALL_EVENTS = sorted({e for v in FAMILIES.values() for e in v})
# Attributes whose change alters what a function runs: the tamper family's object.__setattr__.
CODE_ATTRIBUTES = frozenset({"__code__", "__globals__", "__closure__", "__builtins__"})
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
STDLIB = sysconfig.get_paths()["stdlib"] + os.sep


def builtin_text(name):
    """The text of builtin:NAME, read from the C++ source that compiles it in."""
    source = (ROOT / "policy" / "src" / "builtin.cpp").read_text()
    for match in re.finditer(r'R"YAML\((.*?)\)YAML"', source, re.S):
        if match.group(1).startswith(f"# builtin:{name}:"):
            return match.group(1)
    raise ValueError(f"no built-in policy {name!r}")


def _globs(values):
    values = values if isinstance(values, list) else [values]
    return re.compile("|".join(fnmatch.translate(str(v)) for v in values)).match


def _path_globs(values):
    # ** crosses directories, * does not, as in auditwall's path matcher.
    parts = []
    for v in (values if isinstance(values, list) else [values]):
        v = os.path.expanduser(str(v))
        rx = re.escape(v).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace("\0", ".*")
        parts.append(rx.replace(r"\?", "[^/]") + r"\Z")
    return re.compile("|".join(parts)).match


# Field extractors: event args -> the value a matcher tests, or None when the event has none.
def _address(event, args):
    if event == "socket.connect" or event in ("socket.sendto", "socket.bind"):
        addr = args[-1] if event != "socket.bind" else args[1]
        if isinstance(addr, tuple) and addr:
            return addr
    return None


def _field(kind):
    if kind == "global":
        return lambda e, a: f"{a[0]}.{a[1]}" if e == "pickle.find_class" else None
    if kind in ("address", "host", "port"):
        index = {"address": 0, "host": 0, "port": 1}[kind]
        return lambda e, a: (t[index] if (t := _address(e, a)) is not None and len(t) > index
                             else None)
    if kind == "path":
        return lambda e, a: (os.fsdecode(a[0]) if a and isinstance(a[0], (str, bytes))
                             and (e == "open" or e.startswith(("os.", "shutil.")))
                             else None)
    if kind == "executable":
        def executable(e, a):
            if e == "subprocess.Popen":
                return os.fsdecode(a[0] if a[0] is not None else a[1][0] if isinstance(
                    a[1], (list, tuple)) else a[1])
            if e in ("os.exec", "os.posix_spawn", "os.spawn"):
                return os.fsdecode(a[0] if e != "os.spawn" else a[1])
            return None
        return executable
    if kind == "command":
        return lambda e, a: a[0] if e in ("os.system", "os.popen") else None
    if kind == "module":
        return lambda e, a: a[0] if e == "import" and isinstance(a[0], str) else None
    raise NotImplementedError(kind)


def _compile_match(spec):
    """A function (event, args) -> True (matches), False (does not), None (does not apply)."""
    if not spec:
        return lambda e, a: True
    tests = []
    for key, value in spec.items():
        if key == "not":
            inner = _compile_match(value)
            tests.append(lambda e, a, inner=inner: None if (r := inner(e, a)) is None else not r)
        elif key in ("any", "all"):
            inners = [_compile_match(v) for v in value]
            agg = any if key == "any" else all
            tests.append(lambda e, a, inners=inners, agg=agg: (
                None if None in (rs := [f(e, a) for f in inners]) else agg(rs)))
        elif key == "shell":
            def shell(e, a, want=bool(value)):
                if e in ("os.system", "os.popen"):
                    return want
                if e == "subprocess.Popen":
                    argv = a[1] if isinstance(a[1], (list, tuple)) else [a[1]]
                    is_shell = (len(argv) > 1 and os.path.basename(os.fsdecode(argv[0])) in SHELLS
                                and argv[1] == "-c")
                    return is_shell == want
                return None
            tests.append(shell)
        elif key == "address":
            nets = [ipaddress.ip_network(str(v), strict=False)
                    for v in (value if isinstance(value, list) else [value])]
            cache = {}

            def address(e, a, nets=nets, cache=cache, get=_field("address")):
                host = get(e, a)
                if not isinstance(host, str):
                    return None
                hit = cache.get(host)
                if hit is None:
                    try:
                        ip = ipaddress.ip_address(host)
                        if getattr(ip, "ipv4_mapped", None):
                            ip = ip.ipv4_mapped
                        hit = any(ip in n for n in nets)
                    except ValueError:
                        hit = False
                    if len(cache) < 4096:
                        cache[host] = hit
                return hit
            tests.append(address)
        elif key == "port":
            ports = set(value if isinstance(value, list) else [value])
            get = _field("port")
            tests.append(lambda e, a, get=get: None if (p := get(e, a)) is None else p in ports)
        elif key == "caller":
            values = value if isinstance(value, list) else [value]
            want_stdlib = "stdlib" in values
            modules = _globs([v for v in values if v != "stdlib"] or ["\0"])

            def caller(e, a, want_stdlib=want_stdlib, modules=modules):
                frame = sys._getframe(2)  # the frame that raised the event
                if want_stdlib and frame.f_code.co_filename.startswith(STDLIB):
                    return True
                return bool(modules(frame.f_globals.get("__name__", "")))
            tests.append(caller)
        else:
            get = _field(key)
            test = _path_globs(value) if key in ("path", "executable") else (
                _globs([str(v).lower() for v in value]) if key == "host" else _globs(value))
            lower = key == "host"
            tests.append(lambda e, a, get=get, test=test, lower=lower: (
                None if not isinstance(v := get(e, a), str)
                else test(v.lower().rstrip(".") if lower else v) is not None))
    if len(tests) == 1:
        return tests[0]

    def every(e, a):
        for t in tests:
            r = t(e, a)
            if not r:
                return r
        return True
    return every


def _selects(on):
    names = on if isinstance(on, list) else [on]
    out = set()
    for name in names:
        if name in FAMILIES:
            out.update(FAMILIES[name])
        elif any(c in name for c in "*?["):
            out.update(e for e in ALL_EVENTS if fnmatch.fnmatchcase(e, name))
        else:
            out.add(name)
    return out


def _open_selected(families, args):
    """Whether `open` with these args falls in a rule naming file.read/file.write only."""
    mode, flags = args[1], args[2]
    if isinstance(mode, str):
        writes = any(c in mode for c in "wax+")
        reads = "r" in mode or "+" in mode
    elif isinstance(flags, int) and flags >= 0:
        writes = bool(flags & WRITE_FLAGS)
        reads = not flags & os.O_WRONLY
    else:
        writes = reads = True
    return (reads and "file.read" in families) or (writes and "file.write" in families)


def compile_policy(text):
    """(table, mode, default): table maps an event name to its (rule, test) pairs."""
    import yaml

    doc = yaml.safe_load(text)
    mode = doc.get("mode", "enforce")
    default = doc.get("default", "allow")
    table = {}
    for rule in doc.get("rules") or []:
        on = rule["on"] if "on" in rule else rule[True]  # YAML 1.1 reads the key `on` as true
        on = on if isinstance(on, list) else [on]
        test = _compile_match(rule.get("match"))
        families = {n for n in on if n in ("file.read", "file.write")}
        plain_file = "file" in on or "open" in on
        if families and not plain_file:
            inner = test

            def test(e, a, inner=inner, families=families):
                if e == "open" and not _open_selected(families, a):
                    return None
                return inner(e, a)
        if "tamper" in on and "object.__setattr__" not in on:
            inner_t = test

            def test(e, a, inner=inner_t):
                if e in ("object.__setattr__", "object.__delattr__") and a[1] not in CODE_ATTRIBUTES:
                    return None
                return inner(e, a)
        entry = (rule["id"], rule["action"], rule.get("mode"), test)
        for event in _selects(on):
            table.setdefault(event, []).append(entry)
    return {k: tuple(v) for k, v in table.items()}, mode, default


# Events a default: deny never denies (docs/policy.md): a program could not start otherwise.
NEVER_DEFAULT_DENIED = frozenset({"import", "marshal.loads", "marshal.load", "os.listdir",
                                  "os.scandir"})


def install(policy, mode=None, log=None):
    """Arms the reference hook with a policy file or builtin:NAME in this process."""
    text = (builtin_text(policy[len("builtin:"):]) if policy.startswith("builtin:")
            else pathlib.Path(policy).read_text())
    table, policy_mode, default = compile_policy(text)
    monitor = (mode or policy_mode) == "monitor"
    out = log if log is not None else sys.stderr
    write = out.write
    lookup = table.get
    dumps = json.dumps
    pid = os.getpid()
    busy = [False]

    def record(event, decision, rule, args):
        text_args = repr(args)
        if len(text_args) > 200:
            text_args = text_args[:200] + "..."
        write(f'{{"schema":1,"pid":{pid},"event":{dumps(event)},"decision":"{decision}",'
              f'"rule":"{rule}","args":{dumps(text_args)}}}\n')

    def hook(event, args):
        plan = lookup(event)
        if plan is None or busy[0]:
            return
        busy[0] = True
        try:
            for rule_id, action, rule_mode, test in plan:
                if test(event, args):
                    break
            else:
                if default == "deny" and event not in NEVER_DEFAULT_DENIED:
                    rule_id, action, rule_mode = "default", "deny", None
                else:
                    return
            if action == "allow":
                return
            if action == "log":
                record(event, "log", rule_id, args)
                return
            if monitor or rule_mode == "monitor":
                record(event, "would-deny", rule_id, args)
                return
            record(event, "deny", rule_id, args)
            raise PermissionError(f"{event} blocked by rule {rule_id}")
        finally:
            busy[0] = False

    sys.addaudithook(hook)
    return hook
