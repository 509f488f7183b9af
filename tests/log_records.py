"""Reading auditwall's event log in tests: parse JSON lines and check them against the schema."""

import json

import jsonschema

from conftest import ROOT

SCHEMA = json.loads((ROOT / "docs" / "log.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def check(record):
    """Asserts that one record is valid against docs/log.schema.json."""
    errors = sorted(VALIDATOR.iter_errors(record), key=lambda e: list(e.path))
    assert not errors, f"{json.dumps(record)}\n" + "\n".join(e.message for e in errors)


def parse(text, validate=True):
    """Every line of `text` that is a JSON object, each validated against docs/log.schema.json
    unless `validate` is false (a log of a hundred thousand records takes minutes to validate;
    the caller then checks the records it looks at)."""
    records = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if validate:
            check(record)
        records.append(record)
    return records


def decisions(records, event=None):
    """The decision records (not auditwall's own notes), optionally for one event."""
    return [r for r in records if not r["event"].startswith("auditwall.")
            and (event is None or r["event"] == event)]


def logged(text, event, decision):
    """True when the log in `text` holds a `decision` record for `event`."""
    return any(r["decision"] == decision for r in decisions(parse(text), event))
