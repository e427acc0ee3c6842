"""What happens to one message between the source and the store. Pure: no I/O.

`process` is a plain function of bytes so it can run in another process.
Later stages (the assessment) join here, so a message, its assessment and the
checkpoint are recorded in one transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from triage.automated import automated_reasons
from triage.parse import parse
from triage.values import Address, Message, RawMessage


@dataclass(frozen=True)
class Processed:
    digest: str
    message: Message
    automated: tuple[str, ...]
    facts: dict[str, Any] = field(default_factory=dict)  # kept encrypted in the store


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def process(raw: RawMessage) -> Processed:
    """Parse and assess one message. Raises only on a bug; bad mail yields defects."""
    message = parse(raw.raw)
    return Processed(digest(raw.raw), message, tuple(automated_reasons(message)), facts_of(message))


def facts_of(message: Message) -> dict[str, Any]:
    """The parsed facts later stages need, without the body or subject."""

    def addrs(items: tuple[Address, ...]) -> list[list[str]]:
        return [[a.name, a.email] for a in items]

    return {
        "from": [message.sender.name, message.sender.email] if message.sender else None,
        "reply_to": addrs(message.reply_to),
        "to": addrs(message.to),
        "cc": addrs(message.cc),
        "in_reply_to": message.in_reply_to,
        "references": list(message.references),
        "attachments": [[a.filename, a.content_type, a.size] for a in message.attachments],
    }
