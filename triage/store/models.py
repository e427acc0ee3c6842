"""The store's tables (SQLAlchemy 2.x declarative).

What is kept of a message is metadata and the parsed facts later stages need;
never its body. Text that identifies a person (addresses) is kept encrypted.
All times are UTC.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from triage.clock import now


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and gives them back aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use triage.clock.now()")
        from datetime import UTC

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), date: Date(), dict: JSON, list: JSON}


# --------------------------------------------------------------------------- organisation


class Program(Base):
    __tablename__ = "programs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by: Mapped[str] = mapped_column(String(200), default="")
    approved_on: Mapped[date | None]
    time_zone: Mapped[str] = mapped_column(String(64))
    supervisors: Mapped[list[Supervisor]] = relationship(cascade="all, delete-orphan")
    on_call: Mapped[list[OnCallRule]] = relationship(cascade="all, delete-orphan", order_by="OnCallRule.position")


class Supervisor(Base):
    __tablename__ = "supervisors"
    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    __table_args__ = (UniqueConstraint("program_id", "email"),)


class OnCallRule(Base):
    """Cover for emergent mail; the first rule matching the program's local day and time wins."""

    __tablename__ = "on_call_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(320))
    days: Mapped[str] = mapped_column(String(20))  # "0,1,2,3,4" (0 = Monday)
    start: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" local time
    end: Mapped[str | None] = mapped_column(String(5))


class Clinician(Base):
    __tablename__ = "clinicians"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    time_zone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    addresses: Mapped[list[ClinicianAddress]] = relationship(cascade="all, delete-orphan")


class ClinicianAddress(Base):
    """Every address (primary and aliases) that reaches a clinician."""

    __tablename__ = "clinician_addresses"
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    clinician_email: Mapped[str] = mapped_column(ForeignKey("clinicians.email", ondelete="CASCADE"))


# --------------------------------------------------------------------------- mailboxes


class Mailbox(Base):
    __tablename__ = "mailboxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    clinician_email: Mapped[str] = mapped_column(ForeignKey("clinicians.email"))
    kind: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(16), default="config")  # config | store
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # no secrets: names of env vars/files only
    # health
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    failing_since: Mapped[datetime | None]
    failure_reported_at: Mapped[datetime | None]
    reauth_required: Mapped[bool] = mapped_column(Boolean, default=False)
    next_attempt_at: Mapped[datetime | None]
    keywords_supported: Mapped[bool | None] = mapped_column(Boolean)


class FolderState(Base):
    """The checkpoint of one watched folder: (uidvalidity, last_uid)."""

    __tablename__ = "folder_states"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int | None] = mapped_column(Integer)
    last_uid: Mapped[int] = mapped_column(Integer, default=0)
    uidvalidity_changes: Mapped[list] = mapped_column(JSON, default=list)  # ISO times of recent changes
    stopped_at: Mapped[datetime | None]
    stopped_reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (UniqueConstraint("mailbox_id", "folder"),)


# --------------------------------------------------------------------------- messages


class MessageRecord(Base):
    """One row per message key a source showed us: recorded, duplicate or quarantined.

    The set of rows is also the Maildir checkpoint. The unique key makes a second
    recording of the same (mailbox, folder, uidvalidity, key) impossible.
    """

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(255))
    uid: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # recorded | duplicate | quarantined
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    message_id: Mapped[str] = mapped_column(String(998), default="")
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the raw bytes
    size: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime] = mapped_column(default=now)
    parser: Mapped[str] = mapped_column(String(16), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    attachment_count: Mapped[int] = mapped_column(Integer, default=0)
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    defects: Mapped[list] = mapped_column(JSON, default=list)  # defect names only, no content
    facts_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted JSON: addresses, thread ids
    error: Mapped[str] = mapped_column(Text, default="")  # why it was quarantined
    __table_args__ = (
        UniqueConstraint("mailbox_id", "folder", "uidvalidity", "key", name="uq_message_source_key"),
        Index("ix_messages_identity", "mailbox_id", "digest"),
        Index("ix_messages_status", "status"),
    )


class Attempt(Base):
    """Tries at a message not yet recorded; committed before the try so a crash counts."""

    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    first_at: Mapped[datetime] = mapped_column(default=now)
    last_at: Mapped[datetime] = mapped_column(default=now)
    __table_args__ = (UniqueConstraint("mailbox_id", "folder", "uidvalidity", "key", name="uq_attempt_key"),)


class Quarantine(Base):
    """The encrypted raw bytes of a message that could not be processed, kept for a while."""

    __tablename__ = "quarantine"
    message_record_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"),
                                                   primary_key=True)
    raw_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    purge_after: Mapped[datetime]
    purged_at: Mapped[datetime | None]


# --------------------------------------------------------------------------- assessments


