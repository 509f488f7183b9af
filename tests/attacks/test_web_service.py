"""The demo service's attacks end to end: each one works without auditwall (its harmless
proof appears), is denied under examples/policies/web-service.yaml (no proof, the answer
says so, the log names the rule), and is logged as would-deny under the monitor policy while
it works. Normal traffic is never affected.

Each mode is one run of examples/demo/driver.py: the service in its own interpreter (under
auditwall-launch for the policies), a real HTTP client on loopback, everything inside a fresh
network namespace where the SSRF targets are fake servers on `lo`."""

import json
import sys

import pytest
import yaml

from conftest import ROOT, run

DEMO = ROOT / "examples" / "demo"
POLICIES = ROOT / "examples" / "policies"
sys.path.insert(0, str(DEMO))

import catalogue  # noqa: E402

REQUESTS = catalogue.requests("/proofs", "http://127.0.0.1:1")
ATTACKS = [r.id for r in REQUESTS if r.kind == "attack"]
NORMAL = [r.id for r in REQUESTS if r.kind == "normal"]

# The rule of web-service.yaml that stops each attack.
STOPPED_BY = {
    "shell-subprocess": "no-shells",
    "shell-os-system": "no-shells",
    "pickle-cookie": "pickle-allowlist",
    "yaml-os-system": "no-shells",
    "yaml-popen": "no-programs",
    "ssti-cycler": "no-shells",
    "ssti-lipsum": "no-shells",
    "ssti-config": "no-shells",
    "ssti-import": "no-shells",
    "ssti-subclasses": "no-programs",
    "ssrf-metadata": "cloud-metadata",
    "ssrf-metadata-decimal": "cloud-metadata",
    "ssrf-metadata-ipv6": "cloud-metadata",
    "ssrf-redirect": "cloud-metadata",
    "ssrf-private": "private-ranges",
    "eval": "no-dynamic-code",
    "traversal-dotdot": "secrets",
    "traversal-absolute": "secrets",
}

MODES = {
    "off": ["--without-auditwall"],
    "enforce": ["--policy", POLICIES / "web-service.yaml"],
    "monitor": ["--policy", POLICIES / "web-service-monitor.yaml"],
}


class Report:
    """One driver run: what each request got, the records auditwall logged for it."""

    def __init__(self, ran, data):
        self.ran = ran
        self.data = data
        self.by_id = {r["id"]: r for r in data["results"]}

    def __getitem__(self, request_id):
        result = self.by_id[request_id]
        if "skipped" in result:
            pytest.skip(result["skipped"])
        return result

    def explain(self, request_id):
        result = self.by_id[request_id]
        return (f"{request_id}: HTTP {result.get('status')}\n--- answer ---\n"
                f"{result.get('body')}\n--- log during the request ---\n{result.get('log')}")


_reports = {}


@pytest.fixture(scope="session")
def report(tmp_path_factory):
    def _report(mode):
        if mode not in _reports:
            out = tmp_path_factory.mktemp("demo-" + mode) / "report.json"
            ran = run([sys.executable, DEMO / "driver.py", "--quiet", "--json", out,
                       *MODES[mode]], timeout=240)
            assert out.exists(), ran
            _reports[mode] = Report(ran, json.loads(out.read_text()))
        return _reports[mode]
    return _report


def decisions(result, decision):
    return [r for r in result["records"] if r["decision"] == decision]


def test_every_attack_has_the_rule_that_stops_it():
    assert sorted(STOPPED_BY) == sorted(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_works_without_auditwall(report, attack):
    rep = report("off")
    result = rep[attack]
    assert result["proof"], rep.explain(attack)
    assert result["records"] == [], rep.explain(attack)


@pytest.mark.parametrize("attack", sorted(STOPPED_BY))
def test_attack_is_denied_in_enforce_mode(report, attack):
    rep = report("enforce")
    result = rep[attack]
    rule = STOPPED_BY[attack]
    assert not result["proof"], rep.explain(attack)
    assert result["status"] == 403, rep.explain(attack)
    assert f"blocked by rule {rule}" in result["body"], rep.explain(attack)
    assert [r["rule"] for r in decisions(result, "deny")] == [rule], rep.explain(attack)


@pytest.mark.parametrize("attack", sorted(STOPPED_BY))
def test_attack_is_logged_but_works_in_monitor_mode(report, attack):
    rep = report("monitor")
    result = rep[attack]
    assert result["proof"], rep.explain(attack)
    assert result["status"] == 200, rep.explain(attack)
    assert STOPPED_BY[attack] in {r["rule"] for r in decisions(result, "would-deny")}, \
        rep.explain(attack)
    assert decisions(result, "deny") == [], rep.explain(attack)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("request_id", NORMAL)
def test_normal_traffic_is_not_affected(report, mode, request_id):
    rep = report(mode)
    result = rep[request_id]
    assert result["status"] == result["expect_status"], rep.explain(request_id)
    assert result["expect_text"] in result["body"], rep.explain(request_id)
    assert [r for r in result["records"] if r["decision"] != "allow"] == [], \
        rep.explain(request_id)


def test_the_run_is_in_a_private_network_namespace(report):
    rep = report("off")
    if not rep.data["netns"]:
        pytest.skip("no network namespace can be made here (unshare -n)")
    ssrf = [r for r in REQUESTS if r.needs_netns]
    assert ssrf, "the catalogue has SSRF attacks at non-loopback addresses"
    for request in ssrf:
        assert rep[request.id]["proof"], rep.explain(request.id)


def test_enforce_and_monitor_runs_are_under_auditwall(report):
    for mode in ("enforce", "monitor"):
        command = report(mode).data["command"]
        assert command[0].endswith("auditwall-launch"), command
        assert str(MODES[mode][1]) in command, command


def test_monitor_policy_is_the_enforce_policy_in_monitor_mode():
    enforce = yaml.safe_load((POLICIES / "web-service.yaml").read_text())
    monitor = yaml.safe_load((POLICIES / "web-service-monitor.yaml").read_text())
    assert enforce.pop("mode") == "enforce"
    assert monitor.pop("mode") == "monitor"
    assert enforce == monitor


@pytest.mark.parametrize("name", ["web-service.yaml", "web-service-monitor.yaml"])
def test_example_policy_is_valid(python, name):
    ran = python("-m", "auditwall", "policy", "check", POLICIES / name)
    assert ran.returncode == 0, ran
    assert ran.stderr == "", ran
