"""From an outbox row to the mail it stands for: the configuration meets `triage.drafts`.

`triage.drafts` is pure and takes plain values; this module finds them (the program's
contact, the secure-send marker, the forms, the clinician, the original message's thread
headers) and refuses a draft that `drafts.check_draft` refuses (standards 1d, 4, 5, 8).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

from triage import drafts
from triage.clock import now
from triage.config import Clinician, Config, Program
from triage.values import Address, Message

if TYPE_CHECKING:
    from triage.actions import ActionContext


def renderers(config: Config) -> dict[str, Callable[[ActionContext], EmailMessage]]:
    return {"draft": lambda ctx: rights_draft(config, ctx), "note": lambda ctx: note(config, ctx),
            "alert": lambda ctx: alert(config, ctx), "escalation": lambda ctx: alert(config, ctx),
            "operator_alert": lambda ctx: operator_alert(config, ctx)}


def marker(config: Config) -> drafts.SecureMarker:
    name, _, value = config.actions.secure_header.partition(":")
    return drafts.SecureMarker(config.actions.secure_subject_tag, name.strip(), value.strip())


def _clinician(config: Config, email: str) -> Clinician:
    found = next((c for c in config.clinicians if c.email == email), None)
    return found or Clinician(email, email, "", (), config.department.time_zone)


def _program(config: Config, clinician: Clinician) -> Program | None:
    return next((p for p in config.programs if p.id == clinician.program), None)


def _contact(config: Config, program: Program | None) -> drafts.ProgramContact:
    if program is None:
        return drafts.ProgramContact(config.department.name, "")
    return drafts.ProgramContact(program.name, program.mailing_address, program.phone)


def original(ctx: ActionContext) -> Message:
    """The parts of the original message a reply needs (the store keeps no body or subject)."""
    f = ctx.facts
    sender = Address(*f["from"]) if f.get("from") else None
    return Message(message_id=f.get("message_id", ""), sender=sender, reply_to=(), to=(), cc=(), date=None,
                   subject="", new_text="", quoted_text="", signature="", attachments=(),
                   in_reply_to=f.get("in_reply_to", ""), references=tuple(f.get("references", ())),
                   language=f.get("language", ""))


def rights_draft(config: Config, ctx: ActionContext) -> EmailMessage:
    from triage.actions import Refused

    clinician = _clinician(config, ctx.clinician)
    program = _program(config, clinician)
    mark = marker(config)
    draft = drafts.rights_reply(item_id=ctx.item_id, assessment=ctx.assessment, original=original(ctx),
                                clinician=clinician, record=ctx.client, program=_contact(config, program),
                                forms=config.forms, marker=mark, now=now())
    reasons = drafts.check_draft(draft, ctx.assessment, [ctx.client] if ctx.client else [], clinician=clinician,
                                 marker=mark)
    if reasons:
        raise Refused(" ".join(reasons))
    return draft


def note(config: Config, ctx: ActionContext) -> EmailMessage:
    from triage.actions import Refused

    clinician = _clinician(config, ctx.clinician)
    program = _program(config, clinician)
    message = drafts.clinician_note(
        item_id=ctx.item_id, assessment=ctx.assessment, clinician=clinician, record=ctx.client,
        program=_contact(config, program), now=now(), original=original(ctx), forms=config.forms,
        base_url=config.actions.base_url, crisis_line=config.department.crisis_line, received=ctx.received_at,
        time_zone=clinician.time_zone)
    reasons = drafts.check_draft(message, ctx.assessment, [ctx.client] if ctx.client else [], clinician=clinician)
    if reasons:
        raise Refused(" ".join(reasons))
    return message


def alert(config: Config, ctx: ActionContext) -> EmailMessage:
    clinician = _clinician(config, ctx.clinician)
    level = int(ctx.detail.get("level", 0))
    waited = (now() - ctx.received_at) if (level and ctx.received_at) else None
    return drafts.alert_message(
        item_id=ctx.item_id, mailbox=ctx.mailbox, received_at=ctx.received_at, base_url=config.actions.base_url,
        crisis_line=config.department.crisis_line, sender=config.smtp.from_address, to=[str(ctx.payload["to"])],
        now=now(), standard=str(ctx.detail.get("standard", "6")), time_zone=clinician.time_zone, level=level,
        unacknowledged_for=waited if waited is None or waited > timedelta(0) else None)


def operator_alert(config: Config, ctx: ActionContext) -> EmailMessage:
    """For the administrator: what went wrong, by class and id only (no message content)."""
    message = EmailMessage()
    message["From"] = config.smtp.from_address
    message["To"] = str(ctx.payload["to"])
    message["Subject"] = f"[triage] operator: {ctx.detail.get('what', 'attention needed')}"
    message["Auto-Submitted"] = "auto-generated"
    lines = [f"triage needs attention: {ctx.detail.get('what', '')}.", ""]
    lines += [f"{k}: {v}" for k, v in sorted(ctx.detail.items()) if k != "what"]
    lines += ["", "Run `triage status` on the worker's host for details. This mail holds no message content."]
    message.set_content("\n".join(lines))
    return message