class AssessmentRow(Base):
    """The decision for one recorded message, written in the transaction that records it.

    The columns are categories a queue sorts and counts by (no client data); the reasons with
    their evidence, the actions with their addresses and the client ids are in `detail_enc`.
    """

    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_record_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    assessed_at: Mapped[datetime] = mapped_column(default=now)
    priority: Mapped[int] = mapped_column(Integer)
    flags: Mapped[str] = mapped_column(String(200), default="")  # space-separated, in policy.FLAGS order
    standards: Mapped[str] = mapped_column(String(200), default="")  # space-separated, e.g. "3 9a 10"
    emergent: Mapped[bool] = mapped_column(Boolean, default=False)
    emergent_score: Mapped[float] = mapped_column(Float, default=0.0)
    emergent_kind: Mapped[str] = mapped_column(String(32), default="")
    hipaa_rights: Mapped[str] = mapped_column(String(200), default="")  # space-separated
    purpose: Mapped[str] = mapped_column(String(32), default="other")
    clinical_question: Mapped[bool] = mapped_column(Boolean, default=False)
    multiple_clients: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[str] = mapped_column(String(16), default="unknown")
    consent_failures: Mapped[str] = mapped_column(String(100), default="")  # condition codes only
    email_reply_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    detector: Mapped[str] = mapped_column(String(64), default="")  # what decided, and its version
    detail_enc: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted JSON: reasons, actions, client ids
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str] = mapped_column(String(320), default="")
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str] = mapped_column(String(320), default="")
    resolution_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted: the note may name the client
    __table_args__ = (Index("ix_assessments_queue", "mailbox_id", "priority"),)


class RightsRequest(Base):
    """The workflow of one HIPAA right requested in one item (triage.review):
    open -> forms_sent -> signed_form_received -> fulfilled | denied (standard 10: a request is not
    done when the forms go out). A row appears with the first step or extension recorded; until
    then the right is "open". Times are when the step happened, as the person said."""

    __tablename__ = "rights_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_record_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    right: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(24), default="open")
    forms_sent_at: Mapped[datetime | None]
    forms_sent_by: Mapped[str] = mapped_column(String(320), default="")
    signed_form_at: Mapped[datetime | None]
    signed_form_by: Mapped[str] = mapped_column(String(320), default="")
    closed_at: Mapped[datetime | None]  # fulfilled or denied (the state says which)
    closed_by: Mapped[str] = mapped_column(String(320), default="")
    extended_at: Mapped[datetime | None]
    extended_by: Mapped[str] = mapped_column(String(320), default="")
    extension_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted free text
    updated_at: Mapped[datetime] = mapped_column(default=now)
    __table_args__ = (UniqueConstraint("message_record_id", "right", name="uq_rights_request"),
                      Index("ix_rights_requests_state", "state"))


class LabelCorrection(Base):
    """A person's correction of the detector's labels for one message: training data (triage.review).

    Label columns are None where that label was not corrected. `before` holds the labels as
    assessed (categories only). The message's own words are never here except the assessment's
    evidence phrases, encrypted in `evidence_enc`."""

    __tablename__ = "label_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_record_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    corrected_at: Mapped[datetime] = mapped_column(default=now)
    corrected_by: Mapped[str] = mapped_column(String(320))
    emergent: Mapped[bool | None] = mapped_column(Boolean)
    hipaa_rights: Mapped[str | None] = mapped_column(String(200))  # space-separated; "" = none
    purpose: Mapped[str | None] = mapped_column(String(32))
    clinical_question: Mapped[bool | None] = mapped_column(Boolean)
    before: Mapped[dict] = mapped_column(JSON, default=dict)
    evidence_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    __table_args__ = (Index("ix_label_corrections_item", "message_record_id"),
                      Index("ix_label_corrections_at", "corrected_at"))


class OutboxRow(Base):
    """One action the worker must carry out (triage.outbox plans them, triage.actions does them).

    `key` makes each action unique: a retry, or a second message in a thread, never adds a
    second flag, draft or alert. States: pending -> done | refused | failed; skipped (shadow mode,
    nothing to do). Addresses and other client data are in `payload_enc`."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(500), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    message_record_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=now)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now)
    done_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # no client data
    payload_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)


# --------------------------------------------------------------------------- consent registry


class ConsentRow(Base):
    """One "Consent to Email" record: a (client, clinician) pair. Everything that identifies
    the client (name, addresses, birth date, phone, mailing address) is in `data_enc`."""

    __tablename__ = "consent_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100))
    clinician_email: Mapped[str] = mapped_column(String(320))
    data_enc: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    __table_args__ = (UniqueConstraint("client_id", "clinician_email", name="uq_consent_pair"),
                      Index("ix_consent_clinician", "clinician_email"))


# --------------------------------------------------------------------------- audit and worker


class AuditEvent(Base):
    """What the worker (or a person) did. Details hold ids and counts, never message text.

    Append-only and tamper-evident: each entry holds the hash of the one before it and its own
    (triage.store.audit), so a changed, inserted or removed entry breaks the chain."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    message_record_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (Index("ix_audit_at", "at"),)


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeats"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid
    started_at: Mapped[datetime]
    last_poll_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]


# --------------------------------------------------------------------------- web pages (triage.web)


class User(Base):
    """A person who signs in to the review pages. Role: clinician (their own mailboxes), supervisor
    (their program's), administrator (all). The password is an Argon2 hash; "" for an account that
    signs in only through the trusted single-sign-on proxy."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    program_id: Mapped[str | None] = mapped_column(String(64))
    time_zone: Mapped[str] = mapped_column(String(64), default="")  # "" = the clinician's or program's zone
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is kept, so the table
    cannot be replayed. Expiry (idle and absolute) is checked on every request against [web]."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16), default="password")  # password | proxy
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)
    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)
