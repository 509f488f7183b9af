"""Drives the demo: starts the vulnerable service (plain, or under auditwall-launch with a
policy), sends it normal traffic and every attack with a real HTTP client over loopback, and
reports what happened to each request.

The whole run happens inside a fresh, empty network namespace (`unshare -n`), where the SSRF
targets (169.254.169.254 and a private address) are put on `lo` and served by fake servers:
nothing the service is tricked into fetching can leave the machine.

usage: driver.py [--without-auditwall | --monitor | --policy FILE] [--json FILE] [--quiet]
Exit status: 0 when every attack had the expected outcome (stopped under auditwall, or shown
succeeding without it or in monitor mode) and every normal request succeeded.
"""

import argparse
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import catalogue  # noqa: E402

IN_NETNS = "AUDITWALL_DEMO_NETNS"


# ---- the network namespace ---------------------------------------------------------------

def reexec_in_netns(argv):
    """Runs this driver again inside a new, empty network namespace; returns its status, or
    None when no namespace can be made here."""
    env = dict(os.environ, **{IN_NETNS: "1"})
    command = [sys.executable, os.path.abspath(__file__), *argv]
    # As root a network namespace alone; otherwise inside a user namespace mapping us to root.
    for prefix in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
        if shutil.which(prefix[0]) is None:
            return None
        probe = subprocess.run([*prefix, "true"], capture_output=True)
        if probe.returncode == 0:
            return subprocess.run([*prefix, "--", *command], env=env).returncode
    return None


def set_up_netns():
    """Inside the namespace: brings up lo and puts the SSRF targets on it. Refuses to touch a
    namespace that has any interface besides lo, so it never changes a real network."""
    import socket
    interfaces = sorted(name for _, name in socket.if_nameindex())
    if interfaces != ["lo"]:
        raise SystemExit(f"driver: not in an empty network namespace (interfaces: {interfaces})")
    commands = [["ip", "link", "set", "lo", "up"],
                ["ip", "addr", "add", catalogue.METADATA_ADDRESS + "/32", "dev", "lo"],
                ["ip", "addr", "add", catalogue.PRIVATE_ADDRESS + "/32", "dev", "lo"]]
    for command in commands:
        subprocess.run(command, check=True)


# ---- the services the demo service talks to ----------------------------------------------

class FakeService(http.server.ThreadingHTTPServer):
    """A small HTTP server answering every GET with its body; /redirect?to=URL redirects
    there, as an open redirect on an otherwise trusted host would."""

    daemon_threads = True

    def __init__(self, address, body):
        self.body = body.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(handler):  # noqa: N805
                url = urllib.parse.urlsplit(handler.path)
                if url.path == "/redirect":
                    handler.send_response(302)
                    handler.send_header("Location", urllib.parse.parse_qs(url.query)["to"][0])
                    handler.send_header("Content-Length", "0")
                    handler.end_headers()
                    return
                handler.send_response(200)
                handler.send_header("Content-Type", "text/plain")
                handler.send_header("Content-Length", str(len(self.body)))
                handler.end_headers()
                handler.wfile.write(self.body)

            def log_message(handler, *args):  # noqa: N805
                pass

        super().__init__(address, Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


# ---- the demo service ----------------------------------------------------------------------

def launcher_path():
    path = os.path.join(os.path.dirname(sys.executable), "auditwall-launch")
    return path if os.path.exists(path) else shutil.which("auditwall-launch")


class Service:
    """The demo service in its own process; its stderr (auditwall's log included) to a file."""

    def __init__(self, workdir, upstream, policy):
        self.log_path = os.path.join(workdir, "service.log")
        port_file = os.path.join(workdir, "port")
        data = os.path.join(workdir, "data")
        os.mkdir(data)
        command = [sys.executable, os.path.join(HERE, "app.py"), "--data", data,
                   "--upstream", upstream, "--port-file", port_file]
        if policy:
            launcher = launcher_path()
            if not launcher:
                raise SystemExit("driver: auditwall-launch is not installed")
            command = [launcher, "--policy", policy, "--", *command]
        self.command = command
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AUDITWALL_") and k != "LD_PRELOAD"}
        env["PYTHONUNBUFFERED"] = "1"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                        env=env, cwd=workdir)
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"driver: the service did not start:\n{self.read_log()}")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())

    def read_log(self, start=0):
        with open(self.log_path, "rb") as f:
            f.seek(start)
            return f.read().decode(errors="replace")

    def log_size(self):
        return os.path.getsize(self.log_path)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# ---- auditwall's log -----------------------------------------------------------------------

