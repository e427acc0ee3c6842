"""The review queue: what clinicians and supervisors do with an item (a flagged message).

An item is named by its message's record id (the number in alerts, notes and links).
This module owns the queries; the command line (`triage.review_cli`) and the web pages call it.

- `queue()` lists items (no decrypted text: flags, dates, states), `item()` shows one with its
  reasons, evidence, required actions and their outbox state. Every `item()` is audited.
- Actions: `acknowledge`, `resolve`, `extend` (one extension of a rights clock),
  `record_request_step` (forms sent -> signed form received -> fulfilled or denied),
  `correct` (a label correction, kept as training data: `corrections_for_training`).
  Each is audited with who did it; audit details hold ids and categories, never text.

The assessment row stays as the detector and policy decided (the digests measure drift against
it); an item's shown labels, flags and priority are the assessment's with the latest correction
of each label applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from triage import clocks
from triage.clock import now
from triage.config import ClocksConfig
from triage.crypto import Crypto
from triage.detect import PURPOSES
from triage.errors import TriageError
from triage.outbox import NOTE_ACTIONS, thread_key
from triage.policy import FLAGS, PRIORITIES, RIGHT_STANDARD, Action, Reason, _priority
from triage.store.ledger import audit
from triage.store.models import (
    AssessmentRow,
    Clinician,
    ClinicianAddress,
    LabelCorrection,
    Mailbox,
    MessageRecord,
    OutboxRow,
    Program,
    RightsRequest,
)

STEPS = ("forms_sent", "signed_form_received", "fulfilled", "denied")
STATES = ("open", *STEPS)
DONE = ("fulfilled", "denied")
_RANK = {"open": 0, "forms_sent": 1, "signed_form_received": 2, "fulfilled": 3, "denied": 3}
# Which outbox rows carry out each required action (triage.outbox plans them).
_OUTBOX_KINDS = {"respond_now": ("alert",), "alert_on_call": ("alert",), "send_rights_forms": ("draft",),
                 **{k: ("note",) for k in NOTE_ACTIONS}}
_STATE_ORDER = ("failed", "pending", "refused", "skipped", "done")  # the worst state speaks for an action
_CHUNK = 500


class ItemError(TriageError):
    """No such item, or the action does not apply to it."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Step:
    step: str  # one of STEPS
    at: datetime
    by: str


@dataclass(frozen=True)
class RightState:
    """One HIPAA right requested in an item: where its workflow is and its legal clocks."""

    right: str
    standard: str  # "9a".."9e"
    state: str  # one of STATES
    steps: tuple[Step, ...]
    clock_started: bool  # False while waiting for the signed form (clocks.start = "signed_form")
    deadlines: tuple[clocks.Deadline, ...]  # earliest first; () for a restriction
    extended: bool
    can_extend: bool  # its rule allows the one extension and it can still be taken
    overdue: bool  # open and past a deadline
    due_soon: bool  # open, not overdue, a deadline within clocks.due_soon_days
    next_due: date | None  # the earliest deadline of an open request
    extension_reason: str = ""  # free text (may be PHI): only from item()

    @property
    def done(self) -> bool:
        return self.state in DONE


@dataclass(frozen=True)
class OutboxState:
    """One action the worker carries out for the item (flag, draft, note, alert, escalation)."""

    id: int
    kind: str
    state: str  # pending | done | refused | failed | skipped
    attempts: int
    created_at: datetime
    done_at: datetime | None
    detail: dict[str, Any]  # no client data


@dataclass(frozen=True)
class RequiredAction:
    """What the standards require for the item, and the state of the outbox rows that carry it out."""

    action: Action  # to / phone / mailing_address are blank unless evidence was asked for
    state: str  # the worst state of its outbox rows; "by hand" when the clinician does it alone


@dataclass(frozen=True)
class Correction:
    id: int
    at: datetime
    by: str
    emergent: bool | None
    hipaa_rights: tuple[str, ...] | None
    purpose: str | None
    clinical_question: bool | None


