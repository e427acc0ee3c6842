"""Supervisor digests (triage.digest) over a store filled by the real pipeline: Maildir -> Ingestor ->
StoreAssessor (the keyword stand-in detector) -> assessments; acknowledgements and corrections through
triage.review at known times. The counts, open items, rights clocks, acknowledgement times and corrections;
the mail's parts (text, HTML, an inline PNG named by cid) with no word of any message, subject or client;
delivery to a real SMTP server (aiosmtpd) once per recipient and period, across a restart and an SMTP
outage; the schedule's parsing and time zones; the worker's jobs; the `digest` command."""

from __future__ import annotations

import argparse
import mailbox
import os
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from conftest import make_mail, write_config
from smtp_fixture import SmtpSink
from sqlalchemy import select
from test_assess_store import REGISTRY, KeywordDetector

from triage import digest, review
from triage.assess import StoreAssessor
from triage.clock import set_clock
from triage.config import Config, load_config, parse_schedule
from triage.crypto import Crypto, load_crypto
from triage.digest_cli import register
from triage.errors import ConfigError, TriageError
from triage.ingest import Ingestor, IngestSettings
from triage.mailer import Mailer
from triage.registry import parse_csv
from triage.sources.maildir import MaildirSource
from triage.store import Store
from triage.store import consent as consent_store
from triage.store.models import AuditEvent, MessageRecord
from triage.store.org import sync_organisation

ALEX, SAM, ROBIN = "alex.morgan@dmh.example.org", "sam.lee@dmh.example.org", "robin.diaz@dmh.example.org"
CASEY, DREW, QUALITY = "casey.nguyen@dmh.example.org", "drew.park@dmh.example.org", "quality@dmh.example.org"
MORE_CLIENTS = """C-3,Kim Example,sam.lee@dmh.example.org,kim@example.net,,1990-01-01,self,,true,true,2026-01-05,,\
555-0103,3 Main St,en
C-4,Jo Example,robin.diaz@dmh.example.org,jo@example.org,,1990-01-01,self,,true,true,2026-01-05,,555-0104,\
4 Main St,en
"""
EXTRA = """
[[programs]]
id = "child"
name = "Children's Clinic"
email_approved = true
approved_by = "Jordan Avery"
approved_on = 2026-01-15
time_zone = "America/New_York"
supervisors = ["drew.park@dmh.example.org"]
digest_schedule = "mon 08:00"
digest_period = "week"

[[clinicians]]
email = "robin.diaz@dmh.example.org"
name = "Robin Diaz"
program = "child"

[actions]
base_url = "https://triage.dmh.example.org/"

[digests]
extra_recipients = ["Quality@dmh.example.org"]
"""
SUBJECT = "Private subject BRAMBLEWICK"
# Nothing a client wrote, and nothing that names or reaches a client, may be in a digest.
SECRETS = ("ZEPHYRQUILL", "MARBLEFINCH", "BRAMBLEWICK", "Private subject", "pills tonight", "copy of my records",
           "appointment", "Pat Example", "Lee Example", "Kim Example", "Jo Example", "client@example.com",
           "other@example.com", "kim@example.net", "jo@example.org", "stranger@example.net", "555-010", "Main St",
           "C-1", "C-2", "C-3", "C-4")
T0 = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)  # Monday 09:00 in Los Angeles
NOW = datetime(2026, 11, 17, 15, 30, tzinfo=UTC)  # Tuesday 07:30 in Los Angeles: adult-op's digest time
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


def at(when: datetime) -> None:
    set_clock(lambda: when)