TEXT_RECORD = re.compile(r"^auditwall: (?P<decision>\S+) (?P<call>.*) event=(?P<event>\S+) "
                         r"rule=(?P<rule>\S+)")


def records(text):
    """auditwall's decision records in a piece of log: JSON lines or the text format."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "decision" in record:
                found.append({"decision": record["decision"], "rule": record.get("rule"),
                              "event": record.get("event"), "line": line})
            continue
        match = TEXT_RECORD.match(line)
        if match:
            found.append({"decision": match["decision"], "rule": match["rule"],
                          "event": match["event"], "line": line})
    return found


# ---- one run -------------------------------------------------------------------------------

def send(port, request, rid):
    headers = {}
    if request.content_type:
        headers["Content-Type"] = request.content_type
    if request.cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in request.cookies.items())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(request.method, request.target(rid),
                           body=request.body.encode() if request.body else None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def wait_for_log(service, start, rid, expect_record):
    """Waits until the service has logged the request `rid` (and, when `expect_record`, an
    auditwall record, which a writer thread may add a little later) and its log is quiet, so
    the records of this request are all in the log before the next request is sent."""
    deadline = time.monotonic() + 5
    needle = f"rid={rid} HTTP/1.1"
    while time.monotonic() < deadline:
        log = service.read_log(start)
        if needle in log:
            if not expect_record or records(log):
                break
            deadline = min(deadline, time.monotonic() + 1)
        time.sleep(0.01)
    size, quiet_since = service.log_size(), time.monotonic()
    while time.monotonic() - quiet_since < 0.1 and time.monotonic() < deadline:
        time.sleep(0.02)
        if service.log_size() != size:
            size, quiet_since = service.log_size(), time.monotonic()


def proof_of(request, proofs, status, body, secrets):
    """Whether the attack's harmless proof is there, and what it is."""
    if request.proof == "marker":
        path = os.path.join(proofs, request.id)
        return os.path.exists(path), f"marker file {path}"
    if request.proof == "secret":
        leaked = [s for s in secrets if s in body]
        return bool(leaked), "fake secret in the answer"
    if request.proof == "passwd":
        return "root:x:0:0" in body, "/etc/passwd in the answer"
    raise ValueError(request.proof)


def run(policy, netns):
    """Starts the services, sends every request, stops them; returns the observations."""
    workdir = tempfile.mkdtemp(prefix="auditwall-demo-")
    proofs = os.path.join(workdir, "proofs")
    os.mkdir(proofs)
    upstream = FakeService(("127.0.0.1", 0), "sunny, 21 C")
    fakes, secrets = [], []
    if netns:
        token = uuid.uuid4().hex
        secrets = [f"FAKE-METADATA-KEY-{token}", f"FAKE-INTERNAL-ADMIN-{token}"]
        fakes = [FakeService((catalogue.METADATA_ADDRESS, 80), f"AccessKeyId={secrets[0]}"),
                 FakeService((catalogue.PRIVATE_ADDRESS, 80), f"admin token={secrets[1]}")]
    service = Service(workdir, upstream.url, policy)
    results = []
    try:
        for rid, request in enumerate(catalogue.requests(proofs, upstream.url), 1):
            result = {"id": request.id, "kind": request.kind, "title": request.title}
            if request.needs_netns and not netns:
                result["skipped"] = "needs a private network namespace (unshare -n) to aim " \
                                    "at a non-loopback address"
                results.append(result)
                continue
            start = service.log_size()
            try:
                status, body = send(service.port, request, rid)
            except (OSError, http.client.HTTPException) as error:
                status, body = None, f"{type(error).__name__}: {error}"
            wait_for_log(service, start, rid, policy is not None and request.kind == "attack")
            log = service.read_log(start)
            result.update(status=status, body=body[:2000], records=records(log), log=log[-4000:])
            if request.kind == "attack":
                result["proof"], result["proof_kind"] = proof_of(request, proofs, status, body,
                                                                 secrets)
            else:
                result["expect_status"] = request.expect_status
                result["expect_text"] = request.expect_text
            results.append(result)
    finally:
        service.stop()
        upstream.shutdown()
        for fake in fakes:
            fake.shutdown()
    return {"policy": policy, "netns": netns, "python": sys.version.split()[0],
            "command": service.command, "results": results, "service_log": service.read_log()[-20000:],
            "workdir": workdir}


# ---- judging and the table -----------------------------------------------------------------

def blocking(result):
    return [r for r in result.get("records", []) if r["decision"] in ("deny", "kill")]