@dataclass(frozen=True)
class QueueItem:
    """One flagged message as the queue shows it. Nothing here is message text unless it came
    from `item()` with evidence (reasons' evidence, action addresses, notes and reasons typed by people)."""

    item: int
    mailbox_id: int
    mailbox: str
    clinician: str
    program: str
    time_zone: str  # the clinician's: for showing times
    program_time_zone: str  # deadlines are days in the program's zone
    received_at: datetime  # UTC
    priority: int
    flags: tuple[str, ...]  # with corrections applied, in policy.FLAGS order
    assessed_flags: tuple[str, ...]
    standards: tuple[str, ...]
    emergent: bool
    hipaa_rights: tuple[str, ...]
    purpose: str
    clinical_question: bool
    consent: str
    acknowledged_at: datetime | None
    acknowledged_by: str
    resolved_at: datetime | None
    resolved_by: str
    rights: tuple[RightState, ...]
    action_kinds: tuple[str, ...]
    corrected: bool
    reasons: tuple[Reason, ...] = ()  # item() only
    actions: tuple[RequiredAction, ...] = ()  # item() only
    outbox: tuple[OutboxState, ...] = ()  # item() only
    corrections: tuple[Correction, ...] = ()  # item() only
    resolution_note: str = ""  # item() only
    evidence: bool = False  # whether PHI (evidence, addresses, typed notes) is filled in

    @property
    def priority_name(self) -> str:
        return PRIORITIES[self.priority]

    @property
    def received_local(self) -> datetime:
        return self.received_at.astimezone(ZoneInfo(self.time_zone))

    @property
    def overdue(self) -> bool:
        return any(r.overdue for r in self.rights)

    @property
    def due_soon(self) -> bool:
        return not self.overdue and any(r.due_soon for r in self.rights)

    @property
    def next_due(self) -> date | None:
        return min((r.next_due for r in self.rights if r.next_due is not None), default=None)

    @property
    def open_rights(self) -> tuple[str, ...]:
        return tuple(r.right for r in self.rights if not r.done)

    @property
    def state(self) -> str:
        if self.resolved_at is not None:
            return "resolved"
        return "acknowledged" if self.acknowledged_at is not None else "new"

    @property
    def next_step(self) -> str:
        """What the clinician should do next, in a few words (no client data)."""
        if self.resolved_at is not None:
            return "nothing: resolved"
        if self.emergent and self.acknowledged_at is None:
            return "respond now (call the client first), then acknowledge"
        for r in self.rights:
            name = r.right.replace("_", " ")
            if r.state == "open":
                return f"send the {name} request form (standard 10)"
            if r.state == "forms_sent":
                return f"wait for the signed {name} form; record it when it arrives"
            if r.state == "signed_form_received":
                by = f" by {r.next_due.isoformat()}" if r.next_due else ""
                return f"fulfil or deny the {name} request{by}"
        if self.acknowledged_at is None:
            return "review and acknowledge"
        return "resolve with a note when done"


# --------------------------------------------------------------------------- reading


def queue(session: Session, crypto: Crypto, *, clinician: str | None = None, program: str | None = None,
          overdue: bool = False, include_resolved: bool = False, rules: ClocksConfig | None = None,
          who: str | None = None) -> list[QueueItem]:
    """The flagged items, emergent first, then by priority; within a priority unacknowledged emergent
    items, then overdue rights requests, then the oldest. `clinician` (any of their addresses) limits
    it to their mailboxes, `program` to the program's; `overdue` to overdue rights requests. With
    `who` the view is audited (the list holds no message text)."""
    rules = rules or ClocksConfig()
    query = _base_query().where(or_(
        AssessmentRow.flags != "",
        # A message the detector missed joins the queue once someone corrects its labels.
        AssessmentRow.message_record_id.in_(select(LabelCorrection.message_record_id))))
    if clinician:
        query = query.where(Mailbox.clinician_email == primary_email(session, clinician))
    if program:
        query = query.where(Clinician.program_id == program)
    if not include_resolved:
        query = query.where(AssessmentRow.resolved_at.is_(None))
    rows = session.execute(query).all()
    ids = [r[0].message_record_id for r in rows]
    rights = _rights_rows(session, ids)
    corrections = _corrections(session, ids)
    t = now()
    items = [_item(row, rights.get(row[0].message_record_id, {}), corrections.get(row[0].message_record_id, []),
                   rules, t, action_kinds=_action_kinds(crypto, row[0])) for row in rows]
    if overdue:
        items = [i for i in items if i.overdue]
    items.sort(key=_order)
    if who is not None:
        audit(session, "queue_viewed", actor=who, clinician=clinician or "", program=program or "",
              overdue=overdue, include_resolved=include_resolved, items=len(items))
    return items


