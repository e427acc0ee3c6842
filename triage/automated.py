"""Is a message automated mail (auto-reply, bounce, list, bulk)? Pure.

No draft ever answers such mail, and it is not flagged for consent.
"""

from __future__ import annotations

import re

from triage.values import Message

_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster|bounces?|no-?reply|do-?not-?reply)([+@.-]|$)")
_OOO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?reply|out of (the )?office|respuesta autom[aá]tica|fuera de la oficina|"
    r"undeliverable|delivery status notification|mail delivery (failed|subsystem))", re.I)


def automated_reasons(message: Message) -> list[str]:
    """Why this message is automated mail; empty when a person wrote it."""
    h = message.headers
    reasons = []
    auto = h.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        reasons.append(f"Auto-Submitted: {auto[:40]}")
    precedence = h.get("precedence", "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        reasons.append(f"Precedence: {precedence}")
    if h.get("list-id") or h.get("list-unsubscribe"):
        reasons.append("mailing-list headers")
    if h.get("x-autoreply") or h.get("x-autorespond"):
        reasons.append("X-Autoreply header")
    if "oof" in h.get("x-auto-response-suppress", "").lower() and _OOO_SUBJECT.search(message.subject):
        reasons.append("out-of-office reply")
    sender = message.sender.email if message.sender else ""
    if _BOUNCE_SENDER.match(sender):
        reasons.append("sent by a mail system")
    if "return-path" in h and h["return-path"].strip() in ("<>", ""):
        reasons.append("empty Return-Path (a bounce)")
    if not reasons and _OOO_SUBJECT.search(message.subject):
        reasons.append("auto-reply subject")
    return reasons