@dataclass
class Env:
    config: Config
    store: Store
    crypto: Crypto
    ids: dict[str, int]
    paths: dict[str, Path]
    n: int = 0

    def deliver(self, box: str, body: str, *, sender: str, when: datetime) -> int:
        """Deliver one message and poll its mailbox at `when`; returns its item number."""
        self.n += 1
        name = f"{int(when.timestamp())}.M{self.n}P1.test.example.org"  # a Maildir name starts with its receipt
        (self.paths[box] / "new" / name).write_bytes(make_mail(self.n, sender=sender, body=body, subject=SUBJECT))
        at(when)
        ingestor = Ingestor(self.store, self.crypto, IngestSettings(batch_size=10),
                            assessor=StoreAssessor(self.store, self.crypto, self.config, KeywordDetector()))
        assert ingestor.poll(self.ids[box], MaildirSource(box, self.paths[box]), ("INBOX",)).total("recorded") == 1
        with self.store.begin() as s:
            return int(s.scalar(select(MessageRecord.id).order_by(MessageRecord.id.desc()).limit(1)))  # type: ignore[arg-type]

    def ack(self, item: int, when: datetime, who: str = ALEX) -> None:
        at(when)
        with self.store.begin() as s:
            assert review.acknowledge(s, item, who)

    def build(self, program: str = "adult-op", start: date = date(2026, 11, 16), end: date = date(2026, 11, 17),
              now: datetime = NOW) -> digest.Digest:
        at(now)
        with self.store.begin() as s:
            return digest.build_digest(s, self.crypto, self.config, program, start, end, now)

    def mailer(self) -> Mailer:
        return Mailer(self.config.smtp)

    def sent_events(self) -> list[dict[str, object]]:
        with self.store.begin() as s:
            return [dict(d) for d in s.scalars(select(AuditEvent.detail).where(AuditEvent.action == "digest_sent")
                                                .order_by(AuditEvent.id))]


def make_env(tmp_path: Path, smtp: SmtpSink | None = None) -> Env:
    paths = {name: tmp_path / f"Maildir-{name}" for name in ("alex", "sam", "robin")}
    for p in paths.values():
        mailbox.Maildir(p, create=True)
    boxes = "".join(f"""
        [[mailboxes]]
        name = "{name}"
        clinician = "{who}"
        kind = "maildir"
        path = "{paths[name]}"
    """ for name, who in (("alex", ALEX), ("sam", SAM), ("robin", ROBIN)))
    extra = EXTRA
    if smtp is not None:
        extra += f"""
[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "plain"
from_address = "triage@dmh.example.org"
timeout = 5
"""
    config = load_config(write_config(tmp_path, boxes, extra=extra))
    store = Store(config.store.url)
    store.ensure_schema()
    crypto = load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file)
    with store.begin() as s:
        ids = sync_organisation(s, config)
        consent_store.save(s, crypto, parse_csv(REGISTRY + MORE_CLIENTS))
    return Env(config, store, crypto, ids, paths)


@dataclass
class Items:
    overdue_access: int  # alex, 6 Nov: California inspection was due Fri 13 Nov
    soon_access: int  # sam, 11 Nov: inspection due Wed 18 Nov
    plain: int  # alex, in the period, unflagged; a person corrects it to emergent (a missed one)
    access: int  # alex, in the period
    e1: int  # alex, acknowledged after 10 minutes
    no_consent: int  # alex, a rights request from a client who did not consent to email
    e2: int  # alex, acknowledged after 40 minutes
    e3: int  # sam, never acknowledged
    unverified: int  # sam, a stranger; resolved
    child: int  # robin, the other program, acknowledged after 5 minutes
    later: int  # alex, after the period (Tuesday 06:00 in Los Angeles)


