"""The sample inbox against its answer key (examples/expected.json): what ingestion already decides."""

from __future__ import annotations

import json
import mailbox
from typing import Any

import pytest
from conftest import ROOT

from triage.automated import automated_reasons
from triage.parse import parse

EXPECTED = {e["key"]: e for e in json.loads((ROOT / "examples" / "expected.json").read_text())}
INBOX = mailbox.Maildir(ROOT / "examples" / "inbox", factory=None, create=False)


def test_every_message_has_an_answer() -> None:
    assert sorted(INBOX.keys()) == sorted(EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_automated_mail_and_language(key: str) -> None:
    expected = EXPECTED[key]
    message = parse(INBOX.get_bytes(key))
    assert bool(automated_reasons(message)) == expected["automated"], automated_reasons(message)
    if message.language:
        assert message.language == expected["language"]
    # The clinician's crisis-line footer in a quoted reply never reaches the new text.
    assert "854-7771" not in message.new_text or expected["emergent"]


# --------------------------------------------------------------------------- the decision on every sample message


def _sample_context() -> Any:
    from triage.assess import Context
    from triage.config import load_config
    from triage.registry import parse_csv

    config = load_config(ROOT / "config.toml")
    records = parse_csv((ROOT / "examples" / "registry.csv").read_text(encoding="utf-8"))
    clinician = config.clinician("alex.morgan@dmh.example.org")
    program = config.program(clinician.program)
    return Context(clinician, program, config.department, records)


CONTEXT = _sample_context()


def _oracle(expected: dict[str, Any]) -> Any:
    """The key's own labels as a detection: what the policy must make of them."""
    from triage.detect import Detection, Evidence

    evidence = [Evidence(r, "(key)", "oracle") for r in expected["hipaa_rights"]]
    if expected["emergent"]:
        evidence.append(Evidence("emergent", "(key)", "oracle"))
    return Detection(expected["emergent"], 1.0 if expected["emergent"] else 0.0,
                     "acute_crisis" if expected["emergent"] else "", tuple(expected["hipaa_rights"]),
                     expected["purpose"], expected["clinical_question"], tuple(evidence), "oracle")


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_policy_decides_as_the_key_says(key: str) -> None:
    from triage.assess import assess_with, local_day

    expected = EXPECTED[key]
    message = parse(INBOX.get_bytes(key))
    a = assess_with(message, CONTEXT, _oracle(expected), today=local_day(message.date, "America/Los_Angeles"))
    consent = {"unverified": "unknown"}.get(a.consent, a.consent)
    assert consent == expected["consent"]
    assert sorted(a.consent_failures) == sorted(expected["consent_failures"])
    assert a.multiple_clients == expected["multiple_clients"]
    assert sorted(a.client_ids) == sorted(expected["client_ids"])
    assert list(a.standards) == expected["standards"]
    assert a.automated == expected["automated"]
    if expected["emergent"]:
        assert a.priority == 1
    elif expected["hipaa_rights"]:
        assert a.priority == 2 and a.actions[0].kind == "send_rights_forms" and a.actions[0].to
