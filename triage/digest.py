"""Supervisor digests (issue 6): a program's week or day at a glance, mailed to its supervisors.

A digest counts the program's items by flag and clinician for a period, lists the items still
open and the rights requests overdue or due soon with their dates, the time taken to acknowledge
emergent alerts, the label corrections people made (a sign of detector drift) and the volume by
flag per day, drawn as a small chart sent inline. It holds item numbers, links, mailbox names
and staff addresses: never message text, a subject, a client's name or a client's address.

- `build_digest` reads the store; `render_digest` makes the mail (HTML with a plain-text
  alternative and the chart as a related PNG named by Content-ID).
- `send_due_digests` sends each program's digest for its latest scheduled period, once per
  recipient and period: every send is an audit entry ("digest_sent") and a period already
  recorded for a recipient is skipped, so a second run or a restart sends nothing twice.
- `schedule_jobs` adds the worker's jobs: a cron job per program at its schedule, in the
  program's time zone, and a catch-up job (at start and every 15 minutes) that sends a digest
  missed while the worker was down or the SMTP server was failing, up to `CATCH_UP` late.

Periods are whole local days in the program's time zone. "day": the days since the previous
scheduled send (Tuesday's digest covers Monday; Monday's covers Friday to Sunday when the
schedule is mon-fri), "week": the seven days before the send. An item belongs to the period in
which it reached the store (`MessageRecord.recorded_at`), so mail read late is counted once.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage import review
from triage.clocks import local_date
from triage.config import Config, DigestSchedule
from triage.config import Program as ProgramConfig
from triage.crypto import Crypto
from triage.errors import ConfigError, TriageError
from triage.policy import FLAGS, PRIORITIES
from triage.store import Store
from triage.store.ledger import audit
from triage.store.models import (
    AssessmentRow,
    AuditEvent,
    Clinician,
    LabelCorrection,
    Mailbox,
    MessageRecord,
    Program,
)

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler
    from apscheduler.triggers.cron import CronTrigger

    from triage.mailer import Mailer

log = logging.getLogger("triage.digest")

PERIODS = ("day", "week")
CATCH_UP = timedelta(hours=12)  # a digest missed (worker down, SMTP failing) is still sent this long after its time
RETRY_MINUTES = 15
OPEN_LIMIT = 100  # open items listed one by one; the rest are counted
ACTION = "digest_sent"
FLAG_NAMES = {"emergent": "emergent", "rights_request": "rights request", "no_consent": "no consent",
              "multiple_clients": "multiple clients", "clinical_question": "clinical question",
              "unverified_sender": "unverified sender"}
FLAG_COLOURS = {"emergent": "#c62828", "rights_request": "#1565c0", "no_consent": "#ef6c00",
                "multiple_clients": "#6a1b9a", "clinical_question": "#2e7d32", "unverified_sender": "#757575"}
LABELS = ("emergent", "hipaa_rights", "purpose", "clinical_question")
_SEND_LOCK = threading.Lock()  # the cron job and the catch-up job may meet; one sender at a time per process


class DigestError(TriageError):
    """No such program, or a period that cannot be sent."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Period:
    """Whole local days [start, end) in a time zone; `kind` is "day" or "week"."""

    kind: str
    start: date
    end: date  # exclusive: the day the digest is about is end - 1
    zone: str

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), ZoneInfo(self.zone))

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(0), ZoneInfo(self.zone))

    @property
    def days(self) -> tuple[date, ...]:
        return tuple(self.start + timedelta(days=i) for i in range((self.end - self.start).days))

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        if last == self.start:
            return _day(self.start)
        return f"{_day(self.start)} to {_day(last)}"


@dataclass(frozen=True)
class OpenItem:
    item: int
    priority: int
    flags: tuple[str, ...]
    mailbox: str
    clinician: str
    received_at: datetime
    state: str  # new | acknowledged
    next_due: date | None
    overdue: bool
    due_soon: bool
    link: str

    @property
    def priority_name(self) -> str:
        return PRIORITIES[self.priority]


@dataclass(frozen=True)
class RightDue:
    """A rights request overdue or due within clocks.due_soon_days, at its earliest open deadline."""

    item: int
    right: str
    standard: str
    state: str  # the request's workflow step
    due: date
    what: str  # act, inspect, copies, accept or deny
    citation: str
    overdue: bool
    days_left: int  # negative when overdue
    mailbox: str
    clinician: str
    link: str


