"""Against a real Dovecot: every new message recorded exactly once, flags untouched,
through dropped connections, a wrong password, UIDVALIDITY changes, odd mail and a
worker killed with SIGKILL."""

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
from dovecot_fixture import MASTER_PASSWORD, MASTER_USER, Dovecot, DroppingProxy
from sqlalchemy import func, select

from triage.config import MailboxConfig, ServerConfig, load_config
from triage.crypto import load_crypto
from triage.errors import AuthError, FolderError, SourceError
from triage.sources.imap import ImapSource, TokenCache
from triage.store import Store
from triage.store.models import FolderState, MessageRecord
from triage.worker import Worker

pytestmark = pytest.mark.imap


def server(port: int, **kw: object) -> ServerConfig:
    base = {"name": "t", "host": "127.0.0.1", "port": port, "security": "plain", "verify_tls": True, "ca_file": "",
            "auth": "password", "username": "", "password_env": "", "password_file": "",
            "oauth2_token_command": "", "connect_timeout": 5.0, "read_timeout": 10.0}
    return ServerConfig(**{**base, **kw})  # type: ignore[arg-type]


def mailbox(user: str, password_file: str = "", **kw: object) -> MailboxConfig:
    base = {"name": user, "clinician": "alex.morgan@dmh.example.org", "kind": "imap", "path": "", "server": "t",
            "user": user, "password_env": "", "password_file": password_file, "folders": ("INBOX",),
            "poll_interval_seconds": 5, "enabled": True}
    return MailboxConfig(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture
def pwfile(tmp_path: Path, dovecot: Dovecot, imap_user: str) -> str:
    p = tmp_path / f"{imap_user}.pw"
    p.write_text(dovecot.users[imap_user] + "\n")
    return str(p)


def source(dovecot: Dovecot, user: str, pwfile: str, **server_kw: object) -> ImapSource:
    return ImapSource(mailbox(user, pwfile), server(server_kw.pop("port", dovecot.port), **server_kw))


def no_recent(flags: dict[int, tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
    return {uid: tuple(f for f in fl if f != "\\Recent") for uid, fl in flags.items()}


# --------------------------------------------------------------------------- the source


def test_login_over_plain_starttls_and_tls(dovecot: Dovecot, imap_user: str, pwfile: str) -> None:
    for kw in ({}, {"security": "starttls", "ca_file": str(dovecot.cert)},
               {"security": "tls", "port": dovecot.tls_port, "ca_file": str(dovecot.cert)}):
        src = source(dovecot, imap_user, pwfile, **kw)
        src.connect()
        assert src.select("INBOX").uidvalidity > 0
        src.close()


def test_certificate_is_verified_unless_turned_off(dovecot: Dovecot, imap_user: str, pwfile: str) -> None:
    src = source(dovecot, imap_user, pwfile, security="tls", port=dovecot.tls_port)
    with pytest.raises(SourceError, match="certificate failed verification") as err:
        src.connect()
    assert not err.value.transient
    unverified = source(dovecot, imap_user, pwfile, security="tls", port=dovecot.tls_port, verify_tls=False)
    unverified.connect()
    unverified.close()


def test_plain_is_refused_off_loopback(dovecot: Dovecot, imap_user: str, pwfile: str) -> None:
    with pytest.raises(SourceError, match="refused"):
        source(dovecot, imap_user, pwfile, host="imap.example.org").connect()


def test_wrong_password_and_master_user(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pw"
    bad.write_text("nope")
    with pytest.raises(AuthError, match="login refused"):
        ImapSource(mailbox(imap_user, str(bad)), server(dovecot.port)).connect()
    master_pw = tmp_path / "master.pw"
    master_pw.write_text(MASTER_PASSWORD)
    src = ImapSource(mailbox(imap_user), server(dovecot.port, auth="master", username=MASTER_USER,
                                                 password_file=str(master_pw)))
    src.connect()
    assert src.select("INBOX").exists == 0
    src.close()


def test_search_fetch_and_flags_untouched(dovecot: Dovecot, imap_user: str, pwfile: str) -> None:
    raws = [make_mail(i) for i in range(5)]
    for i, raw in enumerate(raws):
        dovecot.deliver(imap_user, raw, flags=("S" if i % 2 else ("FS" if i == 4 else "")))
    before = no_recent(dovecot.flags(imap_user))
    src = source(dovecot, imap_user, pwfile)
    assert src.search_after("INBOX", 0) == ["1", "2", "3", "4", "5"]
    assert src.search_after("INBOX", 5) == []  # the server answers 5 for 6:*; it is dropped
    got = list(src.fetch("INBOX", ["2", "4", "99"]))
    assert [r.raw.replace(b"\r\n", b"\n") for r in got] == [raws[1].replace(b"\r\n", b"\n"),
                                                           raws[3].replace(b"\r\n", b"\n")]
    assert got[0].received_at and got[0].received_at.tzinfo is not None and got[0].uid == 2
    list(src.fetch("INBOX", ["1", "2", "3", "4", "5"]))
    assert src.supports_keywords("INBOX")
    src.close()
    assert no_recent(dovecot.flags(imap_user)) == before
    assert before[1] == () and before[2] == ("\\Seen",)


def test_junk_missing_folder_and_badcharset(dovecot: Dovecot, imap_user: str, pwfile: str) -> None:
    dovecot.deliver(imap_user, make_mail(1), folder="Junk")
    src = source(dovecot, imap_user, pwfile)
    assert src.search_after("Junk", 0) == ["1"]
    with pytest.raises(FolderError):
        src.select("Nope")
    assert src.search_after("Junk", 0, charset="koi8_t") == ["1"]  # BADCHARSET, then without
    assert src.special_use("\\Drafts") == "Drafts"
    src.close()


def test_dropped_connection_mid_fetch(dovecot: Dovecot, imap_user: str, pwfile: str) -> None:
    for i in range(30):
        dovecot.deliver(imap_user, make_mail(i, body="x" * 2000))
    proxy = DroppingProxy(dovecot.port, limit=30_000)
    try:
        src = ImapSource(mailbox(imap_user, pwfile), server(proxy.port), fetch_chunk=5)
        got = []
        with pytest.raises(SourceError) as err:
            got.extend(src.fetch("INBOX", src.search_after("INBOX", 0)))
        assert err.value.transient and 0 < len(got) < 30
    finally:
        proxy.close()
    rest = source(dovecot, imap_user, pwfile)
    done = {r.key for r in got}
    remaining = [k for k in rest.search_after("INBOX", 0) if k not in done]
    assert len(got) + len(list(rest.fetch("INBOX", remaining))) == 30
    rest.close()


def test_token_cache(tmp_path: Path) -> None:
    script = tmp_path / "token.sh"
    count = tmp_path / "count"
    script.write_text(f'#!/bin/sh\necho x >> {count}\necho \'{{"access_token": "tok-1", "expires_in": 3600}}\'\n')
    script.chmod(0o755)
    cache = TokenCache()
    assert cache.get(str(script), what="m") == "tok-1" and cache.get(str(script), what="m") == "tok-1"
    assert count.read_text().count("x") == 1
    cache.drop(str(script))
    cache.get(str(script), what="m")
    assert count.read_text().count("x") == 2
    failing = tmp_path / "fail.sh"
    failing.write_text("#!/bin/sh\necho secret-in-output >&2\nexit 2\n")
    failing.chmod(0o755)
    with pytest.raises(AuthError) as err:
        cache.get(str(failing), what="m")
    assert err.value.reauthorise and "secret" not in str(err.value) and "exit status 2" in str(err.value)


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
