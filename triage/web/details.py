"""What an item page shows beside the review core's item: the client's contact from the registry
(for an emergent item's "what to do now") and the standard 10 draft, rendered again exactly as the
worker renders it for the Drafts folder. Protected health information, for the page only."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from triage import render
from triage.config import Config
from triage.crypto import Crypto
from triage.policy import STANDARD_10_STATEMENT
from triage.store import assessments as assessment_store
from triage.store import consent as consent_store
from triage.store.models import Mailbox, MessageRecord

log = logging.getLogger("triage.web")


@dataclass(frozen=True)
class ClientContact:
    client_id: str
    name: str
    phone: str
    responsible_adult: str  # for a minor whose consent runs through an adult
    language: str


@dataclass(frozen=True)
class DraftView:
    to: str
    subject: str = ""
    body: str = ""
    attachments: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    statement: str = STANDARD_10_STATEMENT
    problem: str = ""  # why it is shown as a summary only, or why the worker refuses it


def clients_of(session: Session, crypto: Crypto, item_id: int) -> list[ClientContact]:
    """The registry records of the clients the item is about (the mailbox's clinician's records)."""
    assessment = assessment_store.load(session, crypto, item_id)
    record = session.get(MessageRecord, item_id)
    mailbox = session.get(Mailbox, record.mailbox_id) if record is not None else None
    if assessment is None or mailbox is None or not assessment.client_ids:
        return []
    records = {r.client_id: r for r in consent_store.load(session, crypto, clinician=mailbox.clinician_email)}
    out = []
    for cid in assessment.client_ids:
        r = records.get(cid)
        if r is not None:
            out.append(ClientContact(cid, r.client_name, r.phone, r.responsible_adult_name, r.preferred_language))
    return out


def draft_of(session: Session, config: Config, crypto: Crypto, item_id: int) -> DraftView | None:
    """The rights reply draft of an item that has one (`send_rights_forms`), or None."""
    from triage.actions import ActionContext, Refused

    assessment = assessment_store.load(session, crypto, item_id)
    action = next((x for x in assessment.actions if x.kind == "send_rights_forms"), None) if assessment else None
    record = session.get(MessageRecord, item_id)
    if assessment is None or action is None or record is None:
        return None
    mailbox = session.get(Mailbox, record.mailbox_id)
    assert mailbox is not None
    summary = DraftView(to=action.to, rights=action.rights,
                        attachments=tuple(config.forms[r].name for r in action.rights if r in config.forms))
    facts = crypto.decrypt_json(record.facts_enc) if record.facts_enc else {}
    facts.update(message_id=record.message_id, language=record.language)
    client = None
    if assessment.client_ids:
        client = next((r for r in consent_store.load(session, crypto, clinician=mailbox.clinician_email)
                       if r.client_id == assessment.client_ids[0]), None)
    ctx = ActionContext(row_id=0, kind="draft", detail={}, payload={}, item_id=str(item_id), record_id=item_id,
                        mailbox=mailbox.name, clinician=mailbox.clinician_email, facts=facts, assessment=assessment,
                        received_at=record.received_at or record.recorded_at, client=client)
    try:
        message = render.rights_draft(config, ctx)
    except Refused as exc:  # fixed sentences naming the standard broken
        return DraftView(**{**summary.__dict__, "problem": f"The worker refuses this draft: {exc}"})
    except Exception as exc:  # a form file missing, say: the summary still says what goes out
        log.warning("draft could not be rendered for the page", extra={"item": item_id,
                                                                        "error_class": type(exc).__name__})
        return DraftView(**{**summary.__dict__,
                            "problem": f"The full draft cannot be shown here ({type(exc).__name__}); this is "
                                       "what it holds."})
    body = message.get_body(preferencelist=("plain",))
    return DraftView(to=str(message["To"]), subject=str(message["Subject"]),
                     body=body.get_content() if body is not None else "",
                     attachments=tuple(p.get_filename() or "" for p in message.iter_attachments()),
                     rights=action.rights)