def item(session: Session, crypto: Crypto, item_id: int, *, who: str, rules: ClocksConfig | None = None,
         evidence: bool = True, clinician: str | None = None, program: str | None = None) -> QueueItem:
    """One item with its reasons, required actions and their outbox state, corrections and clocks.
    With `evidence` it holds protected health information (the evidence phrases, the addresses and
    phones the actions use, the resolution note and extension reasons): for the clinician's own
    screen. `clinician`/`program` restrict it as the queue does (ItemError outside them: a web page's
    404). Audited as "item_viewed" with whether evidence was shown."""
    rules = rules or ClocksConfig()
    row = session.execute(_base_query().where(AssessmentRow.message_record_id == item_id)).first()
    if row is None or not _in_scope(session, row, clinician, program):
        raise ItemError(f"no item {item_id}")
    a, record = row[0], row[1]
    detail = crypto.decrypt_json(a.detail_enc)
    rights_rows = _rights_rows(session, [item_id]).get(item_id, {})
    corrections = _corrections(session, [item_id]).get(item_id, [])
    base = _item(row, rights_rows, corrections, rules, now(),
                 action_kinds=tuple(x["kind"] for x in detail["actions"]),
                 crypto=crypto if evidence else None)
    reasons = tuple(Reason(**r) for r in detail["reasons"])
    actions = tuple(Action(**{**x, "rights": tuple(x["rights"]), "client_ids": tuple(x["client_ids"])})
                    for x in detail["actions"])
    if not evidence:
        reasons = tuple(replace(r, evidence="") for r in reasons)
        actions = tuple(replace(x, to="", phone="", mailing_address="", client_ids=()) for x in actions)
    outbox = _outbox(session, crypto, a, record, item_id)
    required = tuple(RequiredAction(x, _action_state(x.kind, outbox)) for x in actions)
    note = crypto.decrypt_json(a.resolution_enc)["note"] if evidence and a.resolution_enc else ""
    audit(session, "item_viewed", actor=who, mailbox_id=a.mailbox_id, message_record_id=item_id,
          evidence=evidence)
    return replace(base, reasons=reasons, actions=required, outbox=outbox, corrections=tuple(corrections),
                   resolution_note=note, evidence=evidence)


def visible(session: Session, item_id: int, *, clinician: str | None = None, program: str | None = None) -> bool:
    """Whether the item exists within a clinician's mailboxes or a program (for the web pages' 404)."""
    row = session.execute(_base_query().where(AssessmentRow.message_record_id == item_id)).first()
    return row is not None and _in_scope(session, row, clinician, program)


def program_zone(session: Session, item_id: int) -> str:
    """The time zone of the item's program: its deadlines are days there."""
    return _received_and_zone(session, item_id)[1]


def primary_email(session: Session, address: str) -> str:
    """A clinician's primary address from any of their addresses (aliases too)."""
    address = address.strip().lower()
    found = session.scalar(select(ClinicianAddress.clinician_email).where(ClinicianAddress.address == address))
    return found or address


# --------------------------------------------------------------------------- actions


def acknowledge(session: Session, item: int, who: str) -> bool:
    """Record that someone has seen the item and is acting on it (it stops an emergent item's escalation).
    False when it was already acknowledged (the first acknowledgement stands)."""
    row = session.scalar(select(AssessmentRow).where(AssessmentRow.message_record_id == item))
    if row is None:
        raise ItemError(f"no item {item}")
    if row.acknowledged_at is not None:
        return False
    row.acknowledged_at, row.acknowledged_by = now(), who
    audit(session, "item_acknowledged", actor=who, mailbox_id=row.mailbox_id, message_record_id=item,
          emergent=row.emergent)
    return True


