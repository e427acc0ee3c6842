"""ImapSource against a real Dovecot (tests/dovecot_fixture.py) and, where Dovecot cannot
play the part (Microsoft 365's BADCHARSET, a server without STARTTLS, one that never
greets), against a tiny fake IMAP server on loopback."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_mail
from dovecot_fixture import Dovecot, DroppingProxy

import triage.sources.imap as imap_module
from triage.config import MailboxConfig, ServerConfig
from triage.errors import AuthError, FolderError, SourceError
from triage.sources import FolderStatus, MailSource
from triage.sources.imap import ImapSource, TokenCache, tls_context

pytestmark = pytest.mark.imap


# --------------------------------------------------------------------------- helpers


def server(port: int, **kw: Any) -> ServerConfig:
    base: dict[str, Any] = {"name": "t", "host": "127.0.0.1", "port": port, "security": "plain", "verify_tls": True,
                            "ca_file": "", "auth": "password", "username": "", "password_env": "",
                            "password_file": "", "oauth2_token_command": "", "connect_timeout": 5.0,
                            "read_timeout": 10.0}
    return ServerConfig(**{**base, **kw})


def mailbox(user: str, **kw: Any) -> MailboxConfig:
    base: dict[str, Any] = {"name": f"mb-{user}", "clinician": "alex.morgan@dmh.example.org", "kind": "imap",
                            "path": "", "server": "t", "user": user, "password_env": "", "password_file": "",
                            "folders": ("INBOX",), "poll_interval_seconds": 5, "enabled": True}
    return MailboxConfig(**{**base, **kw})


@pytest.fixture
def pwfile(tmp_path: Path, dovecot: Dovecot, imap_user: str) -> str:
    p = tmp_path / "user.pw"
    p.write_text(dovecot.users[imap_user] + "\n")
    return str(p)


@pytest.fixture
def source(dovecot: Dovecot, imap_user: str, pwfile: str) -> Iterator[Callable[..., ImapSource]]:
    """Make ImapSources for the test's user (closed after the test); server settings as keywords."""
    made: list[ImapSource] = []

    def make(port: int | None = None, *, fetch_chunk: int = 50, fetch_bytes: int = 20 * 1024 * 1024,
             search_charset: str | None = None, tokens: TokenCache | None = None, **kw: Any) -> ImapSource:
        src = ImapSource(mailbox(imap_user, password_file=pwfile), server(port or dovecot.port, **kw),
                         fetch_chunk=fetch_chunk, fetch_bytes=fetch_bytes, search_charset=search_charset,
                         tokens=tokens)
        made.append(src)
        return src

    yield make
    for src in made:
        src.close()


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def deliver_many(dovecot: Dovecot, user: str, n: int, **kw: Any) -> list[bytes]:
    raws = [crlf(make_mail(i, **kw)) for i in range(n)]
    for raw in raws:
        dovecot.deliver(user, raw)
    return raws


# --------------------------------------------------------------------------- a fake server