def would_block(result):
    return [r for r in result.get("records", []) if r["decision"] == "would-deny"]


def judge(result, expectation):
    """(ok, verdict) for one result. expectation: "stopped" (enforce), "logged" (monitor),
    "succeeds" (without auditwall)."""
    if "skipped" in result:
        return True, "skipped: " + result["skipped"]
    if result["kind"] == "normal":
        ok = (result["status"] == result["expect_status"]
              and (result["expect_text"] is None or result["expect_text"] in result["body"])
              and not blocking(result))
        return ok, "ok" if ok else "FAILED"
    if expectation == "stopped":
        denied = blocking(result)
        if result["proof"]:
            return False, "GOT THROUGH"
        if not denied:
            return False, "no proof, but no rule stopped it"
        return True, "stopped by " + ", ".join(sorted({r["rule"] for r in denied}))
    if expectation == "logged":
        logged = would_block(result)
        rules = ", ".join(sorted({r["rule"] for r in logged}))
        if not result["proof"]:
            return False, "did not succeed"
        return bool(logged), ("succeeded, would-deny by " + rules) if logged else \
            "succeeded, NOT LOGGED"
    return bool(result["proof"]), "succeeded" if result["proof"] else "did not succeed"


def table(report, expectation, out=sys.stdout):
    rows, failures = [], 0
    for result in report["results"]:
        ok, verdict = judge(result, expectation)
        failures += not ok
        status = str(result.get("status", "-"))
        if result["kind"] == "attack":
            proof = "-" if "skipped" in result else ("PROOF" if result["proof"] else "no proof")
        else:
            proof = ""
        rows.append(("ok" if ok else "FAIL", result["kind"], result["title"], status, proof,
                     verdict))
    widths = [max(len(row[i]) for row in rows + [HEADER]) for i in range(len(HEADER))]
    for row in [HEADER] + rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
    return failures


HEADER = ("", "kind", "request", "HTTP", "proof", "outcome")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=os.path.join(HERE, "..", "policies", "web-service.yaml"))
    parser.add_argument("--monitor", action="store_true",
                        help="use web-service-monitor.yaml: the attacks succeed and are logged")
    parser.add_argument("--without-auditwall", action="store_true",
                        help="run the service without auditwall: the attacks succeed")
    parser.add_argument("--json", help="write every observation to this file")
    parser.add_argument("--quiet", action="store_true", help="print no table")
    args = parser.parse_args(argv)

    if os.environ.get(IN_NETNS) != "1":
        status = reexec_in_netns(argv)
        if status is not None:
            return status
        print("driver: cannot create a network namespace here (unshare -n); the SSRF attacks "
              "at non-loopback addresses are skipped", file=sys.stderr)
        netns = False
    else:
        set_up_netns()
        netns = True

    if args.monitor:
        args.policy = os.path.join(HERE, "..", "policies", "web-service-monitor.yaml")
    policy = None if args.without_auditwall else os.path.abspath(args.policy)
    if args.without_auditwall:
        expectation = "succeeds"
    else:
        expectation = "logged" if policy_mode(policy) == "monitor" else "stopped"
    out = open(os.devnull, "w") if args.quiet else sys.stdout
    how = "WITHOUT auditwall" if policy is None else \
        "under auditwall-launch --policy " + os.path.relpath(policy)
    where = ", inside a private network namespace" if netns else ""
    print(f"demo: the service runs {how}; traffic over loopback{where}\n", file=out, flush=True)
    report = run(policy, netns)
    report["expectation"] = expectation
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    failures = table(report, expectation, out)
    shutil.rmtree(report["workdir"], ignore_errors=True)
    attacks = sum(r["kind"] == "attack" and "skipped" not in r for r in report["results"])
    normal = sum(r["kind"] == "normal" for r in report["results"])
    if failures:
        print(f"\ndemo: the service's log:\n{report['service_log'][-6000:]}", file=out)
        print(f"\ndemo: FAILED: {failures} request(s) did not have the expected outcome",
              file=out)
        return 1
    outcome = {"stopped": "stopped by auditwall", "logged": "succeeded and were logged",
               "succeeds": "succeeded (no auditwall)"}[expectation]
    print(f"\ndemo: OK: {attacks} attacks {outcome}; {normal} normal requests served",
          file=out)
    return 0


def policy_mode(path):
    """The policy file's top-level mode (enforce unless it says monitor)."""
    with open(path) as f:
        for line in f:
            match = re.match(r"mode:\s*(\w+)", line)
            if match:
                return match[1]
    return "enforce"


if __name__ == "__main__":
    sys.exit(main())