def resolve(session: Session, crypto: Crypto, item: int, who: str, note: str) -> None:
    """Close an item with a note (kept encrypted: it may name the client). An item whose rights
    requests are still open cannot be resolved (standard 10: sending the forms does not finish a
    request): record them fulfilled or denied first, or correct the rights if there were none.
    Resolving acknowledges an item not yet acknowledged."""
    if not note.strip():
        raise ItemError("a note is required to resolve an item (what was done)")
    row = _assessment(session, item)
    if row.resolved_at is not None:
        raise ItemError(f"item {item} was already resolved by {row.resolved_by}")
    open_rights = [r for r in _effective_rights(session, row) if _right_state(session, item, r) not in DONE]
    if open_rights:
        raise ItemError(f"item {item} has open rights requests ({', '.join(open_rights)}): record each "
                        "fulfilled or denied first (or correct the rights if none was requested)")
    acknowledge(session, item, who)
    row.resolved_at, row.resolved_by = now(), who
    row.resolution_enc = crypto.encrypt_json({"note": note.strip()})
    audit(session, "item_resolved", actor=who, mailbox_id=row.mailbox_id, message_record_id=item)


def record_request_step(session: Session, item: int, right: str, step: str, who: str, *,
                        at: datetime | None = None) -> None:
    """Move one right's request along: forms_sent -> signed_form_received -> fulfilled | denied.
    Steps only go forward; forms_sent may be skipped (the client brought a signed form). A request
    is fulfilled only once its signed form is in (standard 10); it may be denied at any point.
    `at` is when it happened (default now; never in the future): with clocks.start = "signed_form"
    the signed form's day starts the clock."""
    step = step.replace("-", "_")
    if step not in STEPS:
        raise ItemError(f"unknown step {step!r}; expected one of {', '.join(STEPS)}")
    row = _assessment(session, item)
    _require_right(session, row, right)
    t = now()
    when = at or t
    if when.tzinfo is None:
        raise ItemError("the time of a step needs its time zone")
    if when > t + timedelta(minutes=5):
        raise ItemError("a step cannot be recorded for a time in the future")
    rr = _rights_request(session, item, right)
    if rr.state in DONE:
        raise ItemError(f"the {right} request of item {item} is already {rr.state}")
    if _RANK[step] <= _RANK[rr.state]:
        raise ItemError(f"the {right} request of item {item} is already at {rr.state}; steps only go forward")
    if step == "fulfilled" and rr.state != "signed_form_received":
        raise ItemError(f"the {right} request of item {item} cannot be fulfilled before its signed form is "
                        "received (standard 10)")
    if step == "forms_sent":
        rr.forms_sent_at, rr.forms_sent_by = when, who
    elif step == "signed_form_received":
        rr.signed_form_at, rr.signed_form_by = when, who
    else:
        rr.closed_at, rr.closed_by = when, who
    previous, rr.state, rr.updated_at = rr.state, step, t
    audit(session, "rights_step", actor=who, mailbox_id=row.mailbox_id, message_record_id=item, right=right,
          step=step, previous=previous, at=when.isoformat())


def extend(session: Session, crypto: Crypto, item: int, right: str, who: str, reason: str, *,
           rules: ClocksConfig | None = None) -> date:
    """Record the one 30-day extension of an access, amendment or accounting request, with the reason
    given to the client in writing (encrypted). It must be taken before the first deadline passes.
    Returns the new federal deadline."""
    rules = rules or ClocksConfig()
    if not reason.strip():
        raise ItemError("a reason is required for an extension (the client must be told it in writing)")
    if not clocks.extension_allowed(right):
        raise ItemError(f"no extension exists for a {right.replace('_', ' ')} request; only for "
                        f"{', '.join(clocks.EXTENDABLE)}")
    row = _assessment(session, item)
    _require_right(session, row, right)
    rr = _rights_request(session, item, right)
    if rr.extended_at is not None:
        raise ItemError(f"the {right} request of item {item} was already extended on "
                        f"{rr.extended_at:%Y-%m-%d} by {rr.extended_by}; the rule allows one extension")
    if rr.state in DONE:
        raise ItemError(f"the {right} request of item {item} is already {rr.state}")
    received, zone = _received_and_zone(session, item)
    start = clocks.start_day(received, zone, rules, rr.signed_form_at)
    first = clocks.first_deadline(right, start, rules)
    if first is None:
        raise ItemError(f"the {right} clock of item {item} has not started (it starts when the signed form "
                        "is received)")
    t = now()
    if clocks.overdue(first, clocks.local_date(t, zone)):
        raise ItemError(f"the {right} request of item {item} was due {first.isoformat()}; an extension must "
                        "be taken before the first deadline")
    rr.extended_at, rr.extended_by, rr.updated_at = t, who, t
    rr.extension_reason_enc = crypto.encrypt_json({"reason": reason.strip()})
    new_due = first + timedelta(days=rules.extension_days)
    audit(session, "rights_extended", actor=who, mailbox_id=row.mailbox_id, message_record_id=item, right=right,
          due=new_due.isoformat())
    return new_due