class FakeImap:
    """Just enough IMAP to stand in for servers Dovecot cannot imitate."""

    def __init__(self, *, greet: bool = True, capabilities: str = "IMAP4rev1 AUTH=PLAIN",
                 badcharset: bool = True) -> None:
        self.greet, self.capabilities, self.badcharset = greet, capabilities, badcharset
        self.commands: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = int(self.sock.getsockname()[1])
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn, conn.makefile("rb") as lines:
            if not self.greet:
                conn.recv(1)  # say nothing until the client gives up
                return
            conn.sendall(b"* OK fake IMAP ready\r\n")
            for raw in lines:
                line = raw.decode().rstrip("\r\n")
                self.commands.append(line)
                tag, _, rest = line.partition(" ")
                cmd = rest.upper()
                if cmd.startswith("CAPABILITY"):
                    out = f"* CAPABILITY {self.capabilities}\r\n{tag} OK done\r\n"
                elif cmd.startswith("LOGIN"):
                    out = f"{tag} OK logged in\r\n"
                elif cmd.startswith(("EXAMINE", "SELECT")):
                    out = (f"* 3 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen)\r\n* OK [UIDVALIDITY 7] ok\r\n"
                           f"* OK [UIDNEXT 4] ok\r\n{tag} OK [READ-ONLY] done\r\n")
                elif cmd.startswith("UID SEARCH") and "CHARSET" in cmd and self.badcharset:
                    out = f"{tag} NO [BADCHARSET (US-ASCII)] The specified charset is not supported.\r\n"
                elif cmd.startswith("UID SEARCH"):
                    out = f"* SEARCH 1 2 3\r\n{tag} OK done\r\n"
                elif cmd.startswith("LOGOUT"):
                    conn.sendall(f"* BYE bye\r\n{tag} OK done\r\n".encode())
                    return
                else:
                    out = f"{tag} OK done\r\n"
                conn.sendall(out.encode())

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def fake_imap() -> Iterator[Callable[..., FakeImap]]:
    made: list[FakeImap] = []

    def make(**kw: Any) -> FakeImap:
        made.append(FakeImap(**kw))
        return made[-1]

    yield make
    for f in made:
        f.close()


# --------------------------------------------------------------------------- connecting


def test_is_a_mail_source(source: Callable[..., ImapSource]) -> None:
    src: MailSource = source()
    assert src.name.startswith("mb-")


def test_plain_login_on_loopback_and_kept_connection(source: Callable[..., ImapSource]) -> None:
    src = source()
    src.connect()
    client = src.client
    src.connect()  # idempotent: the same connection
    assert src.client is client and src.connected
    status = src.select("INBOX")
    assert isinstance(status, FolderStatus) and status.uidvalidity > 0
    assert (status.exists, status.uidnext) == (0, 1)
    src.noop()
    src.close()
    src.close()  # twice: still quiet
    assert not src.connected
    src.noop()  # reconnects
    assert src.connected


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_the_fixture_ca(dovecot: Dovecot, source: Callable[..., ImapSource], security: str) -> None:
    port = dovecot.tls_port if security == "tls" else dovecot.port
    src = source(port, security=security, ca_file=dovecot.ca_file)
    src.connect()
    assert src.client is not None and isinstance(src.client.socket(), ssl.SSLSocket)
    assert src.select("INBOX").uidvalidity > 0
    by_name = source(port, security=security, ca_file=dovecot.ca_file, host="localhost")  # SAN DNS localhost
    by_name.connect()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_certificate_verification(dovecot: Dovecot, source: Callable[..., ImapSource], security: str) -> None:
    port = dovecot.tls_port if security == "tls" else dovecot.port
    with pytest.raises(SourceError, match="certificate failed verification") as err:
        source(port, security=security).connect()
    assert not err.value.transient and not isinstance(err.value, AuthError)
    unverified = source(port, security=security, verify_tls=False)
    unverified.connect()


def test_tls_context_is_built_once_per_process(dovecot: Dovecot) -> None:
    assert tls_context(True, dovecot.ca_file) is tls_context(True, dovecot.ca_file)
    assert tls_context(True, "") is not tls_context(False, "")
    assert tls_context(False, "").verify_mode == ssl.CERT_NONE


def test_plain_is_refused_off_loopback(source: Callable[..., ImapSource]) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match="refused") as err:
        source(host="imap.example.org").connect()
    assert not err.value.transient and time.monotonic() - started < 0.5  # refused before any connection


def test_starttls_missing_is_an_error(fake_imap: Callable[..., FakeImap], imap_user: str) -> None:
    fake = fake_imap(capabilities="IMAP4rev1 AUTH=PLAIN")
    src = ImapSource(mailbox(imap_user, password_env="X"), server(fake.port, security="starttls"))
    with pytest.raises(SourceError, match="STARTTLS") as err:
        src.connect()
    assert not err.value.transient and not src.connected


