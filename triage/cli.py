"""The `triage` command."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage import __version__
from triage.clock import now
from triage.config import Config, load_config
from triage.errors import TriageError
from triage.ingest import PollResult
from triage.logs import setup_logging
from triage.registry import ConsentRecord

DEFAULT_CONFIG = "config.toml"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TriageError as exc:
        print(f"triage: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `triage status | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="triage", description="Watches clinicians' mailboxes and flags client mail "
                                "under the department's secure-email standards.")
    p.add_argument("--version", action="version", version=f"triage {__version__}")
    p.add_argument("-c", "--config", default=os.environ.get("TRIAGE_CONFIG", DEFAULT_CONFIG),
                   help="configuration file (default: $TRIAGE_CONFIG or ./config.toml)")
    sub = p.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="poll every mailbox on its schedule until stopped (SIGTERM/Ctrl-C)")
    run.set_defaults(func=cmd_run)

    poll = sub.add_parser("poll", help="poll mailboxes")
    poll.add_argument("--once", action="store_true", required=True, help="one pass over every mailbox, then a summary")
    poll.add_argument("--mailbox", action="append", help="only this mailbox (repeatable)")
    poll.set_defaults(func=cmd_poll)

    status = sub.add_parser("status", help="mailbox health, checkpoints, quarantined mail, last poll")
    status.set_defaults(func=cmd_status)

    check = sub.add_parser("check", help="test config, store, each mailbox's login and folders; PASS/FAIL per line")
    check.set_defaults(func=cmd_check)

    db = sub.add_parser("db", help="the store's schema")
    dbsub = db.add_subparsers(metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="migrate the store to this version's schema (backs up SQLite first)")
    up.set_defaults(func=cmd_db_upgrade)

    folder = sub.add_parser("folder", help="watched folders")
    fsub = folder.add_subparsers(metavar="ACTION")
    resume = fsub.add_parser("resume", help="resume a folder stopped after repeated UIDVALIDITY changes")
    resume.add_argument("mailbox")
    resume.add_argument("folder")
    resume.set_defaults(func=cmd_folder_resume)

    c = sub.add_parser("consent", help="the Consent to Email registry (standards 1-4)")
    csub = c.add_subparsers(metavar="ACTION")
    imp = csub.add_parser("import", help="merge a registry CSV by (client_id, clinician_email); all or nothing")
    imp.add_argument("file", type=Path)
    imp.add_argument("--replace", action="store_true", help="the registry becomes exactly this file")
    imp.set_defaults(func=cmd_consent_import)
    exp = csub.add_parser("export", help="write the registry as CSV (to a file created 0600, or - for stdout)")
    exp.add_argument("file", nargs="?", default="-")
    exp.set_defaults(func=cmd_consent_export)
    lst = csub.add_parser("list", help="one line per record with the state of its consent")
    lst.add_argument("--clinician", help="only this clinician's records")
    lst.set_defaults(func=cmd_consent_list)
    add = csub.add_parser("add", help="add or replace one record")
    for name in ("client-id", "client-name", "clinician-email", "consented-email"):
        add.add_argument(f"--{name}", required=True)
    add.add_argument("--client-email", default="")
    add.add_argument("--date-of-birth", default="")
    add.add_argument("--basis", choices=("self", "responsible_adult"), default="self")
    add.add_argument("--responsible-adult-name", default="")
    add.add_argument("--not-determined", action="store_true", help="the clinician has not determined email fits (1b)")
    add.add_argument("--not-preferred", action="store_true", help="the client has not chosen email (1c)")
    add.add_argument("--signed-on", default="", help="date the form was signed (1e), YYYY-MM-DD")
    add.add_argument("--phone", default="")
    add.add_argument("--mailing-address", default="")
    add.add_argument("--language", choices=("", "en", "es"), default="")
    add.set_defaults(func=cmd_consent_add)
    rev = csub.add_parser("revoke", help="record that a client revoked their consent")
    rev.add_argument("client_id")
    rev.add_argument("--clinician", required=True)
    rev.add_argument("--on", default="", help="date of the revocation (default: today)")
    rev.set_defaults(func=cmd_consent_revoke)

    cl = sub.add_parser("classify", help="assess .eml files, directories, Maildirs or mbox files (- for stdin); "
                        "one JSON object per message per line")
    cl.add_argument("paths", nargs="+", metavar="PATH")
    cl.add_argument("--registry", type=Path, help="a Consent to Email registry CSV (without it consent is unknown)")
    cl.add_argument("-c", "--config", default=argparse.SUPPRESS,
                    help="the organisation (domains, clinicians, programs) to judge by; default ./config.toml when "
                         "it exists, else none (standard 1a taken as met)")
    cl.add_argument("--on", metavar="YYYY-MM-DD", help="judge consent as of this day (default: today)")
    cl.set_defaults(func=cmd_classify)

    ack = sub.add_parser("ack", help="acknowledge an item (stops the escalation of an emergent alert)")
    ack.add_argument("item", type=int, help="the item number from the alert or note")
    ack.add_argument("--by", default="", help="who acknowledges (default: the user running the command)")
    ack.set_defaults(func=cmd_ack)

    keys = sub.add_parser("keys", help="the encryption key of the store")
    ksub = keys.add_subparsers(metavar="ACTION", required=True)
    rot = ksub.add_parser("rotate", help="re-encrypt every stored text under a new key (resumable), then drop the "
                          "old key")
    rot.add_argument("--force", action="store_true", help="even though a worker looks alive (stop workers first: "
                     "they keep the key they started with)")
    rot.set_defaults(func=cmd_keys_rotate)

    au = sub.add_parser("audit", help="the audit trail")
    ausub = au.add_subparsers(metavar="ACTION", required=True)
    aver = ausub.add_parser("verify", help="check the audit trail's hash chain; prints the head hash to note")
    aver.set_defaults(func=cmd_audit_verify)

    mb = sub.add_parser("mailbox", help="mailboxes kept in the store (thousands need no config edit)")
    mbsub = mb.add_subparsers(metavar="ACTION", required=True)
    madd = mbsub.add_parser("add", help="add a mailbox to watch (checked like a [[mailboxes]] entry)")
    madd.add_argument("name")
    madd.add_argument("--clinician", required=True, help="a configured clinicians.email")
    madd.add_argument("--kind", choices=("imap", "maildir"), default="imap")
    madd.add_argument("--server", default="", help="a configured [servers.NAME] (imap)")
    madd.add_argument("--user", default="", help="the IMAP login (imap)")
    madd.add_argument("--password-env", default="", help="environment variable holding its password")
    madd.add_argument("--password-file", default="", help="file holding its password")
    madd.add_argument("--path", default="", help="the Maildir folder (maildir)")
    madd.add_argument("--folder", action="append", dest="folders", help="a folder to watch (repeatable; "
                      "default INBOX)")
    madd.add_argument("--poll-interval", type=int, default=0, help="seconds (default worker.poll_interval_seconds)")
    madd.set_defaults(func=cmd_mailbox_add)
    mlist = mbsub.add_parser("list", help="every mailbox, from config and from the store, with its state")
    mlist.set_defaults(func=cmd_mailbox_list)
    mdis = mbsub.add_parser("disable", help="stop watching a mailbox added with `mailbox add` (its history stays)")
    mdis.add_argument("name")
    mdis.set_defaults(func=cmd_mailbox_disable)

    from triage.detect.commands import register as register_detector_commands
    from triage.review_cli import register as register_review_commands

    register_detector_commands(sub)
    register_review_commands(sub)
    from triage.digest_cli import register as register_digest_commands

    register_digest_commands(sub)
    from triage.web.commands import register as register_web_commands

    register_web_commands(sub)

    q = sub.add_parser("quarantine", help="messages that could not be processed")
    qsub = q.add_subparsers(metavar="ACTION")
    qlist = qsub.add_parser("list", help="list quarantined messages")
    qlist.set_defaults(func=cmd_quarantine_list)
    qexp = qsub.add_parser("export", help="write a quarantined message's raw bytes to a file (mode 0600)")
    qexp.add_argument("id", type=int)
    qexp.add_argument("out", type=Path)
    qexp.set_defaults(func=cmd_quarantine_export)
    return p


def _config(args: argparse.Namespace, *, logs: bool = True) -> Config:
    config = load_config(args.config)
    if logs:
        setup_logging(config.worker.log_level, config.worker.log_format)
    return config


# --------------------------------------------------------------------------- run / poll


def cmd_run(args: argparse.Namespace) -> int:
    from triage.worker import Worker, open_store

    config = _config(args)
    store, crypto = open_store(config)
    worker = Worker(config, store, crypto)
    return worker.run()


def cmd_poll(args: argparse.Namespace) -> int:
    from triage.store import assessments
    from triage.worker import Worker, open_store

    config = _config(args)
    store, crypto = open_store(config)
    progress = _progress_printer() if sys.stderr.isatty() else None
    worker = Worker(config, store, crypto, progress=progress)
    if args.mailbox:
        unknown = set(args.mailbox) - {m.config.name for m in worker.mailboxes}
        if unknown:
            print(f"triage: no enabled mailbox named {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        worker.mailboxes = [m for m in worker.mailboxes if m.config.name in args.mailbox]
    worker.claim_sqlite()
    worker._install_signals()
    with store.begin() as s:
        before = assessments.last_record_id(s)
    try:
        results = worker.poll_all()
    finally:
        worker.close()
    with store.begin() as s:
        flags = assessments.flag_counts(s, [m.id for m in worker.mailboxes], since_record_id=before)
    print(format_poll_summary(results))
    print()
    print(format_flag_summary([r.mailbox for r in results], flags))
    return 0


def _progress_printer():  # type: ignore[no-untyped-def]
    def show(mailbox: str, folder: str, done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\r  {mailbox} {folder}: {done:,} of {total:,} messages", end=end, file=sys.stderr, flush=True)

    return show


def format_poll_summary(results: list[PollResult]) -> str:
    rows = [("mailbox", "folders", "new", "recorded", "duplicates", "quarantined", "retry later", "seconds", "status")]
    for r in results:
        status = "ok" if not r.error else f"FAILED: {r.error}"
        stopped = [f.folder for f in r.folders if f.stopped]
        if stopped:
            status = f"stopped folder(s): {', '.join(stopped)}"
        rows.append((r.mailbox, str(len(r.folders)), str(r.total("new")), str(r.total("recorded")),
                     str(r.total("duplicates")), str(r.total("quarantined")), str(r.total("failed")),
                     f"{r.seconds:.2f}", status))
    return _table(rows)


def format_flag_summary(mailboxes: list[str], counts: dict[str, Counter[str]]) -> str:
    """Flags of the messages this poll assessed, per mailbox (counts only: no message content)."""
    from triage.policy import FLAGS

    rows = [("mailbox", "assessed", *(f.replace("_", " ") for f in FLAGS))]
    for name in mailboxes:
        c = counts.get(name, Counter())
        rows.append((name, str(c["assessed"]), *(str(c[f]) for f in FLAGS)))
    return "Flags of the messages assessed in this poll:\n" + _table(rows)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --------------------------------------------------------------------------- status


def _local(t: datetime | None, zone: str) -> str:
    return t.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z") if t else "never"


def cmd_status(args: argparse.Namespace) -> int:
    from triage.store import Store, ledger
    from triage.store.models import Attempt, Clinician, FolderState, Mailbox, MessageRecord

    config = _config(args, logs=False)
    store = Store(config.store.url)
    store.check_schema()
    zone = config.department.time_zone
    problems = 0
    with store.begin() as s:
        last = ledger.last_poll(s)
        age = (now() - last) if last else None
        stale = age is None or age.total_seconds() > config.worker.stale_poll_minutes * 60
        print(f"Last completed poll: {_local(last, zone)}"
              + ("  WARNING: no poll completed recently; is the worker running?" if stale else ""))
        problems += stale
        rows = [("mailbox", "kind", "enabled", "last success", "failures", "failing since", "recorded", "last error")]
        counts = dict(s.execute(select(MessageRecord.mailbox_id, func.count()).where(
            MessageRecord.status == "recorded").group_by(MessageRecord.mailbox_id)).all())
        for mb in s.scalars(select(Mailbox).order_by(Mailbox.name)):
            clinician = s.get(Clinician, mb.clinician_email)
            tz = clinician.time_zone if clinician else zone
            error = ("RE-AUTHORISATION REQUIRED: " if mb.reauth_required else "") + (mb.last_error or "")
            rows.append((mb.name, mb.kind, "yes" if mb.enabled else "no", _local(mb.last_success_at, tz),
                         str(mb.consecutive_failures), _local(mb.failing_since, tz) if mb.failing_since else "",
                         str(counts.get(mb.id, 0)), error[:80]))
            problems += bool(mb.consecutive_failures)
        print("\nMailboxes")
        print(_table(rows))
        rows = [("mailbox", "folder", "uidvalidity", "last uid", "state")]
        for fs, name in s.execute(select(FolderState, Mailbox.name).join(Mailbox).order_by(Mailbox.name)):
            state = f"STOPPED: {fs.stopped_reason}" if fs.stopped_at else "watching"
            problems += fs.stopped_at is not None
            rows.append((name, fs.folder, str(fs.uidvalidity), str(fs.last_uid), state))
        print("\nFolders")
        print(_table(rows))
        pending = s.scalar(select(func.count()).select_from(Attempt).where(Attempt.last_error != "")) or 0
        print(f"\nMessages failing and waiting for a retry: {pending}")
        _print_quarantine(s, zone)
    return 1 if problems else 0


# --------------------------------------------------------------------------- check


def cmd_check(args: argparse.Namespace) -> int:
    from triage.checks import run_checks

    failures = 0
    for ok, line in run_checks(args.config):
        print(("WARN  " if ok is None else "PASS  " if ok else "FAIL  ") + line)
        failures += ok is False
    return 1 if failures else 0


# --------------------------------------------------------------------------- db, folders, quarantine


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from triage.store import Store
    from triage.store.db import current_revision, head_revision

    config = _config(args, logs=False)
    store = Store(config.store.url)
    before = current_revision(store.engine)
    backup = store.upgrade(backup_dir=config.store.data_dir / "backups")
    if backup:
        print(f"backed up the store to {backup}")
    print(f"schema {before or '(empty)'} -> {head_revision()}")
    return 0


def cmd_folder_resume(args: argparse.Namespace) -> int:
    from triage.store import Store, ledger
    from triage.store.models import FolderState, Mailbox

    config = _config(args, logs=False)
    store = Store(config.store.url)
    store.check_schema()
    with store.begin() as s:
        fs = s.scalar(select(FolderState).join(Mailbox).where(Mailbox.name == args.mailbox,
                                                              FolderState.folder == args.folder))
        if fs is None:
            print(f"triage: no folder {args.folder!r} in mailbox {args.mailbox!r}", file=sys.stderr)
            return 2
        fs.stopped_at, fs.stopped_reason, fs.uidvalidity_changes = None, "", []
        ledger.audit(s, "folder_resumed", actor=f"cli:{os.environ.get('USER', '?')}", mailbox_id=fs.mailbox_id,
                     folder_state=fs.id)
    print(f"resumed {args.mailbox} {args.folder}")
    return 0


def _print_quarantine(s: Session, zone: str) -> int:
    from triage.store.models import Mailbox, MessageRecord, Quarantine

    rows = s.execute(select(MessageRecord, Quarantine, Mailbox.name)
                     .join(Quarantine, Quarantine.message_record_id == MessageRecord.id)
                     .join(Mailbox, Mailbox.id == MessageRecord.mailbox_id)
                     .order_by(MessageRecord.id)).all()
    print(f"Quarantined messages: {len(rows)}")
    for rec, q, name in rows:
        kept = f"bytes kept until {_local(q.purge_after, zone)}" if q.raw_enc else "bytes purged"
        print(f"  #{rec.id}  {name}  {rec.folder}  {_local(rec.recorded_at, zone)}  {rec.error[:100]}  ({kept})")
    return len(rows)


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    from triage.store import Store

    config = _config(args, logs=False)
    store = Store(config.store.url)
    store.check_schema()
    with store.begin() as s:
        _print_quarantine(s, config.department.time_zone)
    return 0


def cmd_quarantine_export(args: argparse.Namespace) -> int:
    from triage.crypto import load_crypto
    from triage.store import Store, ledger
    from triage.store.models import Quarantine

    config = _config(args, logs=False)
    store = Store(config.store.url)
    store.check_schema()
    crypto = load_crypto(config.store.key_env, config.store.key_file, create=False)
    with store.begin() as s:
        q = s.get(Quarantine, args.id)
        if q is None or q.raw_enc is None:
            print(f"triage: no quarantined bytes for #{args.id} (unknown or already purged)", file=sys.stderr)
            return 2
        raw = crypto.decrypt(q.raw_enc)
        ledger.audit(s, "quarantine_exported", actor=f"cli:{os.environ.get('USER', '?')}",
                     message_record_id=args.id)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
    print(f"wrote {len(raw)} bytes to {args.out} (it holds client information: delete it when done)")
    return 0


# --------------------------------------------------------------------------- items


def cmd_ack(args: argparse.Namespace) -> int:
    from triage.review import acknowledge

    _, store, _ = _registry_store(args)
    who = args.by or _actor()
    with store.begin() as s:
        first = acknowledge(s, args.item, who)
    print(f"item {args.item} acknowledged by {who}" if first else f"item {args.item} was already acknowledged")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from triage.keys import live_workers, rotate

    config, store, _ = _registry_store(args)
    alive = live_workers(store, config.worker.stale_poll_minutes)
    if alive and not args.force:
        print(f"triage: {len(alive)} worker(s) look alive ({', '.join(alive)}); stop them first (they keep the "
              "key they started with) or use --force", file=sys.stderr)
        return 2
    env = os.environ.get(config.store.key_env, "").strip()
    env_keys = [k.encode() for k in env.split()] if env else None
    result = rotate(store, None if env_keys else config.store.key_file, env_keys=env_keys, actor=_actor(),
                    progress=lambda what, n: print(f"  {what}: {n:,} re-encrypted"))
    total = sum(result.reencrypted.values())
    if env_keys:
        print(f"{total:,} texts re-encrypted under the first key of ${config.store.key_env}; now set it to that key "
              "alone (the old key is then refused)")
    else:
        print(("new key made; " if result.started else "an earlier rotation continued; ")
              + f"{total:,} texts re-encrypted; the old key is no longer accepted")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from triage.store.audit import verify

    _, store, _ = _registry_store(args)
    with store.begin() as s:
        result = verify(s)
    if result.broken_at is not None:
        print(f"FAIL  audit entry {result.broken_at}: {result.why} ({result.entries - 1:,} entries before it are "
              "intact)")
        return 1
    print(f"PASS  {result.entries:,} audit entries form an unbroken chain; head {result.head}")
    return 0


# --------------------------------------------------------------------------- mailboxes in the store


def cmd_mailbox_add(args: argparse.Namespace) -> int:
    from triage.config import MailboxConfig
    from triage.store import ledger
    from triage.store.org import add_mailbox, sync_organisation

    config, store, _ = _registry_store(args)
    path = str(Path(args.path).resolve()) if args.path else ""
    m = MailboxConfig(name=args.name, clinician=args.clinician.strip().lower(), kind=args.kind, path=path,
                      server=args.server, user=args.user, password_env=args.password_env,
                      password_file=args.password_file, folders=tuple(args.folders or ("INBOX",)),
                      poll_interval_seconds=args.poll_interval or config.worker.poll_interval_seconds, enabled=True)
    with store.begin() as s:
        sync_organisation(s, config)  # the clinician row the mailbox refers to
        mailbox_id = add_mailbox(s, config, m)
        ledger.audit(s, "mailbox_added", actor=_actor(), mailbox_id=mailbox_id)
    print(f"mailbox {args.name} added; workers pick it up when they start")
    return 0


def cmd_mailbox_list(args: argparse.Namespace) -> int:
    from triage.store.models import Mailbox

    _, store, _ = _registry_store(args)
    rows = [("mailbox", "from", "kind", "clinician", "enabled", "last success")]
    with store.begin() as s:
        for mb in s.scalars(select(Mailbox).order_by(Mailbox.name)):
            rows.append((mb.name, mb.origin, mb.kind, mb.clinician_email, "yes" if mb.enabled else "no",
                         mb.last_success_at.isoformat(timespec="seconds") if mb.last_success_at else "never"))
    print(_table(rows))
    return 0


def cmd_mailbox_disable(args: argparse.Namespace) -> int:
    from triage.store import ledger
    from triage.store.models import Mailbox

    _, store, _ = _registry_store(args)
    with store.begin() as s:
        mb = s.scalar(select(Mailbox).where(Mailbox.name == args.name))
        if mb is None:
            print(f"triage: no mailbox named {args.name}", file=sys.stderr)
            return 2
        if mb.origin == "config":
            print(f"triage: {args.name} comes from the config file: set enabled = false there", file=sys.stderr)
            return 2
        mb.enabled = False
        ledger.audit(s, "mailbox_disabled", actor=_actor(), mailbox_id=mb.id)
    print(f"mailbox {args.name} disabled; its history stays in the store")
    return 0


# --------------------------------------------------------------------------- classify


def cmd_classify(args: argparse.Namespace) -> int:
    from datetime import date

    from triage.classify import Setup, classify, dumps, read_items
    from triage.detect import default_detector
    from triage.registry import RegistryError, parse_csv

    config = None
    explicit = args.config != DEFAULT_CONFIG or "TRIAGE_CONFIG" in os.environ
    if explicit or Path(args.config).exists():
        config = load_config(args.config)  # an organisation: domains, clinicians, programs (standard 1a)
    records = None
    if args.registry is not None:
        try:
            text = args.registry.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"triage: cannot read {args.registry}: {exc}", file=sys.stderr)
            return 2
        try:
            records = parse_csv(text, source=str(args.registry))
        except RegistryError as exc:
            print(f"triage: {exc}", file=sys.stderr)
            return 2
    try:
        today = date.fromisoformat(args.on) if args.on else now().astimezone(
            ZoneInfo(config.department.time_zone if config else "UTC")).date()
    except ValueError:
        print(f"triage: --on {args.on!r} is not a date YYYY-MM-DD", file=sys.stderr)
        return 2
    if args.paths.count("-") > 1:
        print("triage: standard input (-) can be read only once", file=sys.stderr)
        return 2
    setup = Setup(config, records, default_detector(), today)
    out = sys.stdout
    for obj in classify(read_items(args.paths, sys.stdin.buffer), setup):
        out.write(dumps(obj) + "\n")
        out.flush()
    return 0


# --------------------------------------------------------------------------- consent registry


def _registry_store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from triage.crypto import load_crypto
    from triage.store import Store

    config = _config(args, logs=False)
    store = Store(config.store.url)
    store.ensure_schema()
    return config, store, load_crypto(config.store.key_env, config.store.key_file)


def _actor() -> str:
    return f"cli:{os.environ.get('USER', '?')}"


def cmd_consent_import(args: argparse.Namespace) -> int:
    from triage.registry import parse_csv
    from triage.store import consent, ledger

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"triage: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    records = parse_csv(text, source=str(args.file))  # RegistryError: nothing is imported
    _, store, crypto = _registry_store(args)
    with store.begin() as s:
        counts = consent.save(s, crypto, records, replace=args.replace)
        ledger.audit(s, "consent_import", actor=_actor(), replace=args.replace, **counts)
    print(f"imported {len(records)} records: {counts['added']} added, {counts['updated']} updated"
          + (f", {counts['removed']} removed" if args.replace else ""))
    return 0


def cmd_consent_export(args: argparse.Namespace) -> int:
    from triage.registry import to_csv
    from triage.store import consent, ledger

    _, store, crypto = _registry_store(args)
    with store.begin() as s:
        text = to_csv(consent.load(s, crypto))
        ledger.audit(s, "consent_export", actor=_actor())
    if args.file == "-":
        sys.stdout.write(text)
    else:
        fd = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


def consent_state(record: ConsentRecord, config: Config, today: date | None = None) -> str:
    """What keeps this consent from being valid today (the consent check's own sentences), or "ok"."""
    from triage.consent import record_failures

    day = today or now().astimezone(ZoneInfo(config.department.time_zone)).date()
    clinician = next((c for c in config.clinicians if record.clinician_email in c.addresses), None)
    program = next((p for p in config.programs if clinician and p.id == clinician.program), None)
    failures = record_failures(record, program, day, assume_program_approved=not config.programs)
    return "; ".join(f"{f.code} ({f.evidence})" for f in failures) or "ok"


def cmd_consent_list(args: argparse.Namespace) -> int:
    from triage.store import consent

    config, store, crypto = _registry_store(args)
    with store.begin() as s:
        records = consent.load(s, crypto, clinician=args.clinician)
    rows = [("client", "name", "clinician", "consented address", "basis", "state")]
    for r in records:
        rows.append((r.client_id, r.client_name, r.clinician_email, r.consented_email, r.consent_basis,
                     consent_state(r, config)))
    print(_table(rows))
    return 0


def cmd_consent_add(args: argparse.Namespace) -> int:
    from triage.registry import COLUMNS, parse_csv
    from triage.store import consent, ledger

    values = {"client_id": args.client_id, "client_name": args.client_name, "clinician_email": args.clinician_email,
              "consented_email": args.consented_email, "client_email": args.client_email,
              "date_of_birth": args.date_of_birth, "consent_basis": args.basis,
              "responsible_adult_name": args.responsible_adult_name,
              "clinician_determined": str(not args.not_determined), "client_prefers_email": str(not args.not_preferred),
              "form_signed_on": args.signed_on, "revoked_on": "", "phone": args.phone,
              "mailing_address": args.mailing_address, "preferred_language": args.language}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(values)
    [record] = parse_csv(buf.getvalue(), source="the command line")  # the same checks as an import
    config, store, crypto = _registry_store(args)
    with store.begin() as s:
        counts = consent.save(s, crypto, [record])
        ledger.audit(s, "consent_add", actor=_actor(), **counts)
    print(f"{'added' if counts['added'] else 'updated'} {record.client_id} with {record.clinician_email}: "
          f"{consent_state(record, config)}")
    return 0


def cmd_consent_revoke(args: argparse.Namespace) -> int:
    import dataclasses
    from datetime import date

    from triage.store import consent, ledger

    try:
        day = date.fromisoformat(args.on) if args.on else now().date()
    except ValueError:
        print(f"triage: --on {args.on!r} is not a date YYYY-MM-DD", file=sys.stderr)
        return 2
    _, store, crypto = _registry_store(args)
    with store.begin() as s:
        records = consent.load(s, crypto, clinician=args.clinician)
        match = [r for r in records if r.client_id == args.client_id]
        if not match:
            print(f"triage: no record of client {args.client_id} with {args.clinician}", file=sys.stderr)
            return 2
        consent.save(s, crypto, [dataclasses.replace(match[0], revoked_on=day)])
        ledger.audit(s, "consent_revoke", actor=_actor())
    print(f"revoked {args.client_id} with {args.clinician} on {day}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