def correct(session: Session, crypto: Crypto, item: int, who: str, *, emergent: bool | None = None,
            rights: Sequence[str] | None = None, purpose: str | None = None,
            clinical_question: bool | None = None) -> int:
    """Record a person's correction of the labels (emergent, which rights, purpose, clinical question)
    as training data in the store; returns its id. Only the labels given are corrected (`rights=()`
    means none was requested). The message text is not in the store: the correction keeps the
    assessment's evidence phrases, encrypted."""
    if emergent is None and rights is None and purpose is None and clinical_question is None:
        raise ItemError("nothing to correct: give emergent, rights, purpose or clinical_question")
    if rights is not None:
        unknown = [r for r in rights if r not in clocks.RIGHTS]
        if unknown:
            raise ItemError(f"unknown right {unknown[0]!r}; expected any of {', '.join(clocks.RIGHTS)}")
        rights = tuple(r for r in clocks.RIGHTS if r in rights)
    if purpose is not None and purpose not in PURPOSES:
        raise ItemError(f"unknown purpose {purpose!r}; expected one of {', '.join(PURPOSES)}")
    row = _assessment(session, item)
    labels = _labels(row, _corrections(session, [item]).get(item, []))
    if (purpose or labels["purpose"]) == "clinical_question" and clinical_question is False:
        raise ItemError("a message whose purpose is a clinical question asks one: correct the purpose too")
    detail = crypto.decrypt_json(row.detail_enc)
    phrases = _evidence_phrases(detail["reasons"], skip=row.emergent_kind)
    before = {"emergent": row.emergent, "emergent_kind": row.emergent_kind, "emergent_score": row.emergent_score,
              "hipaa_rights": row.hipaa_rights.split(), "purpose": row.purpose,
              "clinical_question": row.clinical_question, "detector": row.detector}
    c = LabelCorrection(message_record_id=item, mailbox_id=row.mailbox_id, corrected_at=now(), corrected_by=who,
                        emergent=emergent, hipaa_rights=None if rights is None else " ".join(rights),
                        purpose=purpose, clinical_question=clinical_question, before=before,
                        evidence_enc=crypto.encrypt_json({"evidence": phrases}))
    session.add(c)
    session.flush()
    given = {"emergent": emergent, "hipaa_rights": None if rights is None else list(rights), "purpose": purpose,
             "clinical_question": clinical_question}
    audit(session, "labels_corrected", actor=who, mailbox_id=row.mailbox_id, message_record_id=item,
          correction_id=c.id, **{k: v for k, v in given.items() if v is not None})
    return c.id


# --------------------------------------------------------------------------- training data


