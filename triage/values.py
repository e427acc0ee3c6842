"""The values that travel between stages: frozen, plain, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as a source read it, before parsing.

    `key` is the message's identity inside (mailbox, folder, uidvalidity): the
    decimal UID for IMAP, the unique file name (before ``:2,``) for Maildir.
    """

    mailbox: str
    folder: str
    uidvalidity: int
    key: str
    raw: bytes
    received_at: datetime | None = None
    uid: int | None = None


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    email: str  # lower-cased, stripped; "" when the header held no usable address


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    is_inline: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    """What parse could read from a message; it never raises, it lists defects."""

    message_id: str
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    subject: str
    new_text: str  # what the sender wrote now: no quoted history, no signature
    quoted_text: str  # quoted history and forwarded text
    signature: str
    attachments: tuple[Attachment, ...]
    headers: dict[str, str] = field(default_factory=dict)  # selected headers, lower-case names
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    language: str = ""  # "en", "es" or "" when unknown
    defects: tuple[str, ...] = ()
    size: int = 0
    parser: str = "mail-parser"  # or "stdlib" when mail-parser could not read it