@dataclass(frozen=True)
class AckStats:
    """Emergent alerts raised in the period (the assessment's emergent, which is what alerted)."""

    alerts: int
    acknowledged: int
    median: timedelta | None
    worst: timedelta | None
    worst_item: int | None
    waiting: tuple[tuple[int, timedelta], ...]  # (item, how long) for alerts nobody has acknowledged


@dataclass(frozen=True)
class Digest:
    program_id: str
    program_name: str
    period: Period
    generated_at: datetime
    base_url: str
    due_soon_days: int
    messages: int  # assessed in the period, flagged or not
    flagged: int  # items (flags after corrections) in the period
    by_flag: dict[str, int]
    by_clinician: dict[str, dict[str, int]]  # clinician -> flag -> count, with "items" the number of items
    open_count: int
    open_items: tuple[OpenItem, ...]  # the first OPEN_LIMIT, in queue order
    rights_due: tuple[RightDue, ...]
    ack: AckStats
    corrections: dict[str, int]  # label -> corrections of it made in the period
    correction_changes: dict[str, int]  # e.g. "emergent: missed", "emergent: false alarm", "access: missed"
    daily: tuple[tuple[date, dict[str, int]], ...]  # volume by flag per local day

    def link(self, item: int) -> str:
        return item_link(self.base_url, item)

    @property
    def corrections_total(self) -> int:
        return sum(self.corrections.values())


@dataclass(frozen=True)
class Delivery:
    program: str
    recipient: str
    period: Period
    status: str  # sent | already | failed
    error: str = ""


# --------------------------------------------------------------------------- schedule


def schedule_for(config: Config, program: ProgramConfig) -> tuple[DigestSchedule, str]:
    """The program's schedule and period: its own ([[programs]] digest_schedule/digest_period) or [digests]'."""
    return (program.digest_schedule or config.digests.schedule, program.digest_period or config.digests.period)


def trigger(schedule: DigestSchedule, zone: str) -> CronTrigger:
    """APScheduler's CronTrigger for a schedule, read in a time zone."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(**schedule.fields(), timezone=ZoneInfo(zone))


def fire_times(schedule: DigestSchedule, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """The scheduled times in [start, end], earliest first."""
    cron = trigger(schedule, zone)
    out: list[datetime] = []
    t = cron.get_next_fire_time(None, start)
    while t is not None and t <= end and len(out) < 10_000:
        out.append(t)
        t = cron.get_next_fire_time(t, t + timedelta(microseconds=1))
    return out


def period_for(kind: str, fire: datetime, zone: str, previous: datetime | None = None) -> Period:
    """The period a digest sent at `fire` covers: up to the start of its local day; "day" from the local day
    of the previous scheduled send (at least one day, at most seven), "week" the seven days before."""
    if kind not in PERIODS:
        raise DigestError(f"unknown period {kind!r}; expected one of {', '.join(PERIODS)}")
    end = local_date(fire, zone)
    if kind == "week":
        return Period(kind, end - timedelta(days=7), end, zone)
    start = local_date(previous, zone) if previous is not None else end - timedelta(days=1)
    start = min(max(start, end - timedelta(days=7)), end - timedelta(days=1))
    return Period(kind, start, end, zone)


def period_ending(kind: str, end: date, zone: str) -> Period:
    """A period by hand (`triage digest`): the day, or the seven days, before `end`."""
    if kind not in PERIODS:
        raise DigestError(f"unknown period {kind!r}; expected one of {', '.join(PERIODS)}")
    return Period(kind, end - timedelta(days=1 if kind == "day" else 7), end, zone)


def due_period(config: Config, program: ProgramConfig, now: datetime, *,
               catch_up: timedelta = CATCH_UP) -> Period | None:
    """The period of the program's latest scheduled digest, when that time passed less than `catch_up` ago."""
    schedule, kind = schedule_for(config, program)
    fires = fire_times(schedule, program.time_zone, now - timedelta(days=8), now)
    if not fires or now - fires[-1] > catch_up:
        return None
    fire = fires[-1]
    day = local_date(fire, program.time_zone)
    earlier = [f for f in fires[:-1] if local_date(f, program.time_zone) < day]
    return period_for(kind, fire, program.time_zone, earlier[-1] if earlier else None)


def recipients(config: Config, program: ProgramConfig) -> tuple[str, ...]:
    """The program's supervisors and [digests] extra_recipients, each once."""
    return tuple(dict.fromkeys(a.strip().lower() for a in (*program.supervisors, *config.digests.extra_recipients)))