def seed(env: Env) -> Items:
    i = Items(
        overdue_access=env.deliver("alex", "please send me a copy of my records ZEPHYRQUILL",
                                   sender="client@example.com", when=datetime(2026, 11, 6, 17, 0, tzinfo=UTC)),
        soon_access=env.deliver("sam", "a copy of my records please MARBLEFINCH", sender="kim@example.net",
                                when=datetime(2026, 11, 11, 17, 0, tzinfo=UTC)),
        plain=env.deliver("alex", "can we move my appointment MARBLEFINCH", sender="client@example.com",
                          when=T0 - 30 * MIN),
        access=env.deliver("alex", "send me a copy of my records ZEPHYRQUILL", sender="client@example.com", when=T0),
        e1=env.deliver("alex", "i have the pills tonight ZEPHYRQUILL", sender="client@example.com", when=T0 + HOUR),
        no_consent=env.deliver("alex", "i need a copy of my records MARBLEFINCH", sender="other@example.com",
                               when=T0 + 2 * HOUR),
        e2=env.deliver("alex", "the pills tonight, I mean it ZEPHYRQUILL", sender="client@example.com",
                       when=T0 + 3 * HOUR),
        e3=env.deliver("sam", "pills tonight MARBLEFINCH", sender="kim@example.net", when=T0 + 4 * HOUR),
        unverified=env.deliver("sam", "can i book an appointment ZEPHYRQUILL", sender="stranger@example.net",
                               when=T0 + 5 * HOUR),
        child=env.deliver("robin", "pills tonight MARBLEFINCH", sender="jo@example.org", when=T0 + 5 * HOUR),
        later=env.deliver("alex", "pills tonight again ZEPHYRQUILL", sender="client@example.com",
                          when=datetime(2026, 11, 17, 14, 0, tzinfo=UTC)),
    )
    env.ack(i.e1, T0 + HOUR + 10 * MIN)
    env.ack(i.e2, T0 + 3 * HOUR + 40 * MIN)
    env.ack(i.child, T0 + 5 * HOUR + 5 * MIN, ROBIN)
    at(datetime(2026, 11, 11, 19, 0, tzinfo=UTC))  # before the period: not in Monday's digest
    with env.store.begin() as s:
        review.correct(s, env.crypto, i.soon_access, SAM, purpose="information")
    at(T0 + 6 * HOUR)
    with env.store.begin() as s:
        review.correct(s, env.crypto, i.plain, ALEX, emergent=True)
        review.correct(s, env.crypto, i.access, ALEX, rights=("access", "amendment"))
        review.resolve(s, env.crypto, i.unverified, SAM, "called back; a wrong address")
    return i


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path)
    yield e
    e.store.dispose()


@pytest.fixture
def mail_env(tmp_path: Path, smtp_sink: SmtpSink) -> Iterator[Env]:
    e = make_env(tmp_path, smtp_sink)
    yield e
    e.store.dispose()


def parts(message: EmailMessage) -> dict[str, list[EmailMessage]]:
    out: dict[str, list[EmailMessage]] = {}
    for part in message.walk():
        out.setdefault(part.get_content_type(), []).append(part)  # type: ignore[arg-type]
    return out


def assert_no_client_data(message: EmailMessage) -> None:
    texts = [str(message), message.as_bytes().decode("ascii", "replace")]
    texts += [str(p.get_content()) for p in message.walk() if p.get_content_maintype() == "text"]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, secret


# --------------------------------------------------------------------------- the numbers


def test_the_digest_counts_the_period_by_flag_and_clinician(env: Env) -> None:
    i = seed(env)
    d = env.build()
    assert d.period == digest.Period("day", date(2026, 11, 16), date(2026, 11, 17), "America/Los_Angeles")
    assert (d.messages, d.flagged) == (7, 7)  # the two older requests and Tuesday's mail are outside Monday
    # The plain message counts as emergent: a person corrected it. Flags as the queue shows them.
    assert d.by_flag == {"emergent": 4, "rights_request": 2, "no_consent": 1, "unverified_sender": 1}
    assert d.by_clinician == {
        ALEX: {"emergent": 3, "rights_request": 2, "no_consent": 1, "items": 5},
        SAM: {"emergent": 1, "unverified_sender": 1, "items": 2},
    }
    assert d.daily == ((date(2026, 11, 16), d.by_flag),)
    # Open: everything of the program not resolved, wherever it falls; not the other program's.
    assert d.open_count == 9
    assert {o.item for o in d.open_items} == {i.overdue_access, i.soon_access, i.plain, i.access, i.e1,
                                             i.no_consent, i.e2, i.e3, i.later}
    assert d.open_items[0].priority == 1 and d.open_items[0].link.startswith("https://triage.dmh.example.org/items/")
    # Rights requests overdue or due within clocks.due_soon_days (3), with their dates.
    assert [(r.item, r.right, r.what, r.due, r.overdue, r.days_left) for r in d.rights_due] == [
        (i.overdue_access, "access", "inspect", date(2026, 11, 13), True, -4),
        (i.soon_access, "access", "inspect", date(2026, 11, 18), False, 1),
    ]
    assert d.rights_due[0].link == f"https://triage.dmh.example.org/items/{i.overdue_access}"
    # Emergent alerts raised in the period: acknowledged after 10 and 40 minutes; Sam's still waiting.
    # The missed one a person corrected raised no alert.
    assert (d.ack.alerts, d.ack.acknowledged) == (3, 2)
    assert (d.ack.median, d.ack.worst, d.ack.worst_item) == (25 * MIN, 40 * MIN, i.e2)
    assert d.ack.waiting == ((i.e3, NOW - (T0 + 4 * HOUR)),)
    # Corrections made in the period (the one on 11 Nov is not): a missed emergent and a missed amendment.
    assert d.corrections == {"emergent": 1, "hipaa_rights": 1} and d.corrections_total == 2
    assert d.correction_changes == {"amendment: missed": 1, "emergent: missed": 1}


