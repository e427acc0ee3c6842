"""The `queue` and `review` subcommands; cli.py adds them with `register(subparsers)`.

`triage queue` prints item numbers, flags, mailboxes, dates and states: never message text, a
subject or a client's name. `triage review ITEM --show` prints the reasons with their evidence,
which is protected health information, for the clinician's own terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from triage import review
from triage.clocks import RIGHTS
from triage.detect import PURPOSES
from triage.errors import TriageError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    q = subparsers.add_parser("queue", help="the review queue: flagged items by priority and age "
                              "(item numbers, flags and dates; no message text)")
    q.add_argument("--clinician", metavar="EMAIL", help="only this clinician's mailboxes")
    q.add_argument("--program", metavar="ID", help="only this program's mailboxes")
    q.add_argument("--overdue", action="store_true", help="only rights requests past a legal deadline")
    q.add_argument("--all", action="store_true", help="include resolved items")
    q.add_argument("--by", default="", help="who is looking (default: the user running the command)")
    q.set_defaults(func=cmd_queue)

    r = subparsers.add_parser("review", help="show an item, or act on it: acknowledge, resolve, extend a "
                              "rights clock, record a request's step, correct the labels")
    r.add_argument("item", type=int, help="the item number from the queue, an alert or a note")
    r.add_argument("--show", action="store_true", help="print the reasons with their evidence and the addresses "
                   "the actions use (client information: for your own screen)")
    r.add_argument("--ack", action="store_true", help="acknowledge the item (stops an emergent alert's escalation)")
    r.add_argument("--resolve", metavar="NOTE", help="resolve the item with a note of what was done")
    r.add_argument("--extend", metavar="RIGHT", help="record the one 30-day extension of this right's deadline: "
                   "access, amendment or accounting (needs --reason)")
    r.add_argument("--reason", metavar="TEXT", help="the reason for the extension, as written to the client")
    r.add_argument("--step", nargs=2, metavar=("RIGHT", "STEP"),
                   help=f"record a request's step: RIGHT one of {', '.join(RIGHTS)}; STEP one of "
                        f"{', '.join(review.STEPS)}")
    r.add_argument("--at", metavar="WHEN", help="when the step happened: YYYY-MM-DD or YYYY-MM-DDTHH:MM in the "
                   "program's time zone (default now)")
    r.add_argument("--correct-emergent", choices=("yes", "no"), help="the message is (not) emergent")
    r.add_argument("--correct-rights", metavar="R1,R2|none", help=f"the rights requested: any of {', '.join(RIGHTS)}, "
                   "comma-separated, or none")
    r.add_argument("--correct-purpose", choices=PURPOSES, help="what the message is for")
    r.add_argument("--correct-clinical", choices=("yes", "no"), help="part of it asks a clinical question")
    r.add_argument("--by", default="", help="who acts (default: the user running the command)")
    r.set_defaults(func=cmd_review)


def _actor(args: argparse.Namespace) -> str:
    return args.by or f"cli:{os.environ.get('USER', '?')}"


def _open(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from triage.config import load_config
    from triage.crypto import load_crypto
    from triage.store import Store

    config = load_config(args.config)
    store = Store(config.store.url)
    try:
        store.check_schema()
        crypto = load_crypto(config.store.key_env, config.store.key_file, create=False)
    except BaseException:
        store.dispose()
        raise
    return config, store, crypto


# --------------------------------------------------------------------------- queue


def cmd_queue(args: argparse.Namespace) -> int:
    config, store, crypto = _open(args)
    try:
        with store.begin() as s:
            items = review.queue(s, crypto, clinician=args.clinician, program=args.program, overdue=args.overdue,
                                 include_resolved=args.all, rules=config.clocks, who=_actor(args))
    finally:
        store.dispose()
    print(format_queue(items))
    return 0


def format_queue(items: Sequence[review.QueueItem]) -> str:
    """A plain table of the queue: no message text, subject or client name."""
    if not items:
        return "no items"
    header = ("ITEM", "PRIORITY", "FLAGS", "MAILBOX", "RECEIVED", "DUE", "STATE")
    rows = [header]
    for i in items:
        due = i.next_due.isoformat() if i.next_due else "-"
        if i.overdue:
            due += " OVERDUE"
        elif i.due_soon:
            due += " soon"
        state = i.state
        if i.rights:
            state += "; " + ", ".join(f"{r.right}: {r.state}" + (" (extended)" if r.extended else "")
                                      for r in i.rights)
        if i.corrected:
            state += "; corrected"
        rows.append((str(i.item), f"{i.priority} {i.priority_name}", " ".join(i.flags) or "-", i.mailbox,
                     _local(i.received_at, i.time_zone), due, state))
    widths = [max(len(r[c]) for r in rows) for c in range(len(header) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
                     for r in rows)


def _local(when: datetime | None, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z") if when else "-"


# --------------------------------------------------------------------------- review


def cmd_review(args: argparse.Namespace) -> int:
    who = _actor(args)
    if args.extend and not (args.reason or "").strip():
        print("triage: --extend needs --reason (the reason written to the client)", file=sys.stderr)
        return 2
    rights = None
    if args.correct_rights is not None:
        text = args.correct_rights.strip().lower()
        rights = () if text in ("", "none") else tuple(r.strip().replace("-", "_") for r in text.split(","))
    config, store, crypto = _open(args)
    done: list[str] = []
    shown = None
    try:
        with store.begin() as s:
            # All or nothing: one transaction, so a refused step leaves the item as it was.
            if any(x is not None for x in (args.correct_emergent, rights, args.correct_purpose,
                                           args.correct_clinical)):
                review.correct(s, crypto, args.item, who, emergent=_yes(args.correct_emergent), rights=rights,
                               purpose=args.correct_purpose, clinical_question=_yes(args.correct_clinical))
                done.append("labels corrected")
            if args.step:
                right, step = args.step[0].replace("-", "_"), args.step[1].replace("-", "_")
                at = _when(args.at, s, args.item) if args.at else None
                review.record_request_step(s, args.item, right, step, who, at=at)
                done.append(f"{right}: {step} recorded")
            if args.extend:
                right = args.extend.replace("-", "_")
                due = review.extend(s, crypto, args.item, right, who, args.reason, rules=config.clocks)
                done.append(f"{args.extend}: extended, now due {due.isoformat()}")
            if args.ack:
                first = review.acknowledge(s, args.item, who)
                done.append("acknowledged" if first else "was already acknowledged")
            if args.resolve is not None:
                review.resolve(s, crypto, args.item, who, args.resolve)
                done.append("resolved")
            if args.show or not done:
                shown = review.item(s, crypto, args.item, who=who, rules=config.clocks, evidence=args.show)
    except TriageError as exc:
        print(f"triage: {exc}", file=sys.stderr)
        return 1
    finally:
        store.dispose()
    for line in done:
        print(f"item {args.item}: {line} by {who}")
    if shown is not None:
        print(format_item(shown))
    return 0


def _yes(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


def _when(text: str, session, item: int) -> datetime:  # type: ignore[no-untyped-def]
    """A step's time typed in the program's time zone."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise review.ItemError(f"--at {text!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if when.tzinfo is None:
        zone = review.program_zone(session, item)
        when = when.replace(tzinfo=ZoneInfo(zone))
    return when


def format_item(i: review.QueueItem) -> str:
    """An item for the terminal. Evidence and addresses appear only when the item was read with them."""
    lines = [f"item {i.item}  priority {i.priority} ({i.priority_name})  flags: {' '.join(i.flags) or '-'}"
             + ("  [labels corrected]" if i.corrected else ""),
             f"mailbox {i.mailbox} ({i.clinician}, program {i.program})  received {_local(i.received_at, i.time_zone)}",
             f"consent: {i.consent}  purpose: {i.purpose}  standards: {' '.join(i.standards) or '-'}"]
    state = i.state
    if i.acknowledged_at:
        state += f"; acknowledged {_local(i.acknowledged_at, i.time_zone)} by {i.acknowledged_by}"
    if i.resolved_at:
        state += f"; resolved {_local(i.resolved_at, i.time_zone)} by {i.resolved_by}"
    lines.append(f"state: {state}")
    if i.resolution_note:
        lines.append(f"  note: {i.resolution_note}")
    lines.append(f"next: {i.next_step}")
    if i.rights:
        lines.append("rights requests:")
    for r in i.rights:
        flag = " OVERDUE" if r.overdue else (" due soon" if r.due_soon else "")
        lines.append(f"  {r.right} (standard {r.standard}): {r.state}{flag}")
        for st in r.steps:
            lines.append(f"    {st.step} {_local(st.at, i.program_time_zone)} by {st.by}")
        if not r.clock_started:
            lines.append("    clock starts when the signed form is received")
        elif not r.deadlines:
            lines.append("    no legal deadline (the workflow is still kept)")
        for d in r.deadlines:
            extra = f" (was {d.original.isoformat()})" if d.extended and d.original else ""
            lines.append(f"    due {d.due.isoformat()}{extra}: {d.what}, {d.citation}, {d.period}")
        if r.extended and r.extension_reason:
            lines.append(f"    extension reason: {r.extension_reason}")
        elif r.can_extend:
            lines.append("    may be extended once, with a written reason, before the first deadline")
    if i.reasons:
        lines.append("reasons:")
    for reason in i.reasons:
        ev = f"  [evidence: {reason.evidence}]" if i.evidence and reason.evidence else ""
        lines.append(f"  ({reason.standard or '-'}) {reason.text}{ev}")
    if i.actions:
        lines.append("required actions:")
    for ra in i.actions:
        x = ra.action
        lines.append(f"  {x.kind} (standard {x.standard}, {ra.state}): {x.text}")
        if i.evidence:
            for label, value in (("to", x.to), ("phone", x.phone), ("mail to", x.mailing_address)):
                if value:
                    lines.append(f"    {label}: {value}")
    if i.outbox:
        lines.append("outbox:")
    for o in i.outbox:
        when = f" {_local(o.done_at, i.time_zone)}" if o.done_at else ""
        lines.append(f"  #{o.id} {o.kind}: {o.state}{when} ({o.attempts} tries)")
    if i.corrections:
        lines.append("corrections:")
    for c in i.corrections:
        given = [f"emergent={'yes' if c.emergent else 'no'}" if c.emergent is not None else "",
                 f"rights={','.join(c.hipaa_rights) or 'none'}" if c.hipaa_rights is not None else "",
                 f"purpose={c.purpose}" if c.purpose else "",
                 f"clinical={'yes' if c.clinical_question else 'no'}" if c.clinical_question is not None else ""]
        lines.append(f"  {_local(c.at, i.time_zone)} by {c.by}: {' '.join(g for g in given if g)}")
    return "\n".join(lines)