def recipient_zone(config: Config, program: ProgramConfig, recipient: str) -> str:
    """A supervisor who is also a configured clinician reads times in their own zone; others in the program's."""
    for c in config.clinicians:
        if recipient in c.addresses:
            return c.time_zone
    return program.time_zone


# --------------------------------------------------------------------------- building


def build_digest(session: Session, crypto: Crypto, config: Config, program_id: str, start: date, end: date,
                 now: datetime, *, kind: str | None = None) -> Digest:
    """The digest of one program for the local days [start, end) of its time zone, as of `now`.
    The open items' rights clocks are triage.review's, at triage.clock's time: pass its `now()`."""
    program = _program(config, program_id)
    zone = program.time_zone
    period = Period(kind or ("day" if (end - start).days == 1 else "week"), start, end, zone)
    base_url = config.actions.base_url

    rows = session.execute(
        select(AssessmentRow, MessageRecord.recorded_at, Mailbox.clinician_email)
        .join(MessageRecord, MessageRecord.id == AssessmentRow.message_record_id)
        .join(Mailbox, Mailbox.id == AssessmentRow.mailbox_id)
        .join(Clinician, Clinician.email == Mailbox.clinician_email)
        .where(Clinician.program_id == program_id, MessageRecord.recorded_at >= period.start_at,
               MessageRecord.recorded_at < period.end_at)
        .order_by(AssessmentRow.message_record_id)).all()
    corrections = review._corrections(session, [a.message_record_id for a, _, _ in rows])

    clinicians = list(session.scalars(select(Clinician.email).where(Clinician.program_id == program_id,
                                                                    Clinician.active.is_(True))
                                      .order_by(Clinician.email)))
    by_flag: Counter[str] = Counter()
    by_clinician: dict[str, Counter[str]] = {c: Counter() for c in clinicians}
    daily: dict[date, Counter[str]] = {d: Counter() for d in period.days}
    flagged = 0
    for a, recorded_at, clinician in rows:
        # The flags as the queue shows them: a correction adds or removes one.
        flags = review._flags(a, review._labels(a, corrections.get(a.message_record_id, [])))
        if not flags:
            continue
        flagged += 1
        by_flag.update(flags)
        per = by_clinician.setdefault(clinician, Counter())
        per.update(flags)
        per["items"] += 1
        day = local_date(recorded_at, zone)
        daily.setdefault(day, Counter()).update(flags)

    ack = _ack_stats(rows, now)
    open_count, open_items, rights_due = _open(session, crypto, config, program_id, base_url, now, zone)
    by_label, changes = _corrections_in(session, program_id, period)
    return Digest(
        program_id=program_id, program_name=program.name, period=period, generated_at=now, base_url=base_url,
        due_soon_days=config.clocks.due_soon_days, messages=len(rows), flagged=flagged,
        by_flag={f: by_flag[f] for f in FLAGS if by_flag[f]},
        by_clinician={c: dict(n) for c, n in sorted(by_clinician.items())},
        open_count=open_count, open_items=open_items, rights_due=rights_due, ack=ack,
        corrections=by_label, correction_changes=changes,
        daily=tuple((d, {f: n[f] for f in FLAGS if n[f]}) for d, n in sorted(daily.items())))


def _ack_stats(rows: Sequence[Any], now: datetime) -> AckStats:
    times: list[tuple[timedelta, int]] = []
    waiting: list[tuple[int, timedelta]] = []
    alerts = 0
    for a, recorded_at, _ in rows:
        if not a.emergent:  # the detector's emergent is what raised an alert; a person's later "yes" raised none
            continue
        alerts += 1
        if a.acknowledged_at is not None:
            times.append((max(a.acknowledged_at - recorded_at, timedelta(0)), a.message_record_id))
        else:
            waiting.append((a.message_record_id, max(now - recorded_at, timedelta(0))))
    if not times:
        return AckStats(alerts, 0, None, None, None, tuple(waiting))
    ordered = sorted(t for t, _ in times)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    worst, worst_item = max(times, key=lambda x: (x[0], -x[1]))
    return AckStats(alerts, len(times), median, worst, worst_item, tuple(waiting))


