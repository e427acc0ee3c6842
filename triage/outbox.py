"""What must be done in the world for one assessment: the outbox plan. Pure.

An assessment says what the standards require; this module turns it into the
concrete, idempotent actions the worker carries out (`triage.actions`):

- ``flag``: IMAP keywords (and ``\\Flagged`` for emergent mail) on the original,
  or a copy into a folder per flag where the server keeps no keywords;
- ``draft``: the standard-10 reply with the forms, APPENDed to Drafts;
- ``note``: an internal note to the clinician in the notes folder (failing
  consent, an unverified sender, a clinical question), never in Drafts;
- ``alert``: the emergent alert by SMTP, one per recipient (the clinician and
  the program's on-call cover for that day and hour).

Each planned action has a `key` that is unique in the store: planning the same
thing twice (a retry, a second message in the thread) finds the first and adds
nothing. At most one draft per thread and kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from triage.config import OnCall, Program
from triage.policy import Assessment

KEYWORDS = {"emergent": "$TriageEmergent", "rights_request": "$TriageRightsRequest", "no_consent": "$TriageNoConsent",
            "unverified_sender": "$TriageNoConsent", "clinical_question": "$TriageClinical",
            "multiple_clients": "$TriageMultipleClients"}
FOLDERS = {"emergent": "Emergent", "rights_request": "Rights requests", "no_consent": "No consent",
           "unverified_sender": "No consent", "clinical_question": "Clinical questions",
           "multiple_clients": "Multiple clients"}
KINDS = ("alert", "flag", "draft", "note", "escalation", "operator_alert")
ORDER = {k: i for i, k in enumerate(KINDS)}  # alerts are worked first
NOTE_ACTIONS = ("respond_by_phone_or_mail", "verify_identity", "mail_rights_forms", "answer_outside_email",
                "reply_to_each_client_separately")


@dataclass(frozen=True)
class Planned:
    kind: str  # one of KINDS
    key: str  # unique in the outbox: the same action is never planned twice
    detail: dict[str, object] = field(default_factory=dict)  # no client data: flags, kinds, standards
    payload: dict[str, object] = field(default_factory=dict)  # addresses and the like: stored encrypted


def thread_key(message_id: str, in_reply_to: str, references: Sequence[str]) -> str:
    """The first message of the thread as far as the headers tell: one draft per thread and kind."""
    return (references[0] if references else "") or in_reply_to or message_id


def plan(assessment: Assessment, *, mailbox_id: int, record_id: int, thread: str, clinician: str,
         program: Program | None, now: datetime) -> list[Planned]:
    a = assessment
    out: list[Planned] = []
    if a.flags:
        flags = list(a.flags)
        keywords = sorted({KEYWORDS[f] for f in flags}) + (["\\Flagged"] if a.emergent else [])
        out.append(Planned("flag", f"flag:{record_id}", {"flags": flags},
                           {"keywords": keywords, "folders": sorted({FOLDERS[f] for f in flags})}))
    if a.emergent:
        recipients = [clinician, *on_call(program, now)]
        for address in dict.fromkeys(r.lower() for r in recipients if r):
            out.append(Planned("alert", f"alert:{record_id}:{address}", {"standard": "6", "level": 0},
                               {"to": address}))
    if not a.automated:
        thread = thread or f"record-{record_id}"
        kinds = {x.kind for x in a.actions}
        if "send_rights_forms" in kinds:
            out.append(Planned("draft", f"draft:rights:{mailbox_id}:{thread}",
                               {"draft": "rights_reply", "rights": list(a.hipaa_rights)}))
        # One internal note covers everything the clinician must do outside email for this message.
        notes = sorted(kinds & set(NOTE_ACTIONS))
        if notes:
            out.append(Planned("note", f"note:{mailbox_id}:{thread}", {"notes": notes, "rights": list(a.hipaa_rights)}))
    return sorted(out, key=lambda p: ORDER[p.kind])


def on_call(program: Program | None, when: datetime) -> list[str]:
    """The program's cover for this moment in its own time zone: the first matching rule wins."""
    if program is None:
        return []
    local = when.astimezone(ZoneInfo(program.time_zone))
    for rule in program.on_call:
        if _matches(rule, local):
            return [rule.address]
    return []


def _matches(rule: OnCall, local: datetime) -> bool:
    day, t = local.weekday(), local.time()
    if rule.start is None or rule.end is None:
        return day in rule.days
    if rule.start <= rule.end:
        return day in rule.days and rule.start <= t < rule.end
    # Overnight cover (e.g. 17:00-08:00): the evening belongs to the listed day, the morning to the day after.
    if t >= rule.start:
        return day in rule.days
    return t < rule.end and (day - 1) % 7 in rule.days
