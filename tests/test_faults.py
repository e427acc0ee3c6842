"""Faults a year of running brings (issue 7): the IMAP server restarted mid-batch, a 50 MB message,
10,000 messages at once, the clock jumping, the disk full under SQLite. The worker keeps going or says
precisely what is wrong, and when the fault passes nothing is lost and nothing is done twice."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import make_mail, require
from dovecot_fixture import Dovecot
from sqlalchemy import func, select
from stand_ins import Keywords
from test_actions import PHRASES
from test_imap import imap_config, recorded

from triage.clock import set_clock
from triage.config import load_config
from triage.crypto import load_crypto
from triage.pipeline import process
from triage.store import Store
from triage.store.models import AssessmentRow, MessageRecord
from triage.values import RawMessage
from triage.worker import Worker

pytestmark = pytest.mark.imap


def worker(cfg: Path, **kw: object) -> Worker:
    config = load_config(cfg)
    store = Store(config.store.url)
    store.ensure_schema()
    w = Worker(config, store, load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file), detector=Keywords(PHRASES))
    w.ingestor.settings = type(w.ingestor.settings)(**{**vars(w.ingestor.settings), "reconnect_delay": 0.01, **kw})
    return w


def once_each(w: Worker, n: int) -> None:
    """n messages recorded, each once, each with one assessment."""
    with w.store.begin() as s:
        assert s.scalar(select(func.count()).select_from(MessageRecord)) == n
        assert s.scalar(select(func.count(func.distinct(MessageRecord.message_id)))) == n
        assert s.scalar(select(func.count()).select_from(AssessmentRow)) == n


def test_the_imap_server_restarted_in_the_middle_of_a_batch(dovecot: Dovecot, imap_user: str,
                                                            tmp_path: Path) -> None:
    for i in range(30):
        dovecot.deliver(imap_user, make_mail(i))
    w = worker(imap_config(tmp_path, dovecot, [imap_user], batch=5))
    calls = {"n": 0}

    def restarting(raw: RawMessage):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 12:  # in the third batch, between the fetch and the commit
            dovecot.restart()
        return process(raw)

    w.ingestor.processor = restarting
    try:
        for _ in range(5):
            w.poll_all()
            if recorded(w) == 30:
                break
    finally:
        w.close()
    assert calls["n"] >= 30
    once_each(w, 30)


def test_a_message_of_50_mb(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    big = EmailMessage()
    big["From"] = "client@example.com"
    big["To"] = "alex.morgan@dmh.example.org"
    big["Subject"] = "scans"
    big["Message-ID"] = "<big@example.com>"
    big.set_content("here are the scans you asked for")
    big.add_attachment(os.urandom(37 * 1024 * 1024), maintype="application", subtype="octet-stream",
                       filename="scans.bin")  # about 50 MB once base64-encoded
    raw = bytes(big)
    assert len(raw) > 50_000_000
    dovecot.deliver(imap_user, raw)
    dovecot.deliver(imap_user, make_mail(1))
    w = worker(imap_config(tmp_path, dovecot, [imap_user]))
    try:
        results = w.poll_all()
    finally:
        w.close()
    assert not results[0].error
    once_each(w, 2)
    with w.store.begin() as s:
        row = s.scalar(select(MessageRecord).where(MessageRecord.message_id == "<big@example.com>"))
        assert row is not None and row.size >= len(raw) and row.attachment_count == 1  # CRLF on the server


@pytest.mark.slow
def test_ten_thousand_messages_arriving_at_once(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    for i in range(10_000):
        dovecot.deliver(imap_user, make_mail(i))
    w = worker(imap_config(tmp_path, dovecot, [imap_user], batch=200))
    try:
        results = w.poll_all()
        again = w.poll_all()
    finally:
        w.close()
    assert results[0].total("recorded") == 10_000 and not results[0].error
    assert again[0].total("new") == 0
    once_each(w, 10_000)


def test_the_clock_jumping_back_and_forth(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    w = worker(imap_config(tmp_path, dovecot, [imap_user]))
    try:
        for step, jump in enumerate([timedelta(0), timedelta(hours=-3), timedelta(days=2), timedelta(minutes=-90)]):
            set_clock(lambda jump=jump: datetime.now(UTC) + jump)
            for i in range(5):
                dovecot.deliver(imap_user, make_mail(step * 10 + i))
            result = w.poll_all()[0]
            assert not result.error and result.total("recorded") == 5
    finally:
        set_clock(None)
        w.close()
    once_each(w, 20)


def test_the_disk_full_under_sqlite_then_freed(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    """A 4 MB tmpfs holds the store; a filler file takes the rest. The poll fails with the database's
    own words; once space is freed the next poll records everything, each once."""
    mount = tmp_path / "small"
    mount.mkdir()
    ok = os.geteuid() == 0 and shutil.which("mount") is not None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", f"tmpfs-{uuid.uuid4().hex[:6]}", str(mount)],
        capture_output=True).returncode == 0
    require("a small tmpfs (mount -t tmpfs needs root)", ok)
    try:
        cfg = imap_config(tmp_path, dovecot, [imap_user], batch=20)
        cfg.write_text(cfg.read_text().replace(f"sqlite:///{tmp_path / 'triage.db'}", f"sqlite:///{mount / 't.db'}"))
        w = worker(cfg)
        filler = mount / "filler"
        free = shutil.disk_usage(mount).free
        filler.write_bytes(b"\0" * (free - 16 * 1024))
        for i in range(300):
            dovecot.deliver(imap_user, make_mail(i, body="x" * 2000))
        try:
            first = w.poll_all()[0]
            assert first.store_error and "database or disk is full" in first.error
            assert first.total("recorded") < 300
            filler.unlink()
            for _ in range(5):
                if w.poll_all()[0].total("new") == 0:
                    break
        finally:
            w.close()
        once_each(w, 300)
        w.store.dispose()
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