def corrections_for_training(session: Session, crypto: Crypto) -> list[dict[str, Any]]:
    """One row per corrected message, with the fields of models/data/*.jsonl rows except `subject`,
    `body` and `writer` (the store keeps no message text): the latest value of each label a person
    corrected, the assessment's for the others (named in `corrected`, so a trainer can weigh
    confirmed labels), and the evidence phrases. PHI: write it only where the training data lives."""
    out: list[dict[str, Any]] = []
    ids = list(dict.fromkeys(session.scalars(select(LabelCorrection.message_record_id)
                                             .order_by(LabelCorrection.id))))
    corrections = _corrections(session, ids)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        rows = session.execute(select(AssessmentRow, MessageRecord.language)
                               .join(MessageRecord, MessageRecord.id == AssessmentRow.message_record_id)
                               .where(AssessmentRow.message_record_id.in_(chunk)))
        by_id = {a.message_record_id: (a, lang) for a, lang in rows}
        latest_evidence = {c.message_record_id: c.evidence_enc for c in session.scalars(
            select(LabelCorrection).where(LabelCorrection.message_record_id.in_(chunk))
            .order_by(LabelCorrection.id))}
        for item_id in chunk:
            if item_id not in by_id:
                continue
            a, lang = by_id[item_id]
            cs = corrections[item_id]
            labels = _labels(a, cs)
            corrected = sorted({k for c in cs for k, v in _given(c).items() if v is not None})
            emergent_kind = a.emergent_kind if labels["emergent"] and a.emergent else ""
            enc = latest_evidence.get(item_id)
            out.append({
                "id": f"corr-{item_id}", "lang": lang or "", "emergent": labels["emergent"],
                "emergent_kind": emergent_kind, "hipaa_rights": list(labels["hipaa_rights"]),
                "purpose": labels["purpose"], "clinical_question": labels["clinical_question"],
                # A detector's false emergent corrected by a person: a hard negative of a kind nobody named.
                "hard_negative": "corrected" if a.emergent and not labels["emergent"] else "",
                "evidence": crypto.decrypt_json(enc)["evidence"] if enc else [],
                "corrected": corrected, "item": item_id, "detector": a.detector,
                "corrected_at": max(c.at for c in cs).isoformat(),
            })
    return out


# --------------------------------------------------------------------------- internals


def _base_query():  # type: ignore[no-untyped-def]
    return (select(AssessmentRow, MessageRecord, Mailbox.name, Mailbox.clinician_email, Clinician.time_zone,
                   Clinician.program_id, Program.time_zone)
            .join(MessageRecord, MessageRecord.id == AssessmentRow.message_record_id)
            .join(Mailbox, Mailbox.id == AssessmentRow.mailbox_id)
            .join(Clinician, Clinician.email == Mailbox.clinician_email)
            .join(Program, Program.id == Clinician.program_id))


def _in_scope(session: Session, row: Any, clinician: str | None, program: str | None) -> bool:
    if clinician and row[3] != primary_email(session, clinician):
        return False
    return not (program and row[5] != program)


def _assessment(session: Session, item: int) -> AssessmentRow:
    row = session.scalar(select(AssessmentRow).where(AssessmentRow.message_record_id == item))
    if row is None:
        raise ItemError(f"no item {item}")
    return row


def _received_and_zone(session: Session, item: int) -> tuple[datetime, str]:
    """When the message arrived and the program's zone, the two things a clock starts from."""
    received, recorded, zone = session.execute(
        select(MessageRecord.received_at, MessageRecord.recorded_at, Program.time_zone)
        .join(Mailbox, Mailbox.id == MessageRecord.mailbox_id)
        .join(Clinician, Clinician.email == Mailbox.clinician_email)
        .join(Program, Program.id == Clinician.program_id)
        .where(MessageRecord.id == item)).first() or (None, None, None)
    if zone is None:
        raise ItemError(f"no item {item}")
    return received or recorded, zone


def _effective_rights(session: Session, row: AssessmentRow) -> tuple[str, ...]:
    return _labels(row, _corrections(session, [row.message_record_id]).get(row.message_record_id, []))[
        "hipaa_rights"]


def _require_right(session: Session, row: AssessmentRow, right: str) -> None:
    if right not in clocks.RIGHTS:
        raise ItemError(f"unknown right {right!r}; expected one of {', '.join(clocks.RIGHTS)}")
    rights = _effective_rights(session, row)
    if right not in rights:
        have = ", ".join(rights) or "none"
        raise ItemError(f"item {row.message_record_id} holds no {right} request (its rights: {have}); "
                        "correct the rights first if it does")


def _rights_request(session: Session, item: int, right: str) -> RightsRequest:
    rr = session.scalar(select(RightsRequest).where(RightsRequest.message_record_id == item,
                                                    RightsRequest.right == right))
    if rr is None:
        rr = RightsRequest(message_record_id=item, right=right, state="open", updated_at=now())
        session.add(rr)
        session.flush()
    return rr


