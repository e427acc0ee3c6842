"""The worker against a real Dovecot: every new message recorded exactly once, flags
untouched, through dropped connections, a wrong password, UIDVALIDITY changes, odd mail
and a worker killed with SIGKILL. (The IMAP source itself: test_imap_source.py.)"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import make_mail, write_config
from dovecot_fixture import Dovecot, DroppingProxy
from sqlalchemy import func, select

from triage.config import load_config
from triage.crypto import load_crypto
from triage.store import Store
from triage.store.models import FolderState, MessageRecord
from triage.worker import Worker

pytestmark = pytest.mark.imap


def no_recent(flags: dict[int, tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
    return {uid: tuple(f for f in fl if f != "\\Recent") for uid, fl in flags.items()}


# --------------------------------------------------------------------------- the worker on IMAP


def imap_config(tmp_path: Path, dovecot: Dovecot, users: list[str], *, port: int | None = None,
                batch: int = 10) -> Path:
    text = f"""
        [servers.dc]
        host = "127.0.0.1"
        port = {port or dovecot.port}
        security = "plain"
        connect_timeout = 5
        read_timeout = 10
    """ + "".join(f"""
        [[mailboxes]]
        name = "{u}"
        clinician = "alex.morgan@dmh.example.org"
        kind = "imap"
        server = "dc"
        user = "{u}"
        password_file = "{tmp_path / (u + '.pw')}"
        folders = ["INBOX", "Junk"]
    """ for u in users)
    for u in users:
        (tmp_path / f"{u}.pw").write_text(dovecot.users.get(u, "wrong"))
    cfg = write_config(tmp_path, text)
    cfg.write_text(cfg.read_text().replace("batch_size = 10", f"batch_size = {batch}"))
    return cfg


def worker_for(cfg: Path) -> Worker:
    config = load_config(cfg)
    store = Store(config.store.url)
    store.ensure_schema()
    return Worker(config, store, load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file))


def poll_once(cfg: Path) -> list:  # type: ignore[type-arg]
    """One pass with a fresh worker (a restart), closing its connections after."""
    w = worker_for(cfg)
    try:
        return w.poll_all()
    finally:
        w.close()


def recorded(w: Worker, status: str = "recorded") -> int:
    with w.store.begin() as s:
        return s.scalar(select(func.count()).select_from(MessageRecord).where(MessageRecord.status == status))


def test_new_mail_recorded_once_and_flags_unchanged(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    for i in range(25):
        dovecot.deliver(imap_user, make_mail(i), flags="S" if i % 3 == 0 else "")
    dovecot.deliver(imap_user, make_mail(100), folder="Junk")
    before = no_recent(dovecot.flags(imap_user))
    w = worker_for(imap_config(tmp_path, dovecot, [imap_user]))
    [r] = w.poll_all()
    assert (r.total("recorded"), r.error) == (26, "")
    [r2] = w.poll_all()
    assert r2.total("new") == 0 and recorded(w) == 26
    for i in range(25, 28):
        dovecot.deliver(imap_user, make_mail(i))
    [r3] = w.poll_all()
    assert r3.total("recorded") == 3 and recorded(w) == 29
    w.close()
    after = no_recent(dovecot.flags(imap_user))
    assert {k: v for k, v in after.items() if k in before} == before
    with w.store.begin() as s:
        assert s.scalars(select(FolderState.last_uid).where(FolderState.folder == "INBOX")).one() == 28


def test_wrong_password_on_one_of_three(dovecot: Dovecot, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    users = [f"trio{i}-{time.monotonic_ns()}" for i in range(3)]
    for u in users:
        dovecot.add_user(u)
        for i in range(4):
            dovecot.deliver(u, make_mail(i))
    cfg = imap_config(tmp_path, dovecot, users)
    (tmp_path / f"{users[1]}.pw").write_text("not-the-password")
    w = worker_for(cfg)
    caplog.set_level(logging.WARNING, logger="triage.worker")
    results = {r.mailbox: r for r in w.poll_all()}
    assert results[users[0]].total("recorded") == 4 and results[users[2]].total("recorded") == 4
    assert "login refused" in results[users[1]].error
    assert any("poll failed" in r.getMessage() for r in caplog.records)
    (tmp_path / f"{users[1]}.pw").write_text(dovecot.users[users[1]])
    w.close()
    results = {r.mailbox: r for r in poll_once(cfg)}
    assert results[users[1]].total("recorded") == 4 and recorded(w) == 12


# imapclient leaves the socket of a connection cut during its greeting for the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dropped_connections_during_polls_lose_nothing(dovecot: Dovecot, imap_user: str, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    for i in range(40):
        dovecot.deliver(imap_user, make_mail(i, body="y" * 3000))
    proxy = DroppingProxy(dovecot.port, limit=60_000)
    try:
        w = worker_for(imap_config(tmp_path, dovecot, [imap_user], port=proxy.port, batch=5))
        w.ingestor.settings = type(w.ingestor.settings)(**{**vars(w.ingestor.settings), "reconnect_delay": 0.01})
        caplog.set_level(logging.WARNING)
        for _ in range(30):
            w.poll_all()
            if recorded(w) == 40:
                break
        assert proxy.drops >= 2 and recorded(w) == 40
        assert any("connection lost; reconnecting" in r.getMessage() for r in caplog.records)
    finally:
        proxy.close()
        w.close()
        gc.collect()  # let the cut sockets go while the warning filter above applies
    with w.store.begin() as s:
        assert s.scalar(select(func.count(func.distinct(MessageRecord.message_id)))) == 40


def test_uidvalidity_change_rereads_without_recording_again(dovecot: Dovecot, imap_user: str,
                                                            tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for i in range(6):
        dovecot.deliver(imap_user, make_mail(i))
    cfg = imap_config(tmp_path, dovecot, [imap_user])
    w = worker_for(cfg)
    w.poll_all()
    w.close()
    caplog.set_level(logging.WARNING)
    dovecot.reset_uidvalidity(imap_user)
    dovecot.deliver(imap_user, make_mail(6))
    [r] = poll_once(cfg)
    assert (r.total("recorded"), r.total("duplicates")) == (1, 6)
    assert recorded(w) == 7 and recorded(w, "duplicate") == 6
    assert any("UIDVALIDITY changed" in rec.getMessage() for rec in caplog.records)
    # A folder whose UIDVALIDITY keeps changing is stopped, not re-read in a loop.
    for _ in range(3):
        dovecot.reset_uidvalidity(imap_user)
        [r] = poll_once(cfg)
    assert any(f.stopped for f in r.folders) and "UIDVALIDITY changed 4 times" in r.folders[0].error
    assert recorded(w) == 7
    [again] = poll_once(cfg)  # a stopped folder stays stopped, and says why, until resumed
    assert again.folders[0].stopped and "triage folder resume" in again.folders[0].error
    resumed = subprocess.run([sys.executable, "-m", "triage.cli", "--config", str(cfg), "folder", "resume",
                              imap_user, "INBOX"], capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    [after] = poll_once(cfg)
    assert not after.folders[0].stopped and after.total("recorded") == 0 and recorded(w) == 7


def odd_mail() -> list[bytes]:
    out = [
        b"From: a@example.com\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nno end boundary\r\n",
        b"From: a@example.com\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\ncaf\xe9\r\n",
        "From: Jos\xe9 <jose@example.com>\r\nSubject: ma\xf1ana\r\n\r\nhola\r\n".encode("latin-1"),
        b"From: a@example.com\r\nSubject: empty\r\n\r\n",
    ]
    big = EmailMessage()
    big["From"] = "a@example.com"
    big["Message-ID"] = "<big@example.com>"
    big.set_content("scan attached")
    big.add_attachment(os.urandom(25 * 1024 * 1024), maintype="application", subtype="octet-stream",
                       filename="scan.bin")
    out.append(bytes(big))
    inner = EmailMessage()
    inner["From"] = "b@example.com"
    inner.set_content("old")
    outer = EmailMessage()
    outer["From"] = "a@example.com"
    outer.set_content("fwd")
    outer.add_attachment(inner)
    out.append(bytes(outer))
    return out


def test_malformed_and_odd_mail_is_recorded_with_defects(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    mails = odd_mail()
    for raw in mails:
        dovecot.deliver(imap_user, raw)
    dovecot.deliver(imap_user, make_mail(1))
    w = worker_for(imap_config(tmp_path, dovecot, [imap_user], batch=3))
    [r] = w.poll_all()
    w.close()
    assert r.total("recorded") == len(mails) + 1 and r.total("quarantined") == 0 and not r.error
    with w.store.begin() as s:
        defects = [d for d in s.scalars(select(MessageRecord.defects)) if d]
        big = s.scalars(select(MessageRecord).where(MessageRecord.message_id == "<big@example.com>")).one()
    assert len(defects) >= 3 and big.size > 25 * 1024 * 1024 and big.attachment_count == 1


def test_worker_killed_mid_batch_then_restarted_records_each_once(dovecot: Dovecot, imap_user: str,
                                                                  tmp_path: Path) -> None:
    total = 400
    for i in range(total):
        dovecot.deliver(imap_user, make_mail(i, body="z" * 1500))
    cfg = imap_config(tmp_path, dovecot, [imap_user], batch=10)
    db = tmp_path / "triage.db"
    env = {**os.environ, "TRIAGE_KEY": ""}
    proc = subprocess.Popen([sys.executable, "-m", "triage.cli", "--config", str(cfg), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 60
        count = 0
        while time.monotonic() < deadline:
            try:
                count = sqlite3.connect(db).execute("SELECT count(*) FROM messages").fetchone()[0]
            except sqlite3.Error:
                count = 0
            if count >= 30:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 0 < count < total, "the kill should land in the middle of the first read"
    done = subprocess.run([sys.executable, "-m", "triage.cli", "--config", str(cfg), "poll", "--once"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*), count(DISTINCT key), count(DISTINCT message_id) FROM messages "
                       "WHERE status = 'recorded'").fetchone() == (total, total, total)
    assert con.execute("SELECT count(*) FROM messages WHERE status != 'recorded'").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM attempts").fetchone() == (0,)


def test_check_reports_login_folders_and_keywords(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    from triage.checks import run_checks

    cfg = imap_config(tmp_path, dovecot, [imap_user, "nobody-" + imap_user])
    (tmp_path / f"nobody-{imap_user}.pw").write_text("")  # an empty password: refused
    lines = list(run_checks(str(cfg)))
    text = "\n".join(("PASS " if ok else "FAIL ") + line for ok, line in lines)
    assert f"PASS mailbox {imap_user}: logged in (imap)" in text
    assert f"PASS mailbox {imap_user}: folder 'Junk' opens" in text
    assert f"PASS mailbox {imap_user}: folder 'INBOX' keeps custom keywords" in text
    assert f"FAIL mailbox nobody-{imap_user}: cannot log in:" in text