def test_a_server_that_never_answers_times_out(fake_imap: Callable[..., FakeImap], imap_user: str) -> None:
    fake = fake_imap(greet=False)
    src = ImapSource(mailbox(imap_user, password_env="X"), server(fake.port, connect_timeout=0.3))
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        src.connect()
    assert err.value.transient and "TimeoutError" in str(err.value) and time.monotonic() - started < 3


def test_nothing_listening_is_transient(imap_user: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError, match="cannot connect") as err:
        ImapSource(mailbox(imap_user, password_env="X"), server(port)).connect()
    assert err.value.transient


# --------------------------------------------------------------------------- logging in


def test_wrong_password_is_an_auth_error(dovecot: Dovecot, imap_user: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.pw"
    bad.write_text("not-the-password")
    with pytest.raises(AuthError, match="login refused") as err:
        ImapSource(mailbox(imap_user, password_file=str(bad)), server(dovecot.port)).connect()
    assert not err.value.transient and not err.value.reauthorise and "not-the-password" not in str(err.value)
    # The server-wide password_env is used when the mailbox names none.
    monkeypatch.setenv("TRIAGE_TEST_PW", dovecot.users[imap_user])
    src = ImapSource(mailbox(imap_user), server(dovecot.port, password_env="TRIAGE_TEST_PW"))
    src.connect()
    src.close()
    with pytest.raises(AuthError, match="NO_SUCH_VAR"):
        ImapSource(mailbox(imap_user, password_env="NO_SUCH_VAR"), server(dovecot.port)).connect()


def test_master_user_login(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    dovecot.deliver(imap_user, crlf(make_mail(1)))
    master = tmp_path / "master.pw"
    master.write_text(dovecot.master_password)
    cfg = server(dovecot.port, auth="master", username=dovecot.master_user, password_file=str(master))
    src = ImapSource(mailbox(imap_user), cfg)
    src.connect()
    assert src.select("INBOX").exists == 1  # the user's own mailbox
    src.close()
    master.write_text("wrong")
    with pytest.raises(AuthError, match="login refused"):
        ImapSource(mailbox(imap_user), cfg).connect()


def token_script(tmp_path: Path, name: str, token: str, *, json_out: bool = True, status: int = 0) -> tuple[str, Path]:
    count = tmp_path / f"{name}.runs"
    script = tmp_path / f"{name}.sh"
    body = f'{{"access_token": "{token}", "expires_in": 3600}}' if json_out else token
    script.write_text(f"#!/bin/sh\necho run >> {count}\nprintf '%s\\n' '{body}'\nexit {status}\n")
    script.chmod(0o755)
    return str(script), count


def test_xoauth2_login_and_the_token_is_cached(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    command, runs = token_script(tmp_path, "ok", dovecot.oauth2_token(imap_user))
    tokens = TokenCache()
    cfg = server(dovecot.port, auth="xoauth2", oauth2_token_command=command)
    first = ImapSource(mailbox(imap_user), cfg, tokens=tokens)
    second = ImapSource(mailbox(imap_user), server(dovecot.tls_port, security="tls", ca_file=dovecot.ca_file,
                                                   auth="xoauth2", oauth2_token_command=command), tokens=tokens)
    try:
        first.connect()
        second.connect()
        assert first.select("INBOX").uidvalidity == second.select("INBOX").uidvalidity
    finally:
        first.close()
        second.close()
    assert tokens.runs == 1 and runs.read_text().count("run") == 1 and tokens.cached(command)


@pytest.mark.parametrize("whose", ["wrong key", "another user"])
def test_a_refused_token_means_reauthorise_and_leaves_the_cache(dovecot: Dovecot, imap_user: str,
                                                                tmp_path: Path, whose: str) -> None:
    token = (dovecot.oauth2_token(imap_user, key=b"not-the-server-key") if whose == "wrong key"
             else dovecot.oauth2_token(imap_user + "-other"))
    command, runs = token_script(tmp_path, "bad", token)
    tokens = TokenCache()
    src = ImapSource(mailbox(imap_user), server(dovecot.port, auth="xoauth2", oauth2_token_command=command),
                     tokens=tokens)
    with pytest.raises(AuthError, match="re-authorisation required") as err:
        src.connect()
    assert err.value.reauthorise and not err.value.transient and token not in str(err.value)
    assert not tokens.cached(command) and not src.connected
    with pytest.raises(AuthError):
        src.connect()
    assert runs.read_text().count("run") == 2  # dropped from the cache, so asked again


def test_a_failing_token_command_never_shows_its_output(dovecot: Dovecot, imap_user: str, tmp_path: Path) -> None:
    command, _ = token_script(tmp_path, "fail", "secret-refresh-token-xyz", status=3)
    src = ImapSource(mailbox(imap_user), server(dovecot.port, auth="xoauth2", oauth2_token_command=command))
    with pytest.raises(AuthError, match="exit status 3") as err:
        src.connect()
    assert "secret-refresh-token-xyz" not in str(err.value) and not err.value.reauthorise


def test_token_lifetimes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_800_000_000.0]
    monkeypatch.setattr(imap_module.time, "time", lambda: now[0])
    bare, _ = token_script(tmp_path, "bare", "bare-token", json_out=False)
    cache = TokenCache()
    assert cache.get(bare, what="m") == "bare-token"
    now[0] += 49 * 60
    cache.get(bare, what="m")
    assert cache.runs == 1  # bare tokens are kept 50 minutes
    now[0] += 2 * 60
    cache.get(bare, what="m")
    assert cache.runs == 2
    timed, _ = token_script(tmp_path, "json", "json-token")  # expires_in 3600: kept until 60 s before
    cache = TokenCache()
    start = now[0]
    cache.get(timed, what="m")
    now[0] = start + 3535
    cache.get(timed, what="m")
    assert cache.runs == 1
    now[0] = start + 3545
    cache.get(timed, what="m")
    assert cache.runs == 2
    on = tmp_path / "on.sh"
    on.write_text(f"#!/bin/sh\nprintf '%s' '{{\"access_token\": \"t3\", \"expires_on\": {int(now[0]) + 120}}}'\n")
    on.chmod(0o755)
    cache = TokenCache()
    assert cache.get(str(on), what="m") == "t3" and cache.cached(str(on))
    now[0] += 61
    assert not cache.cached(str(on))


# --------------------------------------------------------------------------- reading


def test_search_after_is_by_uid_with_checkpoint_semantics(dovecot: Dovecot, imap_user: str,
                                                          source: Callable[..., ImapSource]) -> None:
    src = source()
    src.select("INBOX")
    assert src.search_after("INBOX", 0) == []  # empty folder
    deliver_many(dovecot, imap_user, 5)
    assert src.select("INBOX").exists == 5  # the kept connection sees new mail on EXAMINE
    assert src.search_after("INBOX", 0) == ["1", "2", "3", "4", "5"]
    assert src.search_after("INBOX", 3) == ["4", "5"]
    assert src.search_after("INBOX", 5) == []  # the server answers 5 to `UID SEARCH UID 6:*`
    assert src.search_after("INBOX", 500) == []
    dovecot.deliver(imap_user, crlf(make_mail(9)))
    src.select("INBOX")
    assert src.search_after("INBOX", 5) == ["6"]


def test_fetch_gives_exact_bytes_and_changes_no_flag(dovecot: Dovecot, imap_user: str,
                                                      source: Callable[..., ImapSource]) -> None:
    flag_sets: list[tuple[str, ...]] = [(), ("\\Seen",), (), ("\\Flagged", "\\Seen"), ("\\Answered",),
                                        ("$Forwarded", "\\Seen"), ("\\Draft",), ()]
    raws = [crlf(make_mail(i)) for i in range(len(flag_sets))]
    for raw, flags in zip(raws, flag_sets, strict=True):
        dovecot.deliver(imap_user, raw, flags=flags)
    appended = crlf(make_mail(50))
    dovecot.append(imap_user, appended)  # unseen, over IMAP
    dovecot.append(imap_user, crlf(make_mail(51)), flags=("\\Seen",))
    lf_only = make_mail(52).replace(b"\r\n", b"\n")
    dovecot.deliver(imap_user, lf_only)
    before = dovecot.flags(imap_user)
    assert before[1] == () and before[2] == ("\\Seen",) and before[6] == ("$Forwarded", "\\Seen")

    src = source()
    status = src.select("INBOX")
    keys = src.search_after("INBOX", 0)
    got = list(src.fetch("INBOX", keys))
    assert [m.key for m in got] == keys == [str(i) for i in range(1, 12)]
    assert [m.raw for m in got[:8]] == raws and got[8].raw == appended
    assert got[10].raw == lf_only.replace(b"\n", b"\r\n")  # IMAP speaks CRLF
    for m in got:
        assert (m.mailbox, m.folder, m.uidvalidity, m.uid) == (src.name, "INBOX", status.uidvalidity, int(m.key))
        assert m.received_at is not None and m.received_at.utcoffset() is not None
        assert m.received_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert src.supports_keywords("INBOX")  # a read-write SELECT, left at once: still no flag changes
    list(src.fetch("INBOX", keys))  # again, after it
    src.close()
    assert dovecot.flags(imap_user) == before


def test_fetch_skips_vanished_messages_and_keeps_uid_order(dovecot: Dovecot, imap_user: str,
                                                           source: Callable[..., ImapSource]) -> None:
    deliver_many(dovecot, imap_user, 4)
    src = source()
    src.select("INBOX")
    keys = src.search_after("INBOX", 0)
    victim = next((dovecot.maildir(imap_user) / "new").iterdir(), None) or next(
        (dovecot.maildir(imap_user) / "cur").iterdir())
    victim_raw = victim.read_bytes()
    victim.unlink()  # expunged by someone else between SEARCH and FETCH
    got = list(src.fetch("INBOX", ["4", *keys, "999"]))
    assert len(got) == 3 and [m.uid for m in got] == sorted(m.uid for m in got if m.uid)
    assert victim_raw not in [m.raw for m in got]


def test_chunks_are_bounded_by_count_and_bytes(dovecot: Dovecot, imap_user: str,
                                               source: Callable[..., ImapSource]) -> None:
    for i in range(9):
        dovecot.deliver(imap_user, crlf(make_mail(i, body="big " * 40_000 if i == 4 else "small")))
    src = source(fetch_chunk=3, fetch_bytes=100_000)
    src.select("INBOX")
    assert src.client is not None
    real = src.client.fetch
    bodies: list[list[int]] = []

    def spy(messages: Any, data: Any, *args: Any, **kw: Any) -> Any:
        if b"BODY.PEEK[]" in data:
            bodies.append(list(messages))
        return real(messages, data, *args, **kw)

    src.client.fetch = spy  # type: ignore[method-assign]
    got = list(src.fetch("INBOX", src.search_after("INBOX", 0)))
    assert len(got) == 9 and all(len(c) <= 3 for c in bodies)
    assert [5] in bodies  # the 160 kB message travels alone
    assert bodies == [[1, 2, 3], [4], [5], [6, 7, 8], [9]]


def test_junk_and_other_folders(dovecot: Dovecot, imap_user: str, source: Callable[..., ImapSource]) -> None:
    raw = crlf(make_mail(1, subject="spam"))
    dovecot.deliver(imap_user, raw, folder="Junk")
    dovecot.create_folder(imap_user, "Clients/Urgent")
    src = source()
    status = src.select("Junk")
    assert status.exists == 1
    [msg] = list(src.fetch("Junk", src.search_after("Junk", 0)))
    assert (msg.folder, msg.raw, msg.uidvalidity) == ("Junk", raw, status.uidvalidity)
    assert {"INBOX", "Junk", "Drafts", "Sent", "Clients/Urgent"} <= set(src.list_folders())
    assert src.special_use("\\Junk") == "Junk" and src.special_use("Drafts") == "Drafts"
    assert src.special_use("\\Archive") is None


def test_a_missing_folder_is_a_folder_error(source: Callable[..., ImapSource]) -> None:
    src = source()
    with pytest.raises(FolderError, match="Nope") as err:
        src.select("Nope")
    assert not err.value.transient
    client = src.client
    assert src.select("INBOX").uidvalidity > 0 and src.client is client  # the connection is still good
    with pytest.raises(FolderError):
        src.search_after("Nope", 0)


def test_dropped_connection_mid_fetch(dovecot: Dovecot, imap_user: str, source: Callable[..., ImapSource],
                                      dropping_proxy: Callable[..., DroppingProxy]) -> None:
    raws = deliver_many(dovecot, imap_user, 20, subject="do-not-log-me", body="x" * 2000)
    proxy = dropping_proxy(after_fetches=7)  # the 8th message never arrives
    src = source(proxy.port, fetch_chunk=5)
    src.select("INBOX")
    keys = src.search_after("INBOX", 0)
    got = []
    with pytest.raises(SourceError) as err:
        got.extend(src.fetch("INBOX", keys))
    assert err.value.transient and proxy.drops == 1 and not src.connected
    assert len(got) == 5 and [m.raw for m in got] == raws[:5]  # whole chunks only
    assert src.name in str(err.value) and "do-not-log-me" not in str(err.value)
    rest = source()  # a new source, straight to the server
    rest.select("INBOX")
    done = {m.key for m in got}
    more = list(rest.fetch("INBOX", [k for k in rest.search_after("INBOX", 0) if k not in done]))
    assert sorted(m.raw for m in got + more) == sorted(raws) and len({m.key for m in got + more}) == 20


def test_cut_part_way_through_a_message(dovecot: Dovecot, imap_user: str, source: Callable[..., ImapSource],
                                        dropping_proxy: Callable[..., DroppingProxy]) -> None:
    raws = deliver_many(dovecot, imap_user, 12, body="y" * 3000)
    proxy = dropping_proxy(20_000)  # bytes: lands inside a message literal
    src = source(proxy.port, fetch_chunk=4)
    src.select("INBOX")
    got = []
    with pytest.raises(SourceError):
        got.extend(src.fetch("INBOX", src.search_after("INBOX", 0)))
    assert 0 < len(got) < 12 and [m.raw for m in got] == raws[: len(got)]


def test_a_kept_connection_cut_while_idle(source: Callable[..., ImapSource],
                                          dropping_proxy: Callable[..., DroppingProxy]) -> None:
    proxy = dropping_proxy(10**9)
    src = source(proxy.port)
    src.select("INBOX")
    proxy.cut()
    with pytest.raises(SourceError) as err:
        src.select("INBOX")
    assert err.value.transient and not src.connected
    src.close()  # quiet on a dead connection
    assert src.select("INBOX").uidvalidity > 0  # reconnects


def test_uidvalidity_reset(dovecot: Dovecot, imap_user: str, source: Callable[..., ImapSource]) -> None:
    raws = deliver_many(dovecot, imap_user, 3)
    kept = source()
    old = kept.select("INBOX").uidvalidity
    stale_keys = kept.search_after("INBOX", 0)
    assert stale_keys == ["1", "2", "3"]
    new = dovecot.reset_uidvalidity(imap_user, first_uid=100)
    assert new != old
    fresh = source()
    assert fresh.select("INBOX").uidvalidity == new
    keys = fresh.search_after("INBOX", 0)
    assert keys == ["100", "101", "102"]
    assert [m.raw for m in fresh.fetch("INBOX", keys)] == raws  # the same messages, new UIDs
    assert kept.select("INBOX").uidvalidity == new  # a kept connection sees it on the next EXAMINE
    # Keys from before a change are not read under the new UIDVALIDITY after a reconnect.
    other = source()
    assert other.select("INBOX").uidvalidity == new
    other.close()
    dovecot.reset_uidvalidity(imap_user)
    with pytest.raises(SourceError, match="UIDVALIDITY"):
        list(other.fetch("INBOX", keys))


def test_badcharset_fallback_on_dovecot(source: Callable[..., ImapSource], dovecot: Dovecot,
                                        imap_user: str) -> None:
    deliver_many(dovecot, imap_user, 2)
    src = source(search_charset="X-NO-SUCH-CHARSET")
    src.select("INBOX")
    assert src.search_after("INBOX", 0) == ["1", "2"] and src.charset_refused
    assert src.search_after("INBOX", 1, charset="X-NO-SUCH-CHARSET") == ["2"]


def test_badcharset_fallback_like_microsoft_365(fake_imap: Callable[..., FakeImap], imap_user: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_imap()
    monkeypatch.setenv("FAKE_PW", "pw")
    src = ImapSource(mailbox(imap_user, password_env="FAKE_PW"), server(fake.port), search_charset="UTF-8")
    try:
        assert src.select("INBOX") == FolderStatus(uidvalidity=7, exists=3, uidnext=4)
        assert src.search_after("INBOX", 1) == ["2", "3"]
        assert src.search_after("INBOX", 3) == []
    finally:
        src.close()
    searches = [c.split(" ", 1)[1] for c in fake.commands if " UID SEARCH" in c.upper()]
    assert searches == ["UID SEARCH CHARSET UTF-8 UID 2:*", "UID SEARCH UID 2:*", "UID SEARCH UID 4:*"]


def test_supports_keywords_on_dovecot(source: Callable[..., ImapSource]) -> None:
    src = source()
    assert src.supports_keywords("INBOX") and src.supports_keywords("Junk")
    assert src.select("INBOX").uidvalidity > 0  # back to EXAMINE afterwards
    with pytest.raises(FolderError):
        src.supports_keywords("Nope")


def test_idle_poll_on_a_kept_connection_is_fast(dovecot: Dovecot, imap_user: str,
                                                source: Callable[..., ImapSource]) -> None:
    deliver_many(dovecot, imap_user, 3)
    src = source()
    src.select("INBOX")
    n = 200
    started = time.perf_counter()
    for _ in range(n):
        src.select("INBOX")
        assert src.search_after("INBOX", 3) == []
    per_poll = (time.perf_counter() - started) / n
    assert per_poll < 0.01, f"an idle poll took {per_poll * 1000:.2f} ms"


def test_nothing_logged_or_raised_holds_message_content(dovecot: Dovecot, imap_user: str,
                                                         source: Callable[..., ImapSource],
                                                         dropping_proxy: Callable[..., DroppingProxy],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    secret = "ZEBRA-SUBJECT-7731"
    for i in range(6):
        dovecot.deliver(imap_user, crlf(make_mail(i, subject=secret, sender="private.person@example.com",
                                                  body=f"{secret} body")))
    caplog.set_level(logging.DEBUG)
    src = source()
    src.select("INBOX")
    assert len(list(src.fetch("INBOX", src.search_after("INBOX", 0)))) == 6
    proxy = dropping_proxy(after_fetches=2)
    broken = source(proxy.port, fetch_chunk=1)
    broken.select("INBOX")
    with pytest.raises(SourceError) as err:
        list(broken.fetch("INBOX", broken.search_after("INBOX", 0)))
    for text in (caplog.text, str(err.value)):
        assert secret not in text and "private.person" not in text


def test_a_body_the_server_leaves_out_is_asked_for_again(dovecot: Dovecot, imap_user: str,
                                                         source: Callable[..., ImapSource]) -> None:
    from imapclient.exceptions import IMAPClientError

    raws = deliver_many(dovecot, imap_user, 4)
    src = source()
    src.select("INBOX")
    assert src.client is not None
    real = src.client.fetch
    mode = {"refuse": 1, "omit": 0}

    def flaky(messages: Any, data: Any, *args: Any, **kw: Any) -> Any:
        if b"BODY.PEEK[]" in data and mode["refuse"]:
            mode["refuse"] -= 1
            raise IMAPClientError("fetch failed: NO [EXPUNGEISSUED] Some messages were expunged")
        out = real(messages, data, *args, **kw)
        if b"BODY.PEEK[]" in data and mode["omit"]:
            mode["omit"] -= 1
            out.pop(2, None)
        return out

    src.client.fetch = flaky  # type: ignore[method-assign]
    assert [m.raw for m in src.fetch("INBOX", ["1", "2", "3", "4"])] == raws  # a NO: asked again
    mode["omit"] = 1
    assert [m.raw for m in src.fetch("INBOX", ["1", "2", "3", "4"])] == raws  # left out once: asked again
    mode["omit"] = 10**6  # a server that never sends message 2, though it exists
    with pytest.raises(SourceError, match="did not return 1 message"):
        list(src.fetch("INBOX", ["1", "2", "3", "4"]))


# --------------------------------------------------------------------------- writing: the actions


def test_flags_are_added_without_touching_seen(dovecot: Dovecot, imap_user: str,
                                               source: Callable[..., ImapSource]) -> None:
    dovecot.deliver(imap_user, crlf(make_mail(1)))
    dovecot.deliver(imap_user, crlf(make_mail(2)), flags=("\\Seen",))
    src = source()
    uidvalidity = src.select("INBOX").uidvalidity
    assert src.add_flags("INBOX", uidvalidity, 1, ["$TriageEmergent", "\\Flagged"])
    assert src.add_flags("INBOX", uidvalidity, 2, ["$TriageRightsRequest"])
    assert src.add_flags("INBOX", uidvalidity, 2, ["$TriageRightsRequest"])  # twice: no change
    assert dovecot.flags(imap_user) == {1: ("$TriageEmergent", "\\Flagged"), 2: ("$TriageRightsRequest", "\\Seen")}
    assert not src.add_flags("INBOX", uidvalidity, 99, ["$TriageEmergent"])  # gone: False, no error
    # Reading goes on as before after a write.
    assert src.search_after("INBOX", 0) == ["1", "2"]
    assert dovecot.flags(imap_user)[1] == ("$TriageEmergent", "\\Flagged")  # still unread


def test_flags_refused_when_uidvalidity_changed(dovecot: Dovecot, imap_user: str,
                                                source: Callable[..., ImapSource]) -> None:
    dovecot.deliver(imap_user, crlf(make_mail(1)))
    src = source()
    uidvalidity = src.select("INBOX").uidvalidity
    with pytest.raises(FolderError, match="UIDVALIDITY"):
        src.add_flags("INBOX", uidvalidity + 1, 1, ["$TriageEmergent"])
    assert dovecot.flags(imap_user) == {1: ()}


def test_copy_append_and_find_by_header(dovecot: Dovecot, imap_user: str,
                                        source: Callable[..., ImapSource]) -> None:
    dovecot.deliver(imap_user, crlf(make_mail(1)))
    src = source()
    uidvalidity = src.select("INBOX").uidvalidity
    assert src.copy("INBOX", uidvalidity, 1, "Triage/Emergent")  # the folder is created
    assert dovecot.status(imap_user, "Triage/Emergent")["messages"] == 1
    assert dovecot.flags(imap_user) == {1: ()}  # the original stays, unread
    draft = crlf(b"X-Triage-Item: item-7\nFrom: alex.morgan@dmh.example.org\nTo: c@example.com\n"
                 b"Subject: draft\n\nbody\n")
    src.append("Drafts", draft, ["\\Draft"])
    assert src.find_header("Drafts", "X-Triage-Item", "item-7") == [1]
    assert src.find_header("Drafts", "X-Triage-Item", "item-8") == []
    assert dovecot.flags(imap_user, "Drafts") == {1: ("\\Draft",)}