def _right_state(session: Session, item: int, right: str) -> str:
    state = session.scalar(select(RightsRequest.state).where(RightsRequest.message_record_id == item,
                                                             RightsRequest.right == right))
    return state or "open"


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i:i + _CHUNK])


def _rights_rows(session: Session, ids: Sequence[int]) -> dict[int, dict[str, RightsRequest]]:
    out: dict[int, dict[str, RightsRequest]] = {}
    for chunk in _chunks(ids):
        for rr in session.scalars(select(RightsRequest).where(RightsRequest.message_record_id.in_(chunk))):
            out.setdefault(rr.message_record_id, {})[rr.right] = rr
    return out


def _corrections(session: Session, ids: Sequence[int]) -> dict[int, list[Correction]]:
    out: dict[int, list[Correction]] = {}
    for chunk in _chunks(ids):
        rows = session.execute(select(LabelCorrection.id, LabelCorrection.message_record_id,
                                      LabelCorrection.corrected_at, LabelCorrection.corrected_by,
                                      LabelCorrection.emergent, LabelCorrection.hipaa_rights, LabelCorrection.purpose,
                                      LabelCorrection.clinical_question)
                               .where(LabelCorrection.message_record_id.in_(chunk)).order_by(LabelCorrection.id))
        for cid, item_id, at, by, emergent, rights, purpose, clinical in rows:
            out.setdefault(item_id, []).append(Correction(
                cid, at, by, emergent, None if rights is None else tuple(rights.split()), purpose, clinical))
    return out


def _given(c: Correction) -> dict[str, Any]:
    return {"emergent": c.emergent, "hipaa_rights": c.hipaa_rights, "purpose": c.purpose,
            "clinical_question": c.clinical_question}


def _labels(row: AssessmentRow, corrections: Sequence[Correction]) -> dict[str, Any]:
    """The assessment's labels with the latest correction of each applied."""
    labels: dict[str, Any] = {"emergent": row.emergent, "hipaa_rights": tuple(row.hipaa_rights.split()),
                              "purpose": row.purpose, "clinical_question": row.clinical_question}
    for c in corrections:  # oldest first: the latest wins
        labels.update({k: v for k, v in _given(c).items() if v is not None})
    if labels["purpose"] == "clinical_question":
        labels["clinical_question"] = True
    return labels


def _flags(row: AssessmentRow, labels: dict[str, Any]) -> tuple[str, ...]:
    flags = set(row.flags.split())
    for flag, on in (("emergent", labels["emergent"]), ("rights_request", bool(labels["hipaa_rights"])),
                     ("clinical_question", labels["clinical_question"])):
        if on:
            flags.add(flag)
        else:
            flags.discard(flag)
    return tuple(f for f in FLAGS if f in flags)


def _build_right(right: str, rr: RightsRequest | None, received_at: datetime, zone: str, rules: ClocksConfig,
                 t: datetime, crypto: Crypto | None) -> RightState:
    state = rr.state if rr else "open"
    start = clocks.start_day(received_at, zone, rules, rr.signed_form_at if rr else None)
    extended = bool(rr and rr.extended_at)
    dls = clocks.deadlines(right, start, rules, extended=extended)
    today = clocks.local_date(t, zone)
    open_dls = () if state in DONE else dls
    is_overdue = any(d.overdue(today) for d in open_dls)
    first = clocks.first_deadline(right, start, rules)
    steps: list[Step] = []
    if rr:
        if rr.forms_sent_at:
            steps.append(Step("forms_sent", rr.forms_sent_at, rr.forms_sent_by))
        if rr.signed_form_at:
            steps.append(Step("signed_form_received", rr.signed_form_at, rr.signed_form_by))
        if rr.closed_at:
            steps.append(Step(rr.state, rr.closed_at, rr.closed_by))
    reason = ""
    if crypto is not None and rr is not None and rr.extension_reason_enc:
        reason = crypto.decrypt_json(rr.extension_reason_enc)["reason"]
    return RightState(
        right=right, standard=RIGHT_STANDARD[right], state=state, steps=tuple(steps),
        clock_started=start is not None or right == "restriction", deadlines=dls, extended=extended,
        can_extend=(clocks.extension_allowed(right) and not extended and state not in DONE and first is not None
                    and not clocks.overdue(first, today)),
        overdue=is_overdue,
        due_soon=not is_overdue and any(clocks.due_within(d.due, today, rules.due_soon_days) for d in open_dls),
        next_due=min((d.due for d in open_dls), default=None), extension_reason=reason)


