"""The message of an item, read from the clinician's mailbox when the page is shown.

The store keeps no body or subject (README: "never a body"), so the item page fetches the message
by the ledger's address: for IMAP the folder, its UIDVALIDITY and the UID, read with BODY.PEEK[]
(no flag changes); for Maildir the file by its key. It is parsed with `triage.parse.parse` and
handed to the template, never stored or logged. When it cannot be read (moved, deleted, the folder
renumbered, the server down) the page says why in words that hold no message content.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from triage.config import Config, MailboxConfig
from triage.parse import parse
from triage.store.models import Mailbox, MessageRecord
from triage.store.org import store_mailboxes

log = logging.getLogger("triage.web")


@dataclass(frozen=True)
class Location:
    mailbox: MailboxConfig
    folder: str
    uidvalidity: int
    key: str


@dataclass(frozen=True)
class MessageText:
    available: bool
    problem: str = ""  # why it could not be read (no message content)
    subject: str = ""
    sender: str = ""
    to: str = ""
    date: datetime | None = None
    new_text: str = ""
    quoted_text: str = ""
    signature: str = ""
    attachments: tuple[str, ...] = ()


def locate(session: Session, config: Config, item_id: int) -> Location | MessageText:
    """Where the item's message is, or a MessageText saying why it cannot be looked for."""
    record = session.get(MessageRecord, item_id)
    if record is None:
        return MessageText(False, "the message is not in the store")
    row = session.get(Mailbox, record.mailbox_id)
    if row is None:
        return MessageText(False, "its mailbox is no longer known")
    mailbox = next((m for m in config.mailboxes if m.name == row.name), None)
    if mailbox is None:
        mailbox = next((m for _, m in store_mailboxes(session, config) if m.name == row.name), None)
    if mailbox is None:
        return MessageText(False, f"mailbox {row.name} is no longer configured, so it cannot be read")
    return Location(mailbox, record.folder, record.uidvalidity, record.key)


def read(config: Config, where: Location | MessageText, tokens: object | None = None) -> MessageText:
    """Fetch and parse the message now. Never raises: a failure becomes the page's explanation."""
    if isinstance(where, MessageText):
        return where
    from triage.worker import make_source

    source = None
    try:
        source = make_source(config, where.mailbox, tokens)
        source.connect()
        status = source.select(where.folder)
        if where.mailbox.kind == "imap" and status.uidvalidity != where.uidvalidity:
            return MessageText(False, f"folder {where.folder} was renumbered on the server (its UIDVALIDITY "
                                      "changed), so the message can no longer be found by its number")
        raw = next(iter(source.fetch(where.folder, [where.key])), None)
    except Exception as exc:  # a server down, a refused login, a folder gone: say so, show the rest
        log.warning("message text could not be read", extra={"mailbox": where.mailbox.name,
                                                             "error_class": type(exc).__name__})
        return MessageText(False, f"mailbox {where.mailbox.name} could not be read now ({type(exc).__name__}); "
                                  "open it in your mail program, or try again later")
    finally:
        if source is not None:
            source.close()
    if raw is None:
        return MessageText(False, f"the message is no longer in folder {where.folder} of mailbox "
                                  f"{where.mailbox.name} (moved or deleted)")
    m = parse(raw.raw)
    sender = ""
    if m.sender is not None:
        sender = f"{m.sender.name} <{m.sender.email}>" if m.sender.name else m.sender.email
    return MessageText(
        True, subject=m.subject, sender=sender, to=", ".join(a.email for a in (*m.to, *m.cc) if a.email),
        date=m.date, new_text=m.new_text, quoted_text=m.quoted_text, signature=m.signature,
        attachments=tuple(a.filename or a.content_type for a in m.attachments if not a.is_inline))