def _open(session: Session, crypto: Crypto, config: Config, program_id: str, base_url: str, now: datetime,
          zone: str) -> tuple[int, tuple[OpenItem, ...], tuple[RightDue, ...]]:
    items = review.queue(session, crypto, program=program_id, rules=config.clocks)
    today = local_date(now, zone)
    dues: list[RightDue] = []
    for i in items:
        for r in i.rights:
            if not (r.overdue or r.due_soon) or r.next_due is None:
                continue
            d = next(d for d in r.deadlines if d.due == r.next_due)
            dues.append(RightDue(i.item, r.right, r.standard, r.state, r.next_due, d.what, d.citation, r.overdue,
                                 (r.next_due - today).days, i.mailbox, i.clinician, item_link(base_url, i.item)))
    dues.sort(key=lambda d: (d.due, d.item, d.right))
    shown = tuple(OpenItem(i.item, i.priority, i.flags, i.mailbox, i.clinician, i.received_at, i.state, i.next_due,
                           i.overdue, i.due_soon, item_link(base_url, i.item)) for i in items[:OPEN_LIMIT])
    return len(items), shown, tuple(dues)


def _corrections_in(session: Session, program_id: str, period: Period) -> tuple[dict[str, int], dict[str, int]]:
    rows = session.scalars(
        select(LabelCorrection)
        .join(Mailbox, Mailbox.id == LabelCorrection.mailbox_id)
        .join(Clinician, Clinician.email == Mailbox.clinician_email)
        .where(Clinician.program_id == program_id, LabelCorrection.corrected_at >= period.start_at,
               LabelCorrection.corrected_at < period.end_at)
        .order_by(LabelCorrection.id))
    labels: Counter[str] = Counter()
    changes: Counter[str] = Counter()
    for c in rows:
        before = c.before or {}
        if c.emergent is not None:
            labels["emergent"] += 1
            was = bool(before.get("emergent"))
            changes["emergent: " + ("confirmed" if was == c.emergent else "missed" if c.emergent
                                    else "false alarm")] += 1
        if c.hipaa_rights is not None:
            labels["hipaa_rights"] += 1
            now_rights, was_rights = set(c.hipaa_rights.split()), set(before.get("hipaa_rights") or ())
            changes.update(f"{r}: missed" for r in sorted(now_rights - was_rights))
            changes.update(f"{r}: false" for r in sorted(was_rights - now_rights))
        if c.purpose is not None:
            labels["purpose"] += 1
            if c.purpose != before.get("purpose"):
                changes[f"purpose: {before.get('purpose') or '?'} -> {c.purpose}"] += 1
        if c.clinical_question is not None:
            labels["clinical_question"] += 1
            if c.clinical_question != bool(before.get("clinical_question")):
                changes["clinical question: " + ("missed" if c.clinical_question else "false")] += 1
    return ({k: labels[k] for k in LABELS if labels[k]}, dict(sorted(changes.items())))


def item_link(base_url: str, item: int) -> str:
    return f"{base_url.rstrip('/')}/items/{item}"


def _program(config: Config, program_id: str) -> ProgramConfig:
    found = next((p for p in config.programs if p.id == program_id), None)
    if found is None:
        raise DigestError(f"no program {program_id!r}; expected one of "
                          f"{', '.join(p.id for p in config.programs) or '(none)'}")
    return found


# --------------------------------------------------------------------------- rendering


