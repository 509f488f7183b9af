"""docs/policy.schema.json: every policy in the repository validates against it, the built-in
policies included, and it rejects what the loader rejects for shape."""

import json
import pathlib
import re
import subprocess
import sys

import jsonschema
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "policy.schema.json").read_text())
POLICIES = sorted(
    list((ROOT / "examples" / "policies").glob("*.yaml"))
    + list((ROOT / "tests" / "fixtures").glob("*.yaml"))
)
BUILTINS = {
    name: text
    for text, name in re.findall(
        r'constexpr std::string_view k\w+ = R"YAML\((# builtin:([\w-]+):.*?)\)YAML";',
        (ROOT / "policy" / "src" / "builtin.cpp").read_text(),
        re.S,
    )
}


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1, where the key `on` is the boolean true; auditwall (yaml-cpp) and
    editors read YAML 1.2, where only true/false are booleans."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(text):
    return yaml.load(text, Loader=Yaml12Loader)


def validator():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA)


def test_there_are_policies_to_check():
    assert POLICIES
    assert set(BUILTINS) == {"strict", "web-service", "monitor-all"}


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_repository_policy_validates(path):
    validator().validate(load(path.read_text()))


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_policy_validates(name):
    validator().validate(load(BUILTINS[name]))


@pytest.mark.parametrize(
    "text",
    [
        "version: 2\n",
        "version: 1\nmdoe: enforce\n",
        "version: 1\nrules:\n  - {id: a, on: os.system, action: dney}\n",
        "version: 1\nrules:\n  - {id: a, on: [], action: deny}\n",
        "version: 1\nrules:\n  - {id: a, on: process, action: deny, match: {exe: sh}}\n",
        "version: 1\nrules:\n  - {id: a, on: process, action: deny, match: {}}\n",
        "version: 1\nrules:\n  - {id: a, on: network, action: deny, match: {port: 70000}}\n",
        "version: 1\nlog: {sink: stdout}\n",
        "version: 1\nseccomp: {deny: ptrace}\n",
        "version: 1\nextends: builtin:nope\n",
    ],
)
def test_schema_rejects_bad_shapes(text):
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(load(text))


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_loader_accepts_what_the_schema_accepts(path):
    result = subprocess.run(
        [sys.executable, "-m", "auditwall", "policy", "check", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
