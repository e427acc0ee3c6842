"""The organisation in the store, kept in step with config.toml.

Config is the source of truth for programs, clinicians and config-defined
mailboxes; mailboxes added with `triage mailbox add` (origin "store") are left alone.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.config import Config, MailboxConfig
from triage.store.models import Clinician, ClinicianAddress, Mailbox, OnCallRule, Program, Supervisor


def sync_organisation(session: Session, config: Config) -> dict[str, int]:
    """Upsert programs, clinicians and mailboxes from config; returns mailbox ids by name."""
    for p in config.programs:
        row = session.get(Program, p.id) or Program(id=p.id)
        row.name, row.email_approved, row.approved_by = p.name, p.email_approved, p.approved_by
        row.approved_on, row.time_zone = p.approved_on, p.time_zone
        session.add(row)
        have = {sup.email: sup for sup in row.supervisors}
        # Keep rows that stay (a delete and insert of the same key in one flush would collide).
        row.supervisors = [have.get(e) or Supervisor(email=e) for e in p.supervisors]
        row.on_call = [
            OnCallRule(position=i, address=o.address, days=",".join(str(d) for d in sorted(o.days)),
                       start=o.start.strftime("%H:%M") if o.start else None,
                       end=o.end.strftime("%H:%M") if o.end else None)
            for i, o in enumerate(p.on_call)
        ]
    session.flush()
    for c in config.clinicians:
        row = session.get(Clinician, c.email) or Clinician(email=c.email)
        row.name, row.program_id, row.time_zone, row.active = c.name, c.program, c.time_zone, True
        session.add(row)
        have_addr = {a.address: a for a in row.addresses}
        row.addresses = [have_addr.get(a) or ClinicianAddress(address=a) for a in c.addresses]
    session.flush()

    ids: dict[str, int] = {}
    configured = {m.name for m in config.mailboxes}
    for m in config.mailboxes:
        row = session.scalar(select(Mailbox).where(Mailbox.name == m.name)) or Mailbox(name=m.name)
        row.clinician_email, row.kind, row.enabled, row.origin = m.clinician, m.kind, m.enabled, "config"
        row.settings = mailbox_settings(m)
        session.add(row)
        session.flush()
        ids[m.name] = row.id
    for row in session.scalars(select(Mailbox).where(Mailbox.origin == "config")):
        if row.name not in configured:
            row.enabled = False  # removed from config: stop watching, keep its history
    return ids


def mailbox_settings(m: MailboxConfig) -> dict[str, object]:
    """What the store keeps of a mailbox's settings: no secrets, only where to find them."""
    return {"path": m.path, "server": m.server, "user": m.user, "folders": list(m.folders),
            "poll_interval_seconds": m.poll_interval_seconds,
            "password_env": m.password_env, "password_file": m.password_file}