def volume_chart(digest: Digest, *, width: int = 560, height: int = 200) -> bytes:
    """A PNG of the period's volume by flag per day: a group of bars per day, one colour per flag."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font: Any = ImageFont.load_default(size=11)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        font = ImageFont.load_default()
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    flags = [f for f in FLAGS if any(counts.get(f) for _, counts in digest.daily)] or ["emergent"]
    left, right, top, bottom = 34, 8, 24, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([n for _, counts in digest.daily for n in counts.values()] or [0])
    scale = max(peak, 1)
    # Legend along the top.
    x = left
    for f in flags:
        draw.rectangle((x, 6, x + 9, 15), fill=FLAG_COLOURS[f])
        draw.text((x + 13, 4), FLAG_NAMES[f], fill="#333333", font=font)
        x += 20 + int(draw.textlength(FLAG_NAMES[f], font=font))
    # Axes and the peak's value.
    draw.line((left, top, left, top + plot_h), fill="#999999")
    draw.line((left, top + plot_h, left + plot_w, top + plot_h), fill="#999999")
    draw.text((4, top - 2), str(peak), fill="#333333", font=font)
    draw.text((4, top + plot_h - 10), "0", fill="#333333", font=font)
    days = digest.daily or ((digest.period.start, {}),)
    group = plot_w / len(days)
    bar = max(1.0, min(18.0, (group - 6) / len(flags)))
    for i, (day, counts) in enumerate(days):
        gx = left + i * group + (group - bar * len(flags)) / 2
        for j, f in enumerate(flags):
            n = counts.get(f, 0)
            if n:
                h = plot_h * n / scale
                draw.rectangle((gx + j * bar, top + plot_h - h, gx + (j + 1) * bar - 1, top + plot_h),
                               fill=FLAG_COLOURS[f])
        label = day.strftime("%a %d") if len(days) <= 14 else day.strftime("%d")
        lx = left + i * group + group / 2 - draw.textlength(label, font=font) / 2
        draw.text((lx, top + plot_h + 5), label, fill="#333333", font=font)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_text(digest: Digest, *, zone: str | None = None) -> str:
    """The plain-text digest (the mail's text part and `triage digest --print`)."""
    zone = zone or digest.period.zone
    d = digest
    out = [f"Triage digest: {d.program_name} ({d.program_id})",
           f"Period: {d.period.label} (days in {d.period.zone})",
           f"Made: {_local(d.generated_at, zone)}", "",
           f"In the period: {d.messages} message{_s(d.messages)} assessed, {d.flagged} flagged item{_s(d.flagged)}.",
           ""]
    out.append("Items by flag (an item may carry several flags)")
    out += [f"  {FLAG_NAMES[f]:<20} {n:>5}" for f, n in d.by_flag.items()] or ["  none"]
    out.append("")
    out.append("By clinician")
    flags = list(d.by_flag)
    header = ["clinician", "items", *[FLAG_NAMES[f] for f in flags]]
    table = [header] + [[c, str(n.get("items", 0)), *[str(n.get(f, 0)) for f in flags]]
                        for c, n in d.by_clinician.items()]
    out += _columns(table, indent="  ") if len(table) > 1 else ["  no clinicians"]
    out.append("")
    out.append("Emergent alerts (time to acknowledge)")
    out.append("  " + _ack_line(d.ack))
    for item, waited in d.ack.waiting:
        out.append(f"  NOT ACKNOWLEDGED: item {item}, waiting {_duration(waited)}  {d.link(item)}")
    out.append("")
    out.append(f"Rights requests overdue or due within {d.due_soon_days} days")
    if d.rights_due:
        out += _columns([["item", "request", "deadline", "due", "", "step", "clinician", "link"]] + [
            [str(r.item), f"{r.right.replace('_', ' ')} ({r.standard})", f"{r.what}, {r.citation}",
             r.due.isoformat(), _due_words(r), r.state.replace("_", " "), r.clinician, r.link]
            for r in d.rights_due], indent="  ")
    else:
        out.append("  none")
    out.append("")
    out.append(f"Items still open: {d.open_count}")
    if d.open_items:
        out += _columns([["item", "priority", "flags", "mailbox", "received", "state", "due", "link"]] + [
            [str(i.item), i.priority_name, ", ".join(FLAG_NAMES[f] for f in i.flags) or "-", i.mailbox,
             _local(i.received_at, zone, "%Y-%m-%d"), i.state, _open_due(i), i.link] for i in d.open_items],
            indent="  ")
        if d.open_count > len(d.open_items):
            out.append(f"  and {d.open_count - len(d.open_items)} more: see the queue")
    out.append("")
    out.append(f"Label corrections made in the period (detector drift): {d.corrections_total}")
    out += [f"  {label.replace('_', ' ')}: {n}" for label, n in d.corrections.items()]
    out += [f"    {what}: {n}" for what, n in d.correction_changes.items()]
    out.append("")
    out.append("Volume by flag per day")
    out += _columns([["day", *[FLAG_NAMES[f] for f in FLAGS]]] + [
        [day.strftime("%a %Y-%m-%d"), *[str(n.get(f, 0)) for f in FLAGS]] for day, n in d.daily], indent="  ")
    out += ["", "Item numbers and links open the review pages. This digest holds no message text, subject or "
            "client name on purpose."]
    return "\n".join(out) + "\n"


def render_html(digest: Digest, *, zone: str | None = None, chart_src: str = "") -> str:
    """The HTML digest; `chart_src` is the chart's address (cid:... in mail, a data: URI in a preview)."""
    zone = zone or digest.period.zone
    d = digest
    e = html.escape

    def table(header: Sequence[str], rows: Sequence[Sequence[str]], raw: bool = False) -> str:
        th = "".join(f'<th style="text-align:left;padding:2px 8px;border-bottom:1px solid #ccc">{e(h)}</th>'
                     for h in header)
        td = '<td style="padding:2px 8px;white-space:nowrap">'
        trs = "".join("<tr>" + "".join(f"{td}{c if raw else e(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f'<table style="border-collapse:collapse;font-size:14px"><tr>{th}</tr>{trs}</table>'

    def a(link: str, text: str) -> str:
        return f'<a href="{e(link, quote=True)}">{e(text)}</a>'

    parts = [f"<h1 style=\"font-size:20px\">Triage digest: {e(d.program_name)} ({e(d.program_id)})</h1>",
             f"<p>Period: <b>{e(d.period.label)}</b> (days in {e(d.period.zone)}). "
             f"Made {e(_local(d.generated_at, zone))}.</p>",
             f"<p>In the period: <b>{d.messages}</b> message{_s(d.messages)} assessed, <b>{d.flagged}</b> flagged "
             f"item{_s(d.flagged)}.</p>"]
    parts.append("<h2 style=\"font-size:16px\">Items by flag</h2>")
    parts.append(table(["flag", "items"], [[FLAG_NAMES[f], str(n)] for f, n in d.by_flag.items()])
                 if d.by_flag else "<p>none</p>")
    if chart_src:
        parts.append(f'<p><img src="{e(chart_src, quote=True)}" alt="Volume by flag per day" width="560" '
                     'height="200"></p>')
    flags = list(d.by_flag)
    parts.append("<h2 style=\"font-size:16px\">By clinician</h2>")
    parts.append(table(["clinician", "items", *[FLAG_NAMES[f] for f in flags]],
                       [[c, str(n.get("items", 0)), *[str(n.get(f, 0)) for f in flags]]
                        for c, n in d.by_clinician.items()]))
    parts.append("<h2 style=\"font-size:16px\">Emergent alerts: time to acknowledge</h2>")
    parts.append(f"<p>{e(_ack_line(d.ack))}</p>")
    if d.ack.waiting:
        parts.append("<p style=\"color:#c62828\"><b>Not acknowledged:</b> " + ", ".join(
            f"{a(d.link(item), f'item {item}')} (waiting {e(_duration(w))})" for item, w in d.ack.waiting) + "</p>")
    parts.append(f"<h2 style=\"font-size:16px\">Rights requests overdue or due within {d.due_soon_days} days</h2>")
    if d.rights_due:
        parts.append(table(["item", "request", "deadline", "due", "", "step", "clinician"], [
            [a(r.link, str(r.item)), e(f"{r.right.replace('_', ' ')} ({r.standard})"), e(f"{r.what}, {r.citation}"),
             e(r.due.isoformat()),
             f'<b style="color:#c62828">{e(_due_words(r))}</b>' if r.overdue else e(_due_words(r)),
             e(r.state.replace("_", " ")), e(r.clinician)] for r in d.rights_due], raw=True))
    else:
        parts.append("<p>none</p>")
    parts.append(f"<h2 style=\"font-size:16px\">Items still open: {d.open_count}</h2>")
    if d.open_items:
        parts.append(table(["item", "priority", "flags", "mailbox", "received", "state", "due"], [
            [a(i.link, str(i.item)), e(i.priority_name), e(", ".join(FLAG_NAMES[f] for f in i.flags) or "-"),
             e(i.mailbox), e(_local(i.received_at, zone, "%Y-%m-%d")), e(i.state), e(_open_due(i))]
            for i in d.open_items], raw=True))
        if d.open_count > len(d.open_items):
            parts.append(f"<p>and {d.open_count - len(d.open_items)} more: see the queue.</p>")
    parts.append("<h2 style=\"font-size:16px\">Label corrections made in the period (detector drift): "
                 f"{d.corrections_total}</h2>")
    if d.corrections:
        parts.append(table(["label", "corrections"], [[k.replace("_", " "), str(n)] for k, n in
                                                      d.corrections.items()]))
        parts.append(table(["change", "count"], [[k, str(n)] for k, n in d.correction_changes.items()]))
    parts.append("<h2 style=\"font-size:16px\">Volume by flag per day</h2>")
    parts.append(table(["day", *[FLAG_NAMES[f] for f in FLAGS]],
                       [[day.strftime("%a %Y-%m-%d"), *[str(n.get(f, 0)) for f in FLAGS]] for day, n in d.daily]))
    parts.append("<p style=\"color:#666;font-size:12px\">Item numbers and links open the review pages. This digest "
                 "holds no message text, subject or client name on purpose.</p>")
    return _page("\n".join(parts))


def _page(body: str) -> str:
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Triage digest</title></head>"
            f"<body style=\"font-family:sans-serif;color:#222\">\n{body}\n</body></html>\n")


def render_digest(digest: Digest, *, recipient: str = "", sender: str = "triage@localhost",
                  zone: str | None = None) -> EmailMessage:
    """The digest as mail: a plain-text part, and an HTML part with the volume chart as a related inline PNG."""
    message = EmailMessage()
    message["From"] = sender
    if recipient:
        message["To"] = recipient
    message["Subject"] = f"[triage] {digest.program_name} digest: {digest.period.label}"
    message["Date"] = format_datetime(digest.generated_at)
    domain = sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid("digest", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Triage-Digest"] = f"{digest.program_id} {digest.period.start} {digest.period.end}"
    cid = make_msgid("chart", domain=domain)
    message.set_content(render_text(digest, zone=zone))
    message.add_alternative(render_html(digest, zone=zone, chart_src="cid:" + cid[1:-1]), subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    html_part.add_related(volume_chart(digest), "image", "png", cid=cid, disposition="inline",
                          filename="volume.png")
    return message


def preview_html(digests: Sequence[Digest], *, zone: str | None = None) -> str:
    """One stand-alone HTML page of these digests with their charts inlined (`triage digest --preview`)."""
    bodies = []
    for d in digests:
        data = base64.b64encode(volume_chart(d)).decode("ascii")
        page = render_html(d, zone=zone, chart_src=f"data:image/png;base64,{data}")
        bodies.append(page[page.index("<h1"):page.rindex("</body>")].strip())
    return _page("\n<hr>\n".join(bodies))


def _columns(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _ack_line(ack: AckStats) -> str:
    if not ack.alerts:
        return "no emergent alerts in the period"
    line = f"{ack.alerts} alert{_s(ack.alerts)}, {ack.acknowledged} acknowledged"
    if ack.median is not None and ack.worst is not None:
        line += f"; median {_duration(ack.median)}, worst {_duration(ack.worst)} (item {ack.worst_item})"
    if ack.waiting:
        line += f"; {len(ack.waiting)} not acknowledged yet"
    return line


def _due_words(r: RightDue) -> str:
    if r.overdue:
        return f"OVERDUE by {-r.days_left} day{_s(-r.days_left)}"
    return "due today" if r.days_left == 0 else f"due in {r.days_left} day{_s(r.days_left)}"


def _open_due(i: OpenItem) -> str:
    if i.next_due is None:
        return "-"
    return i.next_due.isoformat() + (" OVERDUE" if i.overdue else " soon" if i.due_soon else "")


def _duration(t: timedelta) -> str:
    minutes = int(t.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days {hours % 24} h"


def _local(when: datetime, zone: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return when.astimezone(ZoneInfo(zone)).strftime(fmt)


def _day(d: date) -> str:
    return d.strftime("%a %d %b %Y")


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# --------------------------------------------------------------------------- sending


def sent_to(session: Session, program_id: str, period: Period) -> set[str]:
    """The recipients who already have this program's digest for this period (the audit trail says)."""
    details = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == ACTION,
                                                              AuditEvent.at >= period.start_at))
    key = (program_id, period.start.isoformat(), period.end.isoformat())
    return {str(x.get("recipient")) for x in details
            if x and (x.get("program"), x.get("start"), x.get("end")) == key}


def send_digest(store: Store, crypto: Crypto, config: Config, mailer: Mailer, program_id: str, period: Period,
                now: datetime, *, to: Sequence[str] | None = None) -> list[Delivery]:
    """Send one program's digest for a period to its recipients (or `to`) who do not have it yet; each send is
    recorded in the same transaction that checked, under a lock on the program, so two senders never both send."""
    program = _program(config, program_id)
    wanted = tuple(dict.fromkeys(a.strip().lower() for a in (to if to is not None else recipients(config, program))))
    if not wanted:
        return []
    if not mailer.configured:
        raise ConfigError("no SMTP server is configured ([smtp] host): digests cannot be sent")
    with _SEND_LOCK:
        with store.begin() as s:
            if not _left(s, program_id, period, wanted):
                return [Delivery(program_id, r, period, "already") for r in wanted]
            digest = build_digest(s, crypto, config, program_id, period.start, period.end, now, kind=period.kind)
        out: list[Delivery] = []
        for recipient in wanted:
            out.append(_send_one(store, config, mailer, digest, program, recipient))
    return out


def _left(session: Session, program_id: str, period: Period, wanted: Sequence[str]) -> list[str]:
    done = sent_to(session, program_id, period)
    return [r for r in wanted if r not in done]


def _send_one(store: Store, config: Config, mailer: Mailer, digest: Digest, program: ProgramConfig,
              recipient: str) -> Delivery:
    period = digest.period
    with store.begin() as s:
        # Other workers (PostgreSQL) wait here while one sends; SQLite has a single worker.
        s.execute(select(Program.id).where(Program.id == program.id).with_for_update())
        if recipient in sent_to(s, program.id, period):
            return Delivery(program.id, recipient, period, "already")
        message = render_digest(digest, recipient=recipient, sender=config.smtp.from_address,
                                zone=recipient_zone(config, program, recipient))
        try:
            mailer.send(message, [recipient])
        except TriageError as exc:
            log.warning("digest not sent; will retry", extra={"program": program.id, "recipient": recipient,
                                                               "error": str(exc)})
            return Delivery(program.id, recipient, period, "failed", str(exc))
        audit(s, ACTION, actor="digest", program=program.id, recipient=recipient, period=period.kind,
              start=period.start.isoformat(), end=period.end.isoformat(), zone=period.zone,
              items=digest.flagged, open=digest.open_count)
    log.info("digest sent", extra={"program": program.id, "recipient": recipient, "start": str(period.start),
                                   "end": str(period.end)})
    return Delivery(program.id, recipient, period, "sent")


def send_due_digests(store: Store, crypto: Crypto, config: Config, mailer: Mailer, now: datetime, *,
                     program: str | None = None, catch_up: timedelta = CATCH_UP) -> list[Delivery]:
    """Send every program's (or one program's) digest whose scheduled time passed less than `catch_up` ago
    and that some recipient does not have yet. Nothing when [digests] enabled is false."""
    if not config.digests.enabled:
        return []
    out: list[Delivery] = []
    for p in config.programs:
        if program is not None and p.id != program:
            continue
        period = due_period(config, p, now, catch_up=catch_up)
        if period is None or not recipients(config, p):
            continue
        out += send_digest(store, crypto, config, mailer, p.id, period, now)
    return out


def schedule_jobs(scheduler: BaseScheduler, store: Store, crypto: Crypto, config: Config, mailer: Mailer, *,
                  stop: threading.Event | None = None,
                  clock: Callable[[], datetime] | None = None) -> list[str]:
    """Add the digest jobs to an APScheduler scheduler: one cron job per program with recipients, at its
    schedule in its time zone, and a catch-up job now and every RETRY_MINUTES. Returns the job ids."""
    from apscheduler.triggers.interval import IntervalTrigger

    from triage.clock import now as clock_now

    if not config.digests.enabled:
        return []
    when = clock or clock_now

    def run(program_id: str | None) -> None:
        if stop is not None and stop.is_set():
            return
        if not mailer.configured:
            log.debug("digests wait for an SMTP server ([smtp] host)")
            return
        try:
            send_due_digests(store, crypto, config, mailer, when(), program=program_id)
        except Exception:  # a bug or the store gone: the next run tries again
            log.exception("digests crashed", extra={"program": program_id or "*"})

    ids: list[str] = []
    for p in config.programs:
        if not recipients(config, p):
            continue
        schedule, _ = schedule_for(config, p)
        job_id = f"digest-{p.id}"
        scheduler.add_job(run, trigger(schedule, p.time_zone), args=[p.id], id=job_id, max_instances=1,
                          coalesce=True, misfire_grace_time=int(CATCH_UP.total_seconds()))
        ids.append(job_id)
    if ids:
        scheduler.add_job(run, IntervalTrigger(minutes=RETRY_MINUTES, timezone="UTC"), args=[None],
                          id="digests-catch-up", max_instances=1, coalesce=True, next_run_time=when())
        ids.append("digests-catch-up")
        if not mailer.configured:
            log.warning("digests are enabled but no SMTP server is configured ([smtp] host); none will be sent")
    return ids

