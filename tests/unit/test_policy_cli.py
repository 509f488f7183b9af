"""`auditwall policy check` and `auditwall policy explain` on the repository's policies and on
broken ones, through the installed command line."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "policies").glob("*.yaml"))


def auditwall(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "auditwall", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


@pytest.mark.parametrize("path", EXAMPLES + ["builtin:strict", "builtin:web-service",
                                             "builtin:monitor-all"], ids=str)
def test_check_accepts_valid_policies(path):
    result = auditwall("policy", "check", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: ok\n"


def test_check_prints_every_diagnostic_and_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\n"
        "rules:\n"
        "  - id: a\n"
        "    on: netwrok\n"
        "    match: {address: 10.0.0.0/33}\n"
        "    action: deny\n"
        "  - id: b\n"
        "    on: os.sytem\n"
        "    action: deny\n"
    )
    result = auditwall("policy", "check", bad)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:4:9: error: unknown family or event 'netwrok' (did you mean 'network'?); "
        "families: code, deserialize, process, network, file, import, native, tamper, env",
        f"{bad}:5:22: error: bad address or network '10.0.0.0/33'; write an IPv4 or IPv6 "
        "address, optionally with /PREFIX (10.0.0.0/8, fd00::/8)",
        f"{bad}:8:9: warning: 'os.sytem' is not a CPython event auditwall knows (did you mean "
        "'os.system'?)",
    ]


def test_explain_names_the_deciding_rule_and_why():
    result = auditwall("policy", "explain", "builtin:web-service",
                       "--event", "socket.connect", "2852039166", "80")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("policy: builtin:web-service (")
    assert lines[1] == "event: socket.connect (family network)"
    assert ("  DECIDES        rule 'web-cloud-metadata' (line 22): 'on' selects socket.connect "
            "and the match holds") in lines
    assert "decision: rule 'web-cloud-metadata' (line 22) decides: deny" in lines
    assert "message: cloud metadata endpoints are out of bounds" in lines


def test_explain_shows_rules_that_do_not_match_and_the_default():
    result = auditwall("policy", "explain", "builtin:strict",
                       "--event", "open", "out.txt", "w", cwd="/")
    assert result.returncode == 0, result.stderr
    assert ("  no match       rule 'strict-temp-files' (line 46): 'path' does not hold"
            in result.stdout.splitlines())
    assert result.stdout.splitlines()[-1] == "decision: no rule matches; default: deny"
    ok = auditwall("policy", "explain", "builtin:strict",
                   "--event", "open", "/tmp/out.txt", "w")
    assert ok.stdout.splitlines()[-1] == (
        "decision: rule 'strict-temp-files' (line 46) decides: allow")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_explain_works_on_every_example(path):
    result = auditwall("policy", "explain", path, "--event", "os.system", "id")
    assert result.returncode == 0, result.stderr
    decisions = [line for line in result.stdout.splitlines() if line.startswith("decision: ")]
    assert len(decisions) == 1, result.stdout


def test_explain_rejects_bad_usage_and_bad_policies(tmp_path):
    assert auditwall("policy", "explain", "builtin:strict").returncode == 2
    result = auditwall("policy", "explain", "builtin:strict", "--event", "open", "color=red")
    assert result.returncode == 2
    assert "unknown field 'color'" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 3\n")
    result = auditwall("policy", "explain", bad, "--event", "os.system", "id")
    assert result.returncode == 1
    assert f"{bad}:1:10: error: unsupported policy version '3'" in result.stderr
