"""IMAP source (imapclient): read-only, by UID, never changing a flag.

Folders are opened with EXAMINE (read-only) and mail is read with BODY.PEEK[],
so the clinician's \\Seen flag and every other flag stay as they are. New mail
is found with UID SEARCH above the checkpoint, never by dates. Errors become
SourceError/AuthError naming the mailbox and the error class, never content.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shlex
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from triage.config import MailboxConfig, ServerConfig, is_loopback, read_secret
from triage.errors import AuthError, FolderError, SecretError, SourceError
from triage.sources import FolderStatus
from triage.values import RawMessage

log = logging.getLogger("triage.imap")

_NETWORK_ERRORS = (OSError, socket.timeout, ssl.SSLError, IMAPClientAbortError, EOFError)
_contexts: dict[tuple[bool, str], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def tls_context(verify: bool, ca_file: str = "") -> ssl.SSLContext:
    """One context per (verify, ca_file) per process: building one costs ~20 ms."""
    key = (verify, ca_file)
    with _contexts_lock:
        ctx = _contexts.get(key)
        if ctx is None:
            ctx = ssl.create_default_context()
            if ca_file:
                ctx.load_verify_locations(cafile=ca_file)
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            _contexts[key] = ctx
        return ctx


class TokenCache:
    """OAuth2 access tokens from `oauth2_token_command`, cached until shortly before they expire."""

    def __init__(self, *, margin_seconds: float = 60, default_lifetime: float = 50 * 60) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.margin = margin_seconds
        self.default_lifetime = default_lifetime
        self.runs = 0  # how often a command was run (tests, metrics)

    def get(self, command: str, *, what: str) -> str:
        with self._lock:
            cached = self._tokens.get(command)
            if cached and cached[1] - self.margin > time.time():
                return cached[0]
            token, expires = self._run(command, what)
            self._tokens[command] = (token, expires)
            return token

    def drop(self, command: str) -> None:
        with self._lock:
            self._tokens.pop(command, None)

    def _run(self, command: str, what: str) -> tuple[str, float]:
        self.runs += 1
        try:
            out = subprocess.run(shlex.split(command), capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AuthError(f"{what}: the token command could not run ({type(exc).__name__})") from None
        if out.returncode != 0:
            # Its output may hold secrets: only the status is reported.
            raise AuthError(f"{what}: the token command failed with exit status {out.returncode}",
                            reauthorise=out.returncode == 2)
        text = out.stdout.decode("utf-8", "replace").strip()
        now = time.time()
        if text.startswith("{"):
            try:
                data: dict[str, Any] = json.loads(text)
                token = str(data["access_token"])
            except (ValueError, KeyError):
                raise AuthError(f"{what}: the token command printed JSON without access_token") from None
            if "expires_on" in data:
                return token, float(data["expires_on"])
            return token, now + float(data.get("expires_in", self.default_lifetime))
        if not text or len(text.split()) != 1:
            raise AuthError(f"{what}: the token command printed no token")
        return text, now + self.default_lifetime


class ImapSource:
    """One clinician mailbox on an IMAP server, with a kept connection."""

    def __init__(self, mailbox: MailboxConfig, server: ServerConfig, *, base_dir: Path | None = None,
                 tokens: TokenCache | None = None, ssl_context: ssl.SSLContext | None = None,
                 fetch_chunk: int = 50, fetch_bytes: int = 20 * 1024 * 1024) -> None:
        self.name = mailbox.name
        self.mailbox = mailbox
        self.server = server
        self.base_dir = base_dir
        self.tokens = tokens or TokenCache()
        self._ssl_context = ssl_context
        self.fetch_chunk = fetch_chunk
        self.fetch_bytes = fetch_bytes
        self.client: IMAPClient | None = None
        self._selected: tuple[str, int] | None = None

    # ------------------------------------------------------------------ connection

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or tls_context(self.server.verify_tls, self.server.ca_file)

    def _fail(self, what: str, exc: BaseException, *, transient: bool = True) -> SourceError:
        return SourceError(f"mailbox {self.name}: {what}: {type(exc).__name__}: {_short(exc)}", transient=transient)

    def connect(self) -> None:
        if self.client is not None:
            return
        s = self.server
        if s.security == "plain" and not is_loopback(s.host):
            raise SourceError(f"mailbox {self.name}: plain IMAP is refused to {s.host} (not loopback)",
                              transient=False)
        try:
            client = IMAPClient(s.host, port=s.port, ssl=s.security == "tls",
                                ssl_context=self._context() if s.security == "tls" else None,
                                timeout=SocketTimeout(connect=s.connect_timeout, read=s.read_timeout))
            client.normalise_times = False
            if s.security == "starttls":
                if b"STARTTLS" not in client.capabilities():
                    client.shutdown()
                    raise SourceError(f"mailbox {self.name}: the server does not offer STARTTLS", transient=False)
                client.starttls(self._context())
        except SourceError:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise self._fail("the server's certificate failed verification", exc, transient=False) from None
        except (*_NETWORK_ERRORS, IMAPClientError) as exc:
            raise self._fail("cannot connect", exc) from None
        try:
            self._login(client)
        except BaseException:
            _quietly(client.shutdown)
            raise
        self.client = client
        self._selected = None

    def _login(self, client: IMAPClient) -> None:
        s, m = self.server, self.mailbox
        what = f"mailbox {self.name}"
        try:
            if s.auth == "xoauth2":
                token = self.tokens.get(s.oauth2_token_command, what=what)
                try:
                    client.oauth2_login(m.user, token)
                except (LoginError, IMAPClientError) as exc:
                    self.tokens.drop(s.oauth2_token_command)
                    raise AuthError(f"{what}: the OAuth2 token was refused ({_short(exc)}); "
                                    "re-authorisation required", reauthorise=True) from None
                return
            if s.auth == "master":
                password = read_secret(s.password_env, s.password_file, what=what, base=self.base_dir)
                login = f"{m.user}*{s.username}"
            else:
                env, file = (m.password_env, m.password_file) if (m.password_env or m.password_file) else (
                    s.password_env, s.password_file)
                password = read_secret(env, file, what=what, base=self.base_dir)
                login = m.user
            client.login(login, password)
        except SecretError as exc:
            raise AuthError(str(exc)) from None
        except LoginError as exc:
            raise AuthError(f"{what}: login refused ({_short(exc)})") from None
        except _NETWORK_ERRORS as exc:
            raise self._fail("connection lost while logging in", exc) from None

    def close(self) -> None:
        client, self.client, self._selected = self.client, None, None
        if client is not None:
            _quietly(client.logout)
            _quietly(client.shutdown)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one IMAP command; a network error drops the connection and becomes a SourceError."""
        if self.client is None:
            self.connect()
        try:
            return fn(*args, **kwargs)
        except _NETWORK_ERRORS as exc:
            self.close()
            raise self._fail(what, exc) from None

    # ------------------------------------------------------------------ protocol

    def select(self, folder: str) -> FolderStatus:
        self.connect()
        assert self.client is not None
        self._selected = None  # a failed SELECT leaves no folder selected on the server either
        try:
            info = self._call("cannot open folder", self.client.select_folder, folder, readonly=True)
        except IMAPClientError as exc:
            raise FolderError(f"mailbox {self.name}: no folder {folder!r} ({_short(exc)})", transient=False) from None
        uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        self._selected = (folder, uidvalidity)
        uidnext = info.get(b"UIDNEXT")
        return FolderStatus(uidvalidity=uidvalidity, exists=int(info.get(b"EXISTS", 0)),
                            uidnext=int(uidnext) if uidnext is not None else None)

    def _ensure(self, folder: str) -> int:
        if self.client is None or self._selected is None or self._selected[0] != folder:
            return self.select(folder).uidvalidity
        return self._selected[1]

    def search_after(self, folder: str, last_uid: int, *, charset: str | None = None) -> list[str]:
        self._ensure(folder)
        assert self.client is not None
        criteria = ["UID", f"{last_uid + 1}:*"]
        try:
            uids = self._call("search failed", self.client.search, criteria, charset)
        except IMAPClientError as exc:
            if charset and "BADCHARSET" in str(exc).upper():
                # Microsoft 365 answers BADCHARSET to a charset it does not like: UIDs need none.
                log.info("server refused the search charset; searching without one", extra={"mailbox": self.name})
                uids = self._call("search failed", self.client.search, criteria)
            else:
                raise self._fail("search failed", exc) from None
        # `UID SEARCH UID n:*` always returns the highest UID, even when it is below n.
        return [str(u) for u in sorted(int(u) for u in uids) if u > last_uid]

    def fetch(self, folder: str, keys: Sequence[str]) -> Iterator[RawMessage]:
        uidvalidity = self._ensure(folder)
        assert self.client is not None
        uids = [int(k) for k in keys]
        for chunk in self._chunks(uids):
            data = self._call("fetch failed", self.client.fetch, chunk, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in chunk:
                item = data.get(uid)
                if not item or b"BODY[]" not in item:
                    continue  # expunged since the search
                raw = item[b"BODY[]"]
                received = item.get(b"INTERNALDATE")
                if isinstance(received, datetime):
                    received = received.astimezone(UTC) if received.tzinfo else received.replace(tzinfo=UTC)
                else:
                    received = None
                yield RawMessage(self.name, folder, uidvalidity, str(uid), bytes(raw), received, uid=uid)

    def _chunks(self, uids: list[int]) -> Iterator[list[int]]:
        """Chunks of at most fetch_chunk messages and about fetch_bytes, so one huge message
        does not sit in memory with fifty others."""
        if not uids:
            return
        assert self.client is not None
        sizes = self._call("fetch failed", self.client.fetch, uids, ["RFC822.SIZE"])
        chunk: list[int] = []
        total = 0
        for uid in uids:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            if chunk and (len(chunk) >= self.fetch_chunk or total + size > self.fetch_bytes):
                yield chunk
                chunk, total = [], 0
            chunk.append(uid)
            total += size
        if chunk:
            yield chunk

    # ------------------------------------------------------------------ capabilities used by later stages

    def supports_keywords(self, folder: str) -> bool:
        """True when the folder keeps custom keywords (PERMANENTFLAGS holds \\*); Exchange Online does not.

        PERMANENTFLAGS is only sent for a read-write SELECT; selecting changes no flag, and the
        next read re-opens the folder read-only."""
        self.connect()
        assert self.client is not None
        info = self._call("cannot open folder", self.client.select_folder, folder, readonly=False)
        self._selected = None
        return b"\\*" in tuple(info.get(b"PERMANENTFLAGS", ()))

    def list_folders(self) -> list[str]:
        self.connect()
        assert self.client is not None
        return [name for _flags, _delim, name in self._call("cannot list folders", self.client.list_folders)]

    def special_use(self, attribute: str) -> str | None:
        """The folder with a SPECIAL-USE attribute such as \\Drafts, if the server says."""
        self.connect()
        assert self.client is not None
        for flags, _delim, name in self._call("cannot list folders", self.client.list_folders):
            if attribute.encode() in flags:
                return str(name)
        return None

    def noop(self) -> None:
        assert self.client is not None
        self._call("connection lost", self.client.noop)


def _short(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return text[:160]


def _quietly(fn: Any) -> None:
    with contextlib.suppress(Exception):
        fn()
