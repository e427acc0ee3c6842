"""The organisation in the store, kept in step with config.toml.

Config is the source of truth for programs, clinicians and config-defined
mailboxes; mailboxes added with `triage mailbox add` (origin "store") are left alone.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from triage.config import Config, MailboxConfig
from triage.store.models import Clinician, ClinicianAddress, Mailbox, OnCallRule, Program, Supervisor

ORG_LOCK = 0x7472_6F72_67  # "trorg"


def sync_organisation(session: Session, config: Config) -> dict[str, int]:
    """Upsert programs, clinicians and mailboxes from config; returns mailbox ids by name."""
    if session.get_bind().dialect.name == "postgresql":
        # Several workers starting at once would insert the same rows: one syncs at a time.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ORG_LOCK})
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


# --------------------------------------------------------------------------- mailboxes kept in the store


def add_mailbox(session: Session, config: Config, m: MailboxConfig) -> int:
    """Add a mailbox to the store (`triage mailbox add`): thousands need no config edit. Checked as
    strictly as a [[mailboxes]] entry; raises ConfigError naming what is wrong."""
    from triage.errors import ConfigError

    def fail(why: str) -> ConfigError:
        return ConfigError(f"mailbox {m.name!r}: {why}")

    if not m.name.strip():
        raise fail("needs a name")
    if m.name in {c.name for c in config.mailboxes} or session.scalar(select(Mailbox.id).where(Mailbox.name == m.name)):
        raise fail("a mailbox of that name exists already")
    if m.clinician not in {c.email for c in config.clinicians}:
        raise fail(f"clinician {m.clinician!r} is not in the configuration's [[clinicians]]")
    if m.kind == "imap":
        server = config.servers.get(m.server)
        if server is None:
            raise fail(f"server {m.server!r} is not one of the [servers.*]: {', '.join(config.servers) or '(none)'}")
        if not m.user:
            raise fail("an imap mailbox needs --user")
        if server.auth == "password" and not (m.password_env or m.password_file or server.password_env
                                              or server.password_file):
            raise fail("needs --password-env or --password-file (passwords are never stored)")
    elif m.kind == "maildir":
        if not m.path:
            raise fail("a maildir mailbox needs --path")
    else:
        raise fail(f"kind {m.kind!r} is not imap or maildir")
    if not m.folders:
        raise fail("needs at least one folder")
    if m.poll_interval_seconds > config.worker.max_poll_interval_seconds:
        raise fail(f"poll interval {m.poll_interval_seconds} s is above worker.max_poll_interval_seconds "
                   f"({config.worker.max_poll_interval_seconds})")
    row = Mailbox(name=m.name, clinician_email=m.clinician, kind=m.kind, enabled=True, origin="store",
                  settings={**mailbox_settings(m), "kind": m.kind})
    session.add(row)
    session.flush()
    return row.id


def store_mailboxes(session: Session, config: Config) -> list[tuple[int, MailboxConfig]]:
    """The enabled mailboxes added with `triage mailbox add`, whose clinician is still configured."""
    clinicians = {c.email for c in config.clinicians}
    out = []
    for row in session.scalars(select(Mailbox).where(Mailbox.origin == "store", Mailbox.enabled.is_(True))
                               .order_by(Mailbox.id)):
        st = row.settings
        if row.clinician_email not in clinicians:
            continue
        out.append((row.id, MailboxConfig(
            name=row.name, clinician=row.clinician_email, kind=row.kind, path=st.get("path", ""),
            server=st.get("server", ""), user=st.get("user", ""), password_env=st.get("password_env", ""),
            password_file=st.get("password_file", ""), folders=tuple(st.get("folders") or ("INBOX",)),
            poll_interval_seconds=int(st.get("poll_interval_seconds") or config.worker.poll_interval_seconds),
            enabled=True)))
    return out