def test_each_program_has_its_own_digest_in_its_own_time_zone(env: Env) -> None:
    i = seed(env)
    week = env.build("child", date(2026, 11, 16), date(2026, 11, 23), datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    assert week.period.kind == "week" and week.period.zone == "America/New_York"
    assert (week.messages, week.by_flag, week.by_clinician) == (1, {"emergent": 1},
                                                                {ROBIN: {"emergent": 1, "items": 1}})
    assert len(week.daily) == 7 and week.daily[0] == (date(2026, 11, 16), {"emergent": 1})
    assert (week.ack.median, week.ack.worst, week.ack.worst_item, week.ack.waiting) == (5 * MIN, 5 * MIN, i.child, ())
    assert [o.item for o in week.open_items] == [i.child] and week.rights_due == () and week.corrections == {}
    # A quiet day is a digest of zeros, not an error.
    quiet = env.build("adult-op", date(2026, 11, 1), date(2026, 11, 2))
    assert (quiet.messages, quiet.by_flag, quiet.ack.alerts) == (0, {}, 0)
    assert "no emergent alerts in the period" in digest.render_text(quiet)
    with pytest.raises(digest.DigestError, match="no program 'nope'"):
        env.build("nope")


# --------------------------------------------------------------------------- the mail


def test_the_mail_is_html_with_a_text_part_and_an_inline_chart_and_no_client_data(env: Env) -> None:
    i = seed(env)
    d = env.build()
    message = digest.render_digest(d, recipient=CASEY, sender="triage@dmh.example.org")
    assert message["Subject"] == "[triage] Adult Outpatient digest: Mon 16 Nov 2026"
    assert message["To"] == CASEY and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    p = parts(message)
    [text], [html], [png] = p["text/plain"], p["text/html"], p["image/png"]
    assert "multipart/related" in p
    cid = png["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    assert png.get_content().startswith(b"\x89PNG") and png.get_content_disposition() == "inline"
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(png.get_content())) as img:
        assert img.size == (560, 200)
    body = text.get_content()
    assert "In the period: 7 messages assessed, 7 flagged items." in body
    assert "OVERDUE by 4 days" in body and f"https://triage.dmh.example.org/items/{i.overdue_access}" in body
    assert "median 25 min, worst 40 min" in body and f"NOT ACKNOWLEDGED: item {i.e3}, waiting 18 h 30 min" in body
    assert "Items still open: 9" in body and "emergent: missed: 1" in body
    page = html.get_content()
    assert f'<a href="https://triage.dmh.example.org/items/{i.e3}">' in page and ALEX in page
    assert "Children" not in page  # the other program's digest is its own
    assert_no_client_data(message)


# --------------------------------------------------------------------------- sending


def test_due_digests_go_to_the_supervisors_once_per_period_even_after_a_restart(
        tmp_path: Path, mail_env: Env, smtp_sink: SmtpSink) -> None:
    env = mail_env
    i = seed(env)
    at(NOW)
    sent = digest.send_due_digests(env.store, env.crypto, env.config, env.mailer(), NOW)
    # Adult-op's 07:30 in Los Angeles is now; the child program's is Mondays at 08:00 in New York.
    assert sorted((d.program, d.recipient, d.status) for d in sent) == [
        ("adult-op", CASEY, "sent"), ("adult-op", QUALITY, "sent")]
    assert sorted(r for rcpts, _ in smtp_sink.received for r in rcpts) == [CASEY, QUALITY]
    for rcpts, message in smtp_sink.received:
        assert message["To"] == rcpts[0] and message["From"] == "triage@dmh.example.org"
        assert "Adult Outpatient digest: Mon 16 Nov 2026" in message["Subject"]
        p = parts(message)  # type: ignore[arg-type]
        assert {"text/plain", "text/html", "image/png"} <= set(p)
        assert f"/items/{i.e3}" in p["text/plain"][0].get_content()
        assert "Items by flag" in p["text/plain"][0].get_content()
        assert_no_client_data(message)  # type: ignore[arg-type]
    assert [(e["program"], e["recipient"], e["start"], e["end"]) for e in env.sent_events()] == [
        ("adult-op", CASEY, "2026-11-16", "2026-11-17"), ("adult-op", QUALITY, "2026-11-16", "2026-11-17")]
    # The job runs again (a second worker, the catch-up job): nothing more.
    at(NOW + 20 * MIN)
    again = digest.send_due_digests(env.store, env.crypto, env.config, env.mailer(), NOW + 20 * MIN)
    assert {d.status for d in again} == {"already"} and len(smtp_sink.received) == 2
    # A restart: a new store connection, the same record.
    env.store.dispose()
    env.store = Store(env.config.store.url)
    assert digest.send_due_digests(env.store, env.crypto, env.config, env.mailer(), NOW + HOUR)[0].status == "already"
    assert len(smtp_sink.received) == 2
    # Past the catch-up window nothing is due until the next scheduled time.
    assert digest.send_due_digests(env.store, env.crypto, env.config, env.mailer(), NOW + 13 * HOUR) == []
    # Monday 08:00 in New York: the child program's week; adult-op's Friday digest is long past.
    monday = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    at(monday)
    week = digest.send_due_digests(env.store, env.crypto, env.config, env.mailer(), monday)
    assert sorted((d.program, d.recipient, d.status) for d in week) == [("child", DREW, "sent"),
                                                                       ("child", QUALITY, "sent")]
    assert week[0].period == digest.Period("week", date(2026, 11, 16), date(2026, 11, 23), "America/New_York")
    child_mail = [m for _, m in smtp_sink.received[2:]]
    assert all("Children's Clinic digest: Mon 16 Nov 2026 to Sun 22 Nov 2026" in m["Subject"] for m in child_mail)
    for m in child_mail:
        assert_no_client_data(m)  # type: ignore[arg-type]


def test_a_digest_not_delivered_is_sent_when_the_server_is_back(mail_env: Env, smtp_sink: SmtpSink) -> None:
    env = mail_env
    seed(env)
    at(NOW)
    smtp_sink.stop()
    failed = digest.send_due_digests(env.store, env.crypto, env.config, env.mailer(), NOW)
    assert {d.status for d in failed} == {"failed"} and all("SMTP 127.0.0.1" in d.error for d in failed)
    assert env.sent_events() == []
    smtp_sink.start()
    later = NOW + 15 * MIN  # the catch-up job's next run
    at(later)
    assert {d.status for d in digest.send_due_digests(env.store, env.crypto, env.config, env.mailer(),
                                                      later)} == {"sent"}
    assert len(smtp_sink.received) == 2 and len(env.sent_events()) == 2


def test_disabled_digests_send_nothing(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    env = make_env(tmp_path, smtp_sink)
    try:
        text = Path(env.config.path).read_text().replace("[digests]\n", "[digests]\nenabled = false\n")  # type: ignore[arg-type]
        off = Path(env.config.path).with_name("off.toml")  # type: ignore[arg-type]
        off.write_text(text)
        config = load_config(off)
        assert not config.digests.enabled
        assert digest.send_due_digests(env.store, env.crypto, config, Mailer(config.smtp), NOW) == []
        assert digest.schedule_jobs(BackgroundScheduler(timezone="UTC"), env.store, env.crypto, config,
                                    Mailer(config.smtp)) == []
    finally:
        env.store.dispose()


# --------------------------------------------------------------------------- the schedule


def test_schedules_parse_as_crontab_means_them() -> None:
    s = parse_schedule("mon-fri 07:30")
    assert (s.minute, s.hour, s.day_of_week) == ("30", "7", "mon,tue,wed,thu,fri")
    assert parse_schedule("07:30").day_of_week == "*"
    assert parse_schedule("fri-mon 6:05").fields() == {"minute": "5", "hour": "6", "day": "*", "month": "*",
                                                       "day_of_week": "mon,fri,sat,sun"}
    # crontab's weekday numbers: 0 and 7 are Sunday (APScheduler 3 would read 0 as Monday).
    assert parse_schedule("30 7 * * 1-5").day_of_week == "mon,tue,wed,thu,fri"
    assert parse_schedule("0 8 * * 0").day_of_week == "sun" == parse_schedule("0 8 * * 7").day_of_week
    assert parse_schedule("0 8 * * sun-sat").day_of_week == "*"
    assert parse_schedule("0 7,15 1 * *").fields()["hour"] == "7,15"
    for bad, why in (("mon-fri 25:00", "not a time HH:MM"), ("funday 07:30", "not days"),
                     ("* * *", "five cron fields"), ("61 7 * * *", "not a valid cron line"),
                     ("0 8 * * 8", "weekday '8'"), ("0 8 * * 5-1", "runs backwards"), ("", "expected DAYS HH:MM")):
        with pytest.raises(ValueError, match=why):
            parse_schedule(bad)


def test_schedule_times_are_the_program_time_zone_s(env: Env) -> None:
    adult, child = env.config.program("adult-op"), env.config.program("child")
    # 07:30 in Los Angeles is 15:30 UTC in November (PST) and 14:30 UTC in July (PDT).
    assert digest.fire_times(*_sched(env, adult), datetime(2026, 11, 16, 0, tzinfo=UTC),
                             datetime(2026, 11, 17, 0, tzinfo=UTC)) == [datetime(2026, 11, 16, 15, 30, tzinfo=UTC)]
    july = digest.fire_times(*_sched(env, adult), datetime(2026, 7, 6, 0, tzinfo=UTC), datetime(2026, 7, 7, tzinfo=UTC))
    assert july == [datetime(2026, 7, 6, 14, 30, tzinfo=UTC)]
    # The child program's own schedule: Mondays 08:00 in New York.
    assert digest.schedule_for(env.config, child)[1] == "week"
    assert digest.fire_times(*_sched(env, child), datetime(2026, 11, 17, tzinfo=UTC),
                             datetime(2026, 11, 30, tzinfo=UTC)) == [datetime(2026, 11, 23, 13, 0, tzinfo=UTC)]
    # "day" covers the days since the previous digest: Tuesday's is Monday, Monday's is Friday to Sunday.
    la = "America/Los_Angeles"
    assert digest.due_period(env.config, adult, NOW) == digest.Period("day", date(2026, 11, 16), date(2026, 11, 17), la)
    monday = datetime(2026, 11, 23, 15, 45, tzinfo=UTC)
    assert digest.due_period(env.config, adult, monday) == digest.Period("day", date(2026, 11, 20),
                                                                         date(2026, 11, 23), la)
    assert digest.due_period(env.config, adult, NOW - MIN) is None  # Tuesday's is not yet due, Monday's too old
    assert digest.due_period(env.config, adult, datetime(2026, 11, 21, 18, 0, tzinfo=UTC)) is None  # Saturday


def _sched(env: Env, program: object) -> tuple[object, str]:
    return digest.schedule_for(env.config, program)[0], program.time_zone  # type: ignore[attr-defined]


def test_the_config_names_a_bad_schedule_by_key_and_line(tmp_path: Path) -> None:
    base = write_config(tmp_path, "").read_text()
    cases = (
        ('[digests]\nschedule = "weekdays 7am"\n',
         r"line \d+: `digests.schedule` is 'weekdays 7am': 'weekdays' is not"),
        ('[digests]\nperiod = "month"\n', r"`digests.period` is 'month'; expected one of day, week"),
        ('[digests]\nextra_recipients = ["not an address"]\n', r"`digests.extra_recipients` holds 'not an address'"),
        ('[digests]\nsend_at = "07:30"\n', r"`digests.send_at` is not a known setting"),
    )
    for extra, error in cases:
        path = tmp_path / "bad.toml"
        path.write_text(base + textwrap.dedent(extra))
        with pytest.raises(ConfigError, match=error):
            load_config(path)
    program = base.replace('supervisors = ["casey.nguyen@dmh.example.org"]',
                           'supervisors = ["casey.nguyen@dmh.example.org"]\ndigest_schedule = "30 7 * * 9"')
    path = tmp_path / "bad.toml"
    path.write_text(program)
    line = program.splitlines().index('digest_schedule = "30 7 * * 9"') + 1
    with pytest.raises(ConfigError, match=rf"line {line}: `programs\[0\].digest_schedule` is '30 7 \* \* 9'"):
        load_config(path)
    path.write_text(program.replace('"30 7 * * 9"', '"30 7 * * 1-5"\ndigest_period = "fortnight"'))
    with pytest.raises(ConfigError, match=r"`programs\[0\].digest_period` is 'fortnight'; expected day or week"):
        load_config(path)
    ok = load_config(write_config(tmp_path, ""))
    assert (ok.digests.enabled, ok.digests.schedule.text, ok.digests.period) == (True, "mon-fri 07:30", "day")


def test_the_worker_jobs_fire_at_each_program_s_time_and_send(mail_env: Env, smtp_sink: SmtpSink) -> None:
    env = mail_env
    seed(env)
    at(NOW)
    scheduler = BackgroundScheduler(timezone="UTC")
    ids = digest.schedule_jobs(scheduler, env.store, env.crypto, env.config, env.mailer())
    assert ids == ["digest-adult-op", "digest-child", "digests-catch-up"]
    after = datetime(2026, 11, 17, 16, 0, tzinfo=UTC)
    assert scheduler.get_job("digest-adult-op").trigger.get_next_fire_time(None, after) == datetime(
        2026, 11, 18, 15, 30, tzinfo=UTC)
    assert scheduler.get_job("digest-child").trigger.get_next_fire_time(None, after) == datetime(
        2026, 11, 23, 13, 0, tzinfo=UTC)
    job = scheduler.get_job("digest-adult-op")
    job.func(*job.args)  # what the scheduler does at 07:30 in Los Angeles
    assert sorted(r for rcpts, _ in smtp_sink.received for r in rcpts) == [CASEY, QUALITY]
    catch_up = scheduler.get_job("digests-catch-up")
    catch_up.func(*catch_up.args)  # at start and every 15 minutes: nothing left to send
    assert len(smtp_sink.received) == 2


# --------------------------------------------------------------------------- the command


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    parser = argparse.ArgumentParser(prog="triage")
    parser.add_argument("-c", "--config")
    register(parser.add_subparsers())

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(list(argv))
        code = args.func(args)
        return code, capsys.readouterr().out

    return run


def test_the_digest_command_prints_previews_and_sends(mail_env: Env, smtp_sink: SmtpSink, tmp_path: Path,
                                                      cli: Callable[..., tuple[int, str]]) -> None:
    env = mail_env
    i = seed(env)
    at(NOW)
    config = str(env.config.path)
    code, out = cli("-c", config, "digest", "--program", "adult-op", "--print")
    assert code == 0 and out.startswith("Triage digest: Adult Outpatient (adult-op)")
    assert "Period: Mon 16 Nov 2026" in out and "OVERDUE by 4 days" in out and f"/items/{i.overdue_access}" in out
    for secret in SECRETS:
        assert secret not in out
    code, week = cli("-c", config, "digest", "--period", "week", "--end", "2026-11-23")
    assert "Period: Mon 16 Nov 2026 to Sun 22 Nov 2026" in week and "Children's Clinic (child)" in week
    preview = tmp_path / "digest.html"
    code, out = cli("-c", config, "digest", "--preview", str(preview))
    page = preview.read_text()
    assert code == 0 and "nothing sent or recorded" in out
    assert page.count("<h1") == 2 and page.count('src="data:image/png;base64,') == 2
    assert os.stat(preview).st_mode & 0o777 == 0o600
    assert not any(secret in page for secret in SECRETS)
    assert env.sent_events() == [] and smtp_sink.received == []
    code, out = cli("-c", config, "digest", "--program", "adult-op", "--send")
    assert code == 0 and f"{CASEY}: sent" in out and f"{QUALITY}: sent" in out and len(smtp_sink.received) == 2
    code, out = cli("-c", config, "digest", "--program", "adult-op", "--send")
    assert f"{CASEY}: already sent, skipped" in out and len(smtp_sink.received) == 2
    # The worker's digest for the same period is the same record: it sends nothing.
    assert {d.status for d in digest.send_due_digests(env.store, env.crypto, env.config, env.mailer(), NOW)} == {
        "already"}
    with pytest.raises(TriageError, match="no program 'nope'"):
        cli("-c", config, "digest", "--program", "nope")
