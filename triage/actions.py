"""Carrying out the outbox: flags and copies on the original, drafts and notes APPENDed to the
clinician's mailbox, alerts and escalations by SMTP. Never anything to a client.

Every action is idempotent: a flag added twice changes nothing; a draft or note carries an
`X-Triage-Item` header and a retry first looks for it (a worker killed between the APPEND
and the store's commit leaves one draft, not two); an alert is marked done in the store
the moment it is sent. A failing action is retried with backoff and, after
`actions.max_attempts`, marked failed and reported to the administrator. Each outcome is in
the audit trail.

Mailbox actions run in the mailbox's own poll job, on its own connection (an ImapSource is
not thread-safe); mail actions run in their own job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from triage import outbox
from triage.clock import now
from triage.config import Config
from triage.crypto import Crypto
from triage.drafts import to_bytes
from triage.mailer import Mailer
from triage.sources import MailSource
from triage.store import Store
from triage.store import assessments as assessment_store
from triage.store import consent as consent_store
from triage.store import outbox as outbox_store
from triage.store.models import AssessmentRow, Mailbox, MessageRecord, OutboxRow, WorkerHeartbeat

log = logging.getLogger("triage.actions")

MAILBOX_KINDS = ("flag", "draft", "note")
MAIL_KINDS = ("alert", "escalation", "operator_alert")
ITEM_HEADER = "X-Triage-Item"


class Refused(Exception):
    """The action must not be done (a draft that would break standard 4, 5 or 8); not retried."""


@dataclass
class RunResult:
    done: int = 0
    retried: int = 0
    failed: int = 0
    refused: int = 0
    skipped: int = 0


# A renderer turns an outbox row (with its message, assessment and registry record) into mail.
Renderer = Callable[["ActionContext"], EmailMessage]


@dataclass(frozen=True)
class ActionContext:
    row_id: int
    kind: str
    detail: dict[str, Any]
    payload: dict[str, Any]
    item_id: str  # the item (the message's record id): X-Triage-Item, one per folder
    record_id: int | None
    mailbox: str
    clinician: str
    facts: dict[str, Any]  # the message's addresses and thread ids (decrypted)
    assessment: Any  # triage.policy.Assessment | None
    received_at: Any
    client: Any = None  # the registry record of the client it is about (triage.registry.ConsentRecord)


class Actions:
    def __init__(self, config: Config, store: Store, crypto: Crypto, *, mailer: Mailer | None = None,
                 renderers: dict[str, Renderer] | None = None) -> None:
        self.config = config
        self.store = store
        self.crypto = crypto
        self.mailer = mailer or Mailer(config.smtp, base_dir=config.path.resolve().parent if config.path else None)
        self.renderers = renderers or default_renderers(config)
        self._mail_lock = threading.Lock()
        self._no_keywords_said: set[int] = set()

    # ------------------------------------------------------------------ mailbox actions

    def run_mailbox(self, mailbox_id: int, source: MailSource, *, limit: int = 200) -> RunResult:
        with self.store.begin() as s:
            ids = [r.id for r in outbox_store.due(s, kinds=MAILBOX_KINDS, mailbox_id=mailbox_id, limit=limit)]
        result = RunResult()
        for row_id in ids:
            self._run(row_id, result, lambda ctx: self._mailbox_action(ctx, source, mailbox_id))
        return result

    def _mailbox_action(self, ctx: ActionContext, source: MailSource, mailbox_id: int) -> tuple[str, str]:
        if ctx.kind == "flag":
            return self._flag(ctx, source, mailbox_id)
        message = self.renderers[ctx.kind](ctx)
        if ITEM_HEADER not in message:
            message[ITEM_HEADER] = ctx.item_id
        item = str(message[ITEM_HEADER])
        if self.config.actions.shadow_mode:
            return "skipped", "shadow mode: the mailbox is not changed"
        if not hasattr(source, "append"):
            return "done", "recorded in the store (a Maildir source is never written to)"
        folder, flags = self._folder_for(ctx.kind, source)
        source.ensure_folder(folder)  # type: ignore[attr-defined]
        if source.find_header(folder, ITEM_HEADER, item):  # type: ignore[attr-defined]
            return "done", "already in the mailbox (an earlier try appended it)"
        source.append(folder, to_bytes(message), flags)  # type: ignore[attr-defined]
        return "done", f"appended to the {'drafts' if ctx.kind == 'draft' else 'notes'} folder"

    def _folder_for(self, kind: str, source: Any) -> tuple[str, list[str]]:
        if kind == "draft":
            return source.special_use("Drafts") or self.config.actions.drafts_folder, ["\\Draft"]
        return self.config.actions.notes_folder, []

    def _flag(self, ctx: ActionContext, source: MailSource, mailbox_id: int) -> tuple[str, str]:
        a = self.config.actions
        if a.shadow_mode:
            return "skipped", "shadow mode: the mailbox is not changed"
        if not hasattr(source, "add_flags"):
            return "done", "recorded in the store (a Maildir source is never written to)"
        with self.store.begin() as s:
            record = s.get(MessageRecord, ctx.record_id)
            assert record is not None and record.uid is not None
            folder, uidvalidity, uid = record.folder, record.uidvalidity, record.uid
        keywords = [k for k in ctx.payload.get("keywords", []) if k.startswith("$")]
        system = [k for k in ctx.payload.get("keywords", []) if k.startswith("\\")]
        supports = a.keywords and source.supports_keywords(folder)  # type: ignore[attr-defined]
        if a.keywords and not supports and mailbox_id not in self._no_keywords_said:
            self._no_keywords_said.add(mailbox_id)
            log.warning("the server keeps no custom keywords in this folder; flagged mail is copied to folders "
                        "instead", extra={"mailbox_id": mailbox_id})
        flags = (keywords if supports else []) + system
        if flags and not source.add_flags(folder, uidvalidity, uid, flags):  # type: ignore[attr-defined]
            return "skipped", "the message is no longer in its folder"
        copies = 0
        if a.copy_to_folders or (a.keywords and not supports):
            for name in ctx.payload.get("folders", []):
                if source.copy(folder, uidvalidity, uid, f"{a.folder_prefix}/{name}"):  # type: ignore[attr-defined]
                    copies += 1
        return "done", f"{len(flags)} flag(s) set, {copies} folder cop{'y' if copies == 1 else 'ies'}"

    # ------------------------------------------------------------------ mail: alerts and escalations

    def run_mail(self, *, limit: int = 100) -> RunResult:
        """Send due alerts, escalations and operator alerts (one thread at a time)."""
        result = RunResult()
        with self._mail_lock:
            self.plan_escalations()
            self.watch_workers()
            with self.store.begin() as s:
                ids = [r.id for r in outbox_store.due(s, kinds=MAIL_KINDS, limit=limit)]
            for row_id in ids:
                self._run(row_id, result, self._send)
        return result

    def _send(self, ctx: ActionContext) -> tuple[str, str]:
        message = self.renderers[ctx.kind](ctx)
        to = [str(ctx.payload["to"])]
        if self.config.actions.shadow_mode:
            to = [self.config.alerts.shadow_address]
        del message["To"]
        message["To"] = ", ".join(to)
        # SMTP is at-least-once: a worker killed after the server took the alert and before the store
        # recorded it sends it again (a duplicate alert beats a lost one). The same Message-ID on every
        # try lets mail clients and gateways fold such a duplicate into one.
        domain = self.config.smtp.from_address.rpartition("@")[2] or "triage.invalid"
        del message["Message-ID"]
        message["Message-ID"] = f"<triage-{ctx.kind}-{ctx.row_id}@{domain}>"
        self.mailer.send(message, to)
        return "done", "sent"

    def plan_escalations(self) -> int:
        """Emergent items not acknowledged in time: escalate to the program's supervisors, then again."""
        al = self.config.alerts
        t = now()
        added = 0
        with self.store.begin() as s:
            rows = s.execute(
                select(AssessmentRow.message_record_id, AssessmentRow.mailbox_id, MessageRecord.recorded_at,
                       Mailbox.clinician_email)
                .join(MessageRecord, MessageRecord.id == AssessmentRow.message_record_id)
                .join(Mailbox, Mailbox.id == AssessmentRow.mailbox_id)
                .where(AssessmentRow.emergent.is_(True), AssessmentRow.acknowledged_at.is_(None),
                       MessageRecord.recorded_at >= t - timedelta(days=7)))
            for record_id, mailbox_id, recorded_at, clinician in rows:
                waited = t - recorded_at
                level = 2 if waited >= timedelta(minutes=al.second_escalation_minutes) else (
                    1 if waited >= timedelta(minutes=al.ack_minutes) else 0)
                if not level:
                    continue
                program = self._program_of(clinician)
                targets = list(program.supervisors) if program else []
                if level == 2 and program:
                    targets += outbox.on_call(program, t)
                targets = targets or ([al.admin_address] if al.admin_address else [])
                planned = [outbox.Planned("escalation", f"escalation:{record_id}:{n}:{address}",
                                          {"level": n, "standard": "6"}, {"to": address})
                           for n in range(1, level + 1) for address in dict.fromkeys(targets)]
                added += len(outbox_store.add(s, planned, self.crypto, mailbox_id=mailbox_id, record_id=record_id))
        return added

    def watch_workers(self) -> None:
        """A worker that has not completed a poll in `worker.stale_poll_minutes` (and did not stop) is
        reported once to the administrator: any running worker notices another's silence."""
        limit = now() - timedelta(minutes=self.config.worker.stale_poll_minutes)
        with self.store.begin() as s:
            stale = [(hb.name, hb.last_poll_at or hb.started_at) for hb in s.scalars(select(WorkerHeartbeat).where(
                WorkerHeartbeat.stopped_at.is_(None)))
                if (hb.last_poll_at or hb.started_at) < limit]
        for name, last in stale:
            self.operator_alert(f"worker:{name}:{last.isoformat()}", "a worker has not completed a poll in time",
                                worker=name, last_poll=last.isoformat(timespec="seconds"))

    def _program_of(self, clinician: str) -> Any:
        c = next((c for c in self.config.clinicians if c.email == clinician), None)
        return next((p for p in self.config.programs if c and p.id == c.program), None)

    def operator_alert(self, key: str, what: str, **detail: Any) -> None:
        """Plan one alert to the administrator (`key` makes it once only); nothing when none is configured."""
        address = self.config.alerts.admin_address
        if not address:
            return
        with self.store.begin() as s:
            outbox_store.add(s, [outbox.Planned("operator_alert", f"operator:{key}", {"what": what, **detail},
                                                {"to": address})], self.crypto, mailbox_id=None, record_id=None)

    # ------------------------------------------------------------------ one action, exactly once

    def _run(self, row_id: int, result: RunResult, do: Callable[[ActionContext], tuple[str, str]]) -> None:
        with self.store.begin() as s:
            row = s.get(OutboxRow, row_id)
            if row is None or row.state != "pending":
                return
            ctx = self._context(s, row)
        try:
            state, outcome = do(ctx)
        except Refused as exc:
            with self.store.begin() as s:
                row = s.get(OutboxRow, row_id)
                assert row is not None
                outbox_store.finish(s, row, "refused", outcome=str(exc))
            log.warning("action refused", extra={"action_id": row_id, "kind": ctx.kind})
            result.refused += 1
            return
        except Exception as exc:  # a server down, a network error, a bug: retried with backoff
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
            with self.store.begin() as s:
                row = s.get(OutboxRow, row_id)
                assert row is not None
                failed = outbox_store.retry(s, row, error, max_attempts=self.config.actions.max_attempts,
                                            retry_max_seconds=self.config.actions.retry_max_seconds)
            log.warning("action failed; %s", "giving up" if failed else "will retry",
                        extra={"action_id": row_id, "kind": ctx.kind, "error_class": type(exc).__name__})
            if failed:
                result.failed += 1
                if ctx.kind != "operator_alert":
                    self.operator_alert(f"action-failed:{row_id}", "an action failed repeatedly", action_id=row_id,
                                        kind=ctx.kind)
            else:
                result.retried += 1
            return
        with self.store.begin() as s:
            row = s.get(OutboxRow, row_id)
            assert row is not None
            outbox_store.finish(s, row, state, outcome=outcome)
        setattr(result, state, getattr(result, state) + 1)

    def _context(self, s: Any, row: OutboxRow) -> ActionContext:
        facts: dict[str, Any] = {}
        received = None
        if row.message_record_id is not None:
            record = s.get(MessageRecord, row.message_record_id)
            if record is not None:
                received = record.received_at or record.recorded_at
                if record.facts_enc:
                    facts = self.crypto.decrypt_json(record.facts_enc)
                facts.update(message_id=record.message_id, language=record.language)
        mailbox = s.get(Mailbox, row.mailbox_id) if row.mailbox_id else None
        assessment = (assessment_store.load(s, self.crypto, row.message_record_id)
                      if row.message_record_id is not None else None)
        client = None
        if assessment is not None and assessment.client_ids and mailbox is not None:
            records = consent_store.load(s, self.crypto, clinician=mailbox.clinician_email)
            client = next((r for r in records if r.client_id == assessment.client_ids[0]), None)
        return ActionContext(row.id, row.kind, dict(row.detail), outbox_store.payload(row, self.crypto),
                             str(row.message_record_id) if row.message_record_id else f"op-{row.id}",
                             row.message_record_id, mailbox.name if mailbox else "",
                             mailbox.clinician_email if mailbox else "", facts, assessment, received, client)


def default_renderers(config: Config) -> dict[str, Renderer]:
    from triage import render

    return render.renderers(config)
