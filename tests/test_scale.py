"""Several workers on one PostgreSQL store (issue 7): three `triage run` processes, 60 Dovecot mailboxes,
mail arriving while they run, one worker killed with SIGKILL half-way. Every message is assessed
exactly once and every action done exactly once (alerts counted at a real SMTP server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_mail, write_config
from dovecot_fixture import Dovecot
from smtp_fixture import SmtpSink
from sqlalchemy import func, select
from test_postgres import pg_url  # noqa: F401 - the fixture

from triage.store import Store
from triage.store.models import AssessmentRow, MessageRecord, OutboxRow

pytestmark = [pytest.mark.imap, pytest.mark.postgres, pytest.mark.slow]

MAILBOXES = 60
FIRST, LATER = 4, 2  # messages per mailbox before the workers start, and while they run
EMERGENT = "i have the pills saved and tonight is the night, i am going to take all of them"


def config(tmp_path: Path, dovecot: Dovecot, users: list[str], url: str, smtp: SmtpSink) -> Path:
    text = f"""
        [servers.dc]
        host = "127.0.0.1"
        port = {dovecot.port}
        security = "plain"

        [smtp]
        host = "127.0.0.1"
        port = {smtp.port}
        security = "plain"
    """ + "".join(f"""
        [[mailboxes]]
        name = "{u}"
        clinician = "alex.morgan@dmh.example.org"
        kind = "imap"
        server = "dc"
        user = "{u}"
        password_file = "{tmp_path / 'pw'}"
        poll_interval_seconds = 5
    """ for u in users)
    (tmp_path / "pw").write_text(dovecot.users[users[0]])
    cfg = write_config(tmp_path, text)
    cfg.write_text(cfg.read_text().replace(f'url = "sqlite:///{tmp_path / "triage.db"}"', f'url = "{url}"'))
    return cfg


def deliver(dovecot: Dovecot, users: list[str], start: int, count: int) -> None:
    for u in users:
        for i in range(start, start + count):
            body = EMERGENT if i % 5 == 0 else "can we move my appointment to thursday afternoon?"
            dovecot.deliver(u, make_mail(i, body=body).replace(b"<msg-", f"<{u}-".encode()))


def counts(store: Store) -> tuple[int, int, int]:
    with store.begin() as s:
        return (s.scalar(select(func.count()).select_from(MessageRecord)) or 0,
                s.scalar(select(func.count()).select_from(AssessmentRow)) or 0,
                s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.state == "pending")) or 0)


def test_three_workers_sixty_mailboxes_one_killed(dovecot: Dovecot, tmp_path: Path, pg_url: str,  # noqa: F811
                                                  smtp_sink: SmtpSink) -> None:
    users = [f"scale{i}-{os.getpid()}" for i in range(MAILBOXES)]
    for u in users:
        dovecot.add_user(u, "scale-secret")
    deliver(dovecot, users, 0, FIRST)
    cfg = config(tmp_path, dovecot, users, pg_url, smtp_sink)
    store = Store(pg_url)
    store.ensure_schema()
    env = {**os.environ, "TRIAGE_KEY": "", "TRIAGE_CONFIG": str(cfg)}
    (tmp_path / "data").mkdir(exist_ok=True)
    # One key for all three (they share the store): made before any of them starts.
    from triage.crypto import load_crypto

    load_crypto("NO_SUCH_ENV", tmp_path / "data" / "triage.key")
    logs = [(tmp_path / f"w{n}.log").open("wb") for n in range(3)]
    procs = [subprocess.Popen([sys.executable, "-m", "triage.cli", "run"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=log) for log in logs]
    total = MAILBOXES * (FIRST + LATER)
    try:
        deadline = time.monotonic() + 120
        while counts(store)[0] < MAILBOXES * FIRST // 2:
            assert time.monotonic() < deadline, "the workers did not get going"
            time.sleep(0.2)
        procs[0].send_signal(signal.SIGKILL)  # half-way through the first read
        procs[0].wait(timeout=10)
        deliver(dovecot, users, 100, LATER)  # mail arriving while they run
        deadline = time.monotonic() + 240
        while True:
            recorded, assessed, pending = counts(store)
            if recorded == total and assessed == total and pending == 0:
                break
            assert time.monotonic() < deadline, f"not done: {recorded}/{total} recorded, {pending} actions pending"
            time.sleep(0.5)
        time.sleep(2)  # anything still in flight would show up as a second copy now
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in logs:
            log.close()
    with store.begin() as s:
        assert s.scalar(select(func.count(func.distinct(MessageRecord.message_id)))) == total
        assert s.scalar(select(func.count()).select_from(MessageRecord).where(MessageRecord.status != "recorded")) == 0
        assert s.scalar(select(func.count(func.distinct(AssessmentRow.message_record_id)))) == total
        states = dict(s.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all())
        alerts = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "alert",
                                                                           OutboxRow.state == "done"))
    store.dispose()
    assert set(states) <= {"done", "skipped"}, states
    emergent = MAILBOXES * (1 + 1)  # message 0 and message 100 of each mailbox
    assert alerts == emergent
    # Each alert reached the SMTP server. SMTP is at-least-once: the one worker killed may have been
    # between the server's 250 and its commit for the one alert it was sending, and then that alert
    # went out again, under the same Message-ID. Nothing else is ever sent twice.
    ids = [m["Message-ID"] for _, m in smtp_sink.received]
    assert len(set(ids)) == emergent and len(ids) - len(set(ids)) <= 1