def _item(row: Any, rights_rows: dict[str, RightsRequest], corrections: Sequence[Correction], rules: ClocksConfig,
          t: datetime, *, action_kinds: tuple[str, ...], crypto: Crypto | None = None) -> QueueItem:
    a, record, mailbox, clinician, clinician_zone, program, program_zone = row
    labels = _labels(a, corrections)
    flags = _flags(a, labels)
    received = record.received_at or record.recorded_at
    rights = tuple(_build_right(r, rights_rows.get(r), received, program_zone, rules, t, crypto)
                   for r in labels["hipaa_rights"])
    return QueueItem(
        item=a.message_record_id, mailbox_id=a.mailbox_id, mailbox=mailbox, clinician=clinician, program=program,
        time_zone=clinician_zone or program_zone, program_time_zone=program_zone, received_at=received,
        priority=_priority(flags), flags=flags, assessed_flags=tuple(a.flags.split()),
        standards=tuple(a.standards.split()), emergent=labels["emergent"], hipaa_rights=labels["hipaa_rights"],
        purpose=labels["purpose"], clinical_question=labels["clinical_question"], consent=a.consent,
        acknowledged_at=a.acknowledged_at, acknowledged_by=a.acknowledged_by, resolved_at=a.resolved_at,
        resolved_by=a.resolved_by, rights=rights, action_kinds=action_kinds, corrected=bool(corrections))


def _action_kinds(crypto: Crypto, a: AssessmentRow) -> tuple[str, ...]:
    # The kinds are fixed names, but they sit in the encrypted detail with the addresses they use.
    return tuple(x["kind"] for x in crypto.decrypt_json(a.detail_enc)["actions"])


def _order(i: QueueItem) -> tuple[int, int, int, datetime, int]:
    waiting = 0 if i.emergent and i.acknowledged_at is None else 1
    return (i.priority, waiting, 0 if i.overdue else 1, i.received_at, i.item)


def _outbox(session: Session, crypto: Crypto, a: AssessmentRow, record: MessageRecord,
            item_id: int) -> tuple[OutboxState, ...]:
    """The item's own outbox rows, and the thread's draft and note (planned once per thread, so a later
    message of the thread shares the first one's)."""
    facts = crypto.decrypt_json(record.facts_enc) if record.facts_enc else {}
    thread = thread_key(record.message_id, facts.get("in_reply_to") or "", facts.get("references") or [])
    thread = thread or f"record-{item_id}"
    keys = [f"draft:rights:{a.mailbox_id}:{thread}", f"note:{a.mailbox_id}:{thread}"]
    rows = session.scalars(select(OutboxRow).where(or_(OutboxRow.message_record_id == item_id,
                                                       OutboxRow.key.in_(keys))).order_by(OutboxRow.id))
    return tuple(OutboxState(r.id, r.kind, r.state, r.attempts, r.created_at, r.done_at, dict(r.detail))
                 for r in rows)


def _action_state(kind: str, outbox: Sequence[OutboxState]) -> str:
    kinds = _OUTBOX_KINDS.get(kind, ())
    states = {o.state for o in outbox if o.kind in kinds}
    if not kinds:
        return "by hand"
    return next((s for s in _STATE_ORDER if s in states), "not planned")


def _evidence_phrases(reasons: Sequence[dict[str, Any]], skip: str = "") -> list[str]:
    """The detector's evidence among the reasons (emergent, rights, clinical question, purpose), not the
    consent check's (addresses, condition codes). `skip`: the emergent kind, which policy puts in
    place of a phrase when the detector gave none."""
    detector_standards = {*RIGHT_STANDARD.values(), "8", "7a", "7b", "7c", "7d"}
    phrases: list[str] = []
    for r in reasons:
        if r.get("flag") == "emergent" or r.get("standard") in detector_standards:
            phrases += [p.strip() for p in (r.get("evidence") or "").split("; ") if p.strip() and p.strip() != skip]
    return list(dict.fromkeys(phrases))
