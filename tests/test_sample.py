"""The sample inbox against its answer key (examples/expected.json): what ingestion already decides."""

from __future__ import annotations

import json
import mailbox

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
