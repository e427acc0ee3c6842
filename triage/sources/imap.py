"""IMAP source (imapclient): read-only, by UID, never changing a flag.

Folders are opened with EXAMINE (read-only) and mail is read with BODY.PEEK[],
so the clinician's \\Seen flag and every other flag stay as they are. New mail
is found with UID SEARCH above the checkpoint, never by dates. The connection is
kept between polls. Errors become SourceError/AuthError/FolderError naming the
mailbox and the error class, never message content; network trouble is transient.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shlex
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import (
    IMAPClientAbortError,
    IMAPClientError,
    IMAPClientReadOnlyError,
    LoginError,
    ProtocolError,
)

from triage.config import MailboxConfig, ServerConfig, is_loopback, read_secret
from triage.errors import AuthError, FolderError, SecretError, SourceError
from triage.sources import FolderStatus
from triage.values import RawMessage

log = logging.getLogger("triage.imap")

# A lost or garbled connection: a new connection may well work. (ssl.SSLError and
# socket timeouts are OSErrors; IMAPClientAbortError is imaplib's "connection gone".)
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, IMAPClientAbortError, ProtocolError)
_MAX_UID = 4294967295
# Response codes (RFC 5530) that say "not now" rather than "no such folder".
_TRANSIENT_CODES = ("[SERVERBUG]", "[UNAVAILABLE]", "[INUSE]", "[LIMIT]")
_SIZE_WINDOW = 1000  # UIDs per RFC822.SIZE request (keeps command lines short)
T = TypeVar("T")

_contexts: dict[tuple[bool, str], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def tls_context(verify: bool, ca_file: str = "") -> ssl.SSLContext:
    """One context per (verify, ca_file) per process: building one costs ~20 ms.

    ca_file is added to the system's trust store, not put in its place."""
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


# --------------------------------------------------------------------------- OAuth2 tokens


class TokenCache:
    """OAuth2 access tokens from `oauth2_token_command`, cached per command.

    The command (shlex-split, run without a shell, 30 s at most) prints a bare token
    or JSON {"access_token": ..., "expires_in": seconds} (or "expires_on": epoch).
    A JSON token is kept until `margin_seconds` before it expires; a bare token for
    `default_lifetime` seconds. The command's output is never put in an error.
    """

    def __init__(self, *, margin_seconds: float = 60, default_lifetime: float = 50 * 60,
                 timeout: float = 30) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}  # command -> (token, time to stop using it)
        self._lock = threading.Lock()
        self.margin = margin_seconds
        self.default_lifetime = default_lifetime
        self.timeout = timeout
        self.runs = 0  # how often a command was run (tests, metrics)

    def get(self, command: str, *, what: str) -> str:
        with self._lock:
            cached = self._tokens.get(command)
            if cached and cached[1] > time.time():
                return cached[0]
            token, use_until = self._run(command, what)
            self._tokens[command] = (token, use_until)
            return token

    def drop(self, command: str) -> None:
        with self._lock:
            self._tokens.pop(command, None)

    def cached(self, command: str) -> bool:
        with self._lock:
            entry = self._tokens.get(command)
            return entry is not None and entry[1] > time.time()

    def _run(self, command: str, what: str) -> tuple[str, float]:
        self.runs += 1
        try:
            argv = shlex.split(command)
        except ValueError:
            raise AuthError(f"{what}: the token command cannot be parsed (unbalanced quotes)") from None
        if not argv:
            raise AuthError(f"{what}: the token command is empty")
        try:
            out = subprocess.run(argv, capture_output=True, timeout=self.timeout, check=False,
                                 stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise AuthError(f"{what}: the token command did not finish within {self.timeout:g} s") from None
        except OSError as exc:
            raise AuthError(f"{what}: the token command could not run ({type(exc).__name__})") from None
        if out.returncode != 0:
            # Its output may hold secrets: only the status is reported. Status 2 is the
            # examples' convention for "the grant was refused: re-authorise".
            raise AuthError(f"{what}: the token command failed with exit status {out.returncode}",
                            reauthorise=out.returncode == 2)
        text = out.stdout.decode("utf-8", "replace").strip()
        now = time.time()
        if text.startswith("{"):
            try:
                data: dict[str, Any] = json.loads(text)
                token = str(data.get("access_token") or data["accessToken"])
                if "expires_on" in data:
                    expires = float(data["expires_on"])
                elif "expires_in" in data:
                    expires = now + float(data["expires_in"])
                else:
                    expires = now + self.default_lifetime + self.margin
            except (ValueError, KeyError, TypeError):
                raise AuthError(f"{what}: the token command printed JSON without a usable access_token "
                                "and expiry") from None
            return _one_token(token, what), expires - self.margin
        return _one_token(text, what), now + self.default_lifetime


def _one_token(text: str, what: str) -> str:
    if not text or len(text.split()) != 1 or not text.isprintable():
        raise AuthError(f"{what}: the token command printed no usable token")
    return text


# --------------------------------------------------------------------------- the source


class ImapSource:
    """One clinician mailbox on an IMAP server, with a kept connection.

    Not thread-safe: one thread at a time (the worker's fetch thread runs while the
    poller waits for it).
    """

    def __init__(self, mailbox: MailboxConfig, server: ServerConfig, *, base_dir: Path | None = None,
                 tokens: TokenCache | None = None, ssl_context: ssl.SSLContext | None = None,
                 fetch_chunk: int = 50, fetch_bytes: int = 20 * 1024 * 1024,
                 search_charset: str | None = None) -> None:
        self.name = mailbox.name
        self.mailbox = mailbox
        self.server = server
        self.base_dir = base_dir
        self.tokens = tokens if tokens is not None else TokenCache()
        self._ssl_context = ssl_context
        self.fetch_chunk = max(1, fetch_chunk)
        self.fetch_bytes = fetch_bytes
        # Searches by UID need no charset; one may be asked for (e.g. for text criteria later).
        # A server that answers BADCHARSET gets searches without one from then on.
        self.search_charset = search_charset
        self.charset_refused = False
        self.client: IMAPClient | None = None
        self._selected: tuple[str, int] | None = None  # (folder, uidvalidity) open on the server now
        self._uidvalidity: dict[str, int] = {}  # what select() last reported, per folder
        self._keywords: dict[str, bool] = {}

    def __enter__(self) -> ImapSource:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self.client is not None

    # ------------------------------------------------------------------ errors

    def _lost(self, what: str, exc: BaseException) -> SourceError:
        """A network error: the connection is dropped; the message names the class, never content."""
        self._abandon()
        detail = f": {_short(str(exc))}" if isinstance(exc, OSError) and str(exc) else ""
        return SourceError(f"mailbox {self.name}: {what}: {type(exc).__name__}{detail}", transient=True)

    def _refused(self, what: str, exc: IMAPClientError) -> SourceError:
        """The server answered NO or BAD to a command (class only: a reply may quote data)."""
        return SourceError(f"mailbox {self.name}: {what}: the server refused ({type(exc).__name__})",
                           transient=True)

    def _run(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One IMAP command: network errors drop the connection; NO/BAD becomes a SourceError."""
        try:
            return fn(*args, **kwargs)
        except _NETWORK_ERRORS as exc:
            raise self._lost(what, exc) from None
        except IMAPClientError as exc:
            raise self._refused(what, exc) from None

    # ------------------------------------------------------------------ connection

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or tls_context(self.server.verify_tls, self.server.ca_file)

    def connect(self) -> None:
        """Connect and log in; does nothing when already connected."""
        if self.client is not None:
            return
        started = time.monotonic()
        client = self._open()
        try:
            self._login(client)
        except BaseException:
            _shutdown(client)
            raise
        self.client = client
        self._selected = None
        log.debug("connected", extra={"mailbox": self.name, "security": self.server.security,
                                      "auth": self.server.auth, "seconds": round(time.monotonic() - started, 4)})

    def _open(self) -> IMAPClient:
        s = self.server
        if s.security not in ("tls", "starttls", "plain"):
            raise SourceError(f"mailbox {self.name}: unknown security {s.security!r}", transient=False)
        if s.security == "plain" and not is_loopback(s.host):
            raise SourceError(f"mailbox {self.name}: plain IMAP to {s.host} is refused (not loopback); "
                              "use security = tls or starttls", transient=False)
        tls = s.security == "tls"
        client: IMAPClient | None = None
        try:
            client = IMAPClient(s.host, port=s.port, ssl=tls, ssl_context=self._context() if tls else None,
                                timeout=SocketTimeout(connect=s.connect_timeout, read=s.read_timeout))
            _quiet_protocol_log(client)
            client.normalise_times = False
            if s.security == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise SourceError(f"mailbox {self.name}: the server does not offer STARTTLS",
                                      transient=False)
                client.starttls(self._context())
            return client
        except SourceError:
            _shutdown(client)
            raise
        except ssl.SSLCertVerificationError as exc:
            _shutdown(client)
            reason = _short(exc.verify_message or "") or "unknown reason"
            raise SourceError(f"mailbox {self.name}: the server's certificate failed verification ({reason}); "
                              "set ca_file to trust it", transient=False) from None
        except _NETWORK_ERRORS as exc:
            _shutdown(client)
            detail = f": {_short(str(exc))}" if isinstance(exc, OSError) and str(exc) else ""
            raise SourceError(f"mailbox {self.name}: cannot connect to {s.host}:{s.port}: "
                              f"{type(exc).__name__}{detail}", transient=True) from None
        except IMAPClientError as exc:
            _shutdown(client)
            raise SourceError(f"mailbox {self.name}: the server refused the connection "
                              f"({type(exc).__name__})", transient=True) from None

    def _login(self, client: IMAPClient) -> None:
        s, m = self.server, self.mailbox
        what = f"mailbox {self.name}"
        if s.auth == "xoauth2":
            self._oauth2_login(client)
            return
        try:
            if s.auth == "master":
                password = read_secret(s.password_env, s.password_file, what=f"{what} (master user)",
                                       base=self.base_dir)
                login = f"{m.user}*{s.username}"
            else:
                own = bool(m.password_env or m.password_file)
                password = read_secret(m.password_env if own else s.password_env,
                                       m.password_file if own else s.password_file, what=what, base=self.base_dir)
                login = m.user
        except SecretError as exc:
            raise AuthError(str(exc)) from None
        try:
            client.login(login, password)
        except LoginError as exc:
            raise self._login_refused(exc, "login refused") from None
        except _NETWORK_ERRORS as exc:
            raise SourceError(f"{what}: connection lost while logging in: {type(exc).__name__}",
                              transient=True) from None
        except IMAPClientError as exc:
            raise AuthError(f"{what}: login failed ({type(exc).__name__})") from None

    def _login_refused(self, exc: IMAPClientError, what: str, *, reauthorise: bool = False) -> SourceError:
        text = _server_text(exc)
        if "[UNAVAILABLE]" in text.upper():  # the server's authentication backend is down: try later
            return SourceError(f"mailbox {self.name}: the server cannot check logins now ({text})",
                               transient=True)
        return AuthError(f"mailbox {self.name}: {what} ({text})", reauthorise=reauthorise)

    def _oauth2_login(self, client: IMAPClient) -> None:
        s, m = self.server, self.mailbox
        what = f"mailbox {self.name}"
        try:
            offered = client.has_capability("AUTH=XOAUTH2")
        except _NETWORK_ERRORS as exc:
            raise SourceError(f"{what}: connection lost before logging in: {type(exc).__name__}",
                              transient=True) from None
        if not offered:
            raise SourceError(f"{what}: the server does not offer AUTH=XOAUTH2", transient=False)
        token = self.tokens.get(s.oauth2_token_command, what=what)
        steps = 0

        def mechanism(challenge: bytes) -> bytes:
            # First the token; a refusal comes as a challenge holding a JSON error, which
            # the client must answer with an empty response to get the final NO.
            nonlocal steps
            steps += 1
            return f"user={m.user}\x01auth=Bearer {token}\x01\x01".encode() if steps == 1 else b""

        try:
            client.sasl_login("XOAUTH2", mechanism)
        except _NETWORK_ERRORS as exc:
            raise SourceError(f"{what}: connection lost while logging in: {type(exc).__name__}",
                              transient=True) from None
        except IMAPClientError as exc:
            err = self._login_refused(exc, "the OAuth2 token was refused; re-authorisation required",
                                      reauthorise=True)
            if isinstance(err, AuthError):
                self.tokens.drop(s.oauth2_token_command)
            raise err from None

    def close(self) -> None:
        """Log out and close; never raises."""
        client, self.client, self._selected = self.client, None, None
        if client is None:
            return
        try:
            with contextlib.suppress(Exception):  # a half-dead server must not hold us for read_timeout
                client.socket().settimeout(min(2.0, self.server.read_timeout))
            client.logout()
        except Exception:  # closing must never fail
            _shutdown(client)

    def _abandon(self) -> None:
        """Drop a broken connection without a LOGOUT."""
        client, self.client, self._selected = self.client, None, None
        _shutdown(client)

    def _client(self) -> IMAPClient:
        self.connect()
        assert self.client is not None
        return self.client

    # ------------------------------------------------------------------ the protocol

    def select(self, folder: str) -> FolderStatus:
        """EXAMINE the folder (read-only: no flag can change) and report its UIDVALIDITY."""
        client = self._client()
        self._selected = None  # a failed SELECT leaves no folder selected on the server either
        try:
            info = client.select_folder(folder, readonly=True)
        except _NETWORK_ERRORS as exc:
            raise self._lost(f"cannot open folder {folder!r}", exc) from None
        except IMAPClientError as exc:
            raise self._select_refused(folder, exc) from None
        uidvalidity = int(info.get(b"UIDVALIDITY", 0) or 0)
        self._selected = (folder, uidvalidity)
        self._uidvalidity[folder] = uidvalidity
        uidnext = info.get(b"UIDNEXT")
        return FolderStatus(uidvalidity=uidvalidity, exists=int(info.get(b"EXISTS", 0) or 0),
                            uidnext=int(uidnext) if uidnext is not None else None)

    def _select_refused(self, folder: str, exc: IMAPClientError) -> SourceError:
        """A refused SELECT: a missing folder (FolderError), or a server in trouble (transient)."""
        text = _server_text(exc)
        if any(code in text.upper() for code in _TRANSIENT_CODES):
            # e.g. Dovecot's [SERVERBUG] when its index changed under the session: a new one helps.
            self._abandon()
            return SourceError(f"mailbox {self.name}: folder {folder!r} cannot be opened now ({text})",
                               transient=True)
        return FolderError(f"mailbox {self.name}: folder {folder!r} cannot be opened ({text})", transient=False)

    def _ensure(self, folder: str) -> int:
        """The folder's UIDVALIDITY, selecting it first if needed (after a reconnect, say).

        Keys are UIDs under the UIDVALIDITY the caller saw: if it changed while we were
        away, reading on would hand out the wrong messages, so that is an error."""
        if self.client is not None and self._selected is not None and self._selected[0] == folder:
            return self._selected[1]
        seen = self._uidvalidity.get(folder)
        now = self.select(folder).uidvalidity
        if seen is not None and seen != now:
            raise SourceError(f"mailbox {self.name}: UIDVALIDITY of folder {folder!r} changed; "
                              "select it again", transient=True)
        return now

    def search_after(self, folder: str, last_uid: int, *, charset: str | None = None) -> list[str]:
        """UIDs above the checkpoint as sorted decimal strings (`UID SEARCH UID last+1:*`).

        The server answers `n:*` with the highest UID even when it is below n, so UIDs
        at or below last_uid are dropped: no new mail gives []."""
        self._ensure(folder)
        if last_uid >= _MAX_UID:
            return []
        criteria = [b"UID", f"{last_uid + 1}:*".encode()]  # bytes: sent as they are, whatever the charset
        uids = self._search(criteria, charset or self.search_charset)
        return [str(u) for u in sorted({int(u) for u in uids}) if u > last_uid]

    def _search(self, criteria: list[bytes], charset: str | None) -> list[int]:
        client = self._client()
        if not charset or self.charset_refused:
            return list(self._run("search failed", client.search, criteria))
        try:
            return list(client.search(criteria, charset))
        except _NETWORK_ERRORS as exc:
            raise self._lost("search failed", exc) from None
        except IMAPClientError as exc:
            if "BADCHARSET" not in str(exc).upper():
                raise self._refused("search failed", exc) from None
        # Microsoft 365 answers BADCHARSET (even to UTF-8): a search by UID needs none.
        self.charset_refused = True
        log.info("the server refused the search charset; searching without one", extra={"mailbox": self.name})
        return list(self._run("search failed", client.search, criteria))

    def fetch(self, folder: str, keys: Sequence[str]) -> Iterator[RawMessage]:
        """The messages' exact bytes (BODY.PEEK[]: \\Seen stays as it is), in UID order.

        Read in chunks of at most fetch_chunk messages and about fetch_bytes bytes (by
        RFC822.SIZE), so one huge message does not sit in memory with fifty others.
        UIDs expunged meanwhile are skipped. A failure part way raises SourceError;
        what was yielded before stays valid."""
        uids = sorted({int(k) for k in keys})
        if not uids:
            return
        uidvalidity = self._ensure(folder)
        count = 0
        for chunk in self._chunks(uids):
            if self._ensure(folder) != uidvalidity:  # only after a reconnect; _ensure raises first
                raise SourceError(f"mailbox {self.name}: UIDVALIDITY changed", transient=True)
            client = self._client()
            try:
                data = client.fetch(chunk, [b"BODY.PEEK[]", b"INTERNALDATE"])
            except _NETWORK_ERRORS as exc:
                raise self._lost("fetch failed", exc) from None
            except IMAPClientError:
                data = {}  # e.g. NO because one was expunged meanwhile: read those that still exist
            missing = [u for u in chunk if b"BODY[]" not in data.get(u, {})]
            if missing:
                data.update(self._fetch_missing(missing))
            for uid in chunk:
                item = data.get(uid)
                if item is None or b"BODY[]" not in item:
                    continue  # expunged since the search
                raw = item[b"BODY[]"]
                if raw is None:
                    log.warning("the server sent no body for a message; recording it empty",
                                extra={"mailbox": self.name, "uid": uid})
                    raw = b""
                count += 1
                yield RawMessage(self.name, folder, uidvalidity, str(uid), bytes(raw),
                                 _utc(item.get(b"INTERNALDATE")), uid=uid)
        log.debug("fetched", extra={"mailbox": self.name, "messages": count, "asked": len(uids)})

    def _fetch_missing(self, uids: list[int]) -> dict[int, dict[bytes, Any]]:
        """Bodies the server left out of a FETCH answer: skipped only if the message is really gone."""
        client = self._client()
        exists = set(self._run("fetch failed", client.search, [b"UID", ",".join(map(str, uids)).encode()]))
        still = [u for u in uids if u in exists]
        if not still:
            return {}
        again = self._run("fetch failed", client.fetch, still, [b"BODY.PEEK[]", b"INTERNALDATE"])
        lost = [u for u in still if b"BODY[]" not in again.get(u, {})]
        if lost:
            raise SourceError(f"mailbox {self.name}: the server did not return {len(lost)} message(s) "
                              "that still exist", transient=True)
        return dict(again)

    def _chunks(self, uids: list[int]) -> Iterator[list[int]]:
        chunk: list[int] = []
        total = 0
        for start in range(0, len(uids), _SIZE_WINDOW):
            window = uids[start:start + _SIZE_WINDOW]
            sizes: dict[int, Any] = {}
            if len(uids) > 1 and self.fetch_bytes:
                client = self._client()
                try:
                    sizes = dict(client.fetch(window, [b"RFC822.SIZE"]))
                except _NETWORK_ERRORS as exc:
                    raise self._lost("fetch failed", exc) from None
                except IMAPClientError:
                    sizes = {}  # refused (an expunge meanwhile?): chunk by count alone
            for uid in window:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE") or 0)
                if chunk and (len(chunk) >= self.fetch_chunk or (self.fetch_bytes and total + size > self.fetch_bytes)):
                    yield chunk
                    chunk, total = [], 0
                chunk.append(uid)
                total += size
        if chunk:
            yield chunk

    # ------------------------------------------------------------------ what later stages ask

    def supports_keywords(self, folder: str) -> bool:
        """True when the folder keeps custom keywords (PERMANENTFLAGS holds \\*); Exchange Online does not.

        Servers send the real PERMANENTFLAGS only to a read-write SELECT; that SELECT sends
        no command that could change a flag and is left at once (UNSELECT, never CLOSE,
        which would expunge). The answer is kept per folder."""
        if folder in self._keywords:
            return self._keywords[folder]
        client = self._client()
        self._selected = None
        try:
            info = client.select_folder(folder, readonly=False)
        except IMAPClientReadOnlyError:
            info = {}  # the folder is read-only for us: no keywords can be stored
        except _NETWORK_ERRORS as exc:
            raise self._lost(f"cannot open folder {folder!r}", exc) from None
        except IMAPClientError as exc:
            raise self._select_refused(folder, exc) from None
        if client.has_capability("UNSELECT"):
            self._run("cannot leave folder", client.unselect_folder)
        permanent = [bytes(f) if isinstance(f, bytes) else str(f).encode() for f in info.get(b"PERMANENTFLAGS", ())]
        self._keywords[folder] = b"\\*" in permanent
        return self._keywords[folder]

    def _list(self) -> list[tuple[tuple[bytes, ...], str]]:
        client = self._client()
        rows = self._run("cannot list folders", client.list_folders)
        return [(tuple(f.upper() if isinstance(f, bytes) else str(f).upper().encode() for f in flags), str(name))
                for flags, _delim, name in rows]

    def list_folders(self) -> list[str]:
        """Every folder that can be opened (\\Noselect ones are left out)."""
        return [name for flags, name in self._list() if b"\\NOSELECT" not in flags and b"\\NONEXISTENT" not in flags]

    def special_use(self, attribute: str) -> str | None:
        """The folder the server marks with a SPECIAL-USE attribute such as \\Drafts or \\Junk."""
        wanted = ("\\" + attribute.lstrip("\\")).upper().encode()
        for flags, name in self._list():
            if wanted in flags:
                return name
        return None

    # ------------------------------------------------------------------ writing (the actions)

    def _select_writable(self, folder: str, uidvalidity: int | None = None) -> None:
        """SELECT read-write, checking the UIDVALIDITY the caller's UIDs belong to."""
        client = self._client()
        self._selected = None
        try:
            info = client.select_folder(folder, readonly=False)
        except _NETWORK_ERRORS as exc:
            raise self._lost(f"cannot open folder {folder!r}", exc) from None
        except IMAPClientError as exc:
            raise self._select_refused(folder, exc) from None
        now = int(info.get(b"UIDVALIDITY", 0) or 0)
        if uidvalidity is not None and now != uidvalidity:
            raise FolderError(f"mailbox {self.name}: UIDVALIDITY of folder {folder!r} changed; the message's UID "
                              "no longer names it", transient=False)

    def _leave(self) -> None:
        """Leave a read-write folder without expunging (UNSELECT, never CLOSE)."""
        client = self.client
        if client is not None and client.has_capability("UNSELECT"):
            self._run("cannot leave folder", client.unselect_folder)
        self._selected = None

    def add_flags(self, folder: str, uidvalidity: int, uid: int, flags: Sequence[str]) -> bool:
        """Add flags or keywords to one message (`UID STORE +FLAGS.SILENT`): other flags, \\Seen
        included, stay as they are, and adding a flag twice changes nothing. False when the
        message is gone (expunged or moved)."""
        self._select_writable(folder, uidvalidity)
        client = self._client()
        try:
            exists = self._run("search failed", client.search, [b"UID", str(uid).encode()])
            if uid not in exists:
                return False
            self._run("cannot set flags", client.add_flags, [uid], [f.encode() for f in flags], silent=True)
            return True
        finally:
            if self.client is not None:
                self._leave()

    def copy(self, folder: str, uidvalidity: int, uid: int, target: str) -> bool:
        """Copy one message into another folder (created when missing). False when it is gone."""
        self.ensure_folder(target)
        self._select_writable(folder, uidvalidity)
        client = self._client()
        try:
            if uid not in self._run("search failed", client.search, [b"UID", str(uid).encode()]):
                return False
            self._run(f"cannot copy to {target!r}", client.copy, [uid], target)
            return True
        finally:
            if self.client is not None:
                self._leave()

    def ensure_folder(self, name: str) -> None:
        if name in self.list_folders():
            return
        client = self._client()
        try:
            client.create_folder(name)
        except _NETWORK_ERRORS as exc:
            raise self._lost(f"cannot create folder {name!r}", exc) from None
        except IMAPClientError as exc:
            if name not in self.list_folders():  # created meanwhile by someone else: fine
                raise FolderError(f"mailbox {self.name}: folder {name!r} cannot be created "
                                  f"({_server_text(exc)})", transient=False) from None
        with contextlib.suppress(IMAPClientError):
            client.subscribe_folder(name)  # so that mail clients show it

    def find_header(self, folder: str, header: str, value: str) -> list[int]:
        """UIDs in `folder` whose `header` holds `value` (`UID SEARCH HEADER`): how a retried APPEND
        finds the copy an earlier try left behind."""
        self._ensure(folder)
        client = self._client()
        found = self._run("search failed", client.search, [b"HEADER", header.encode(), value.encode()])
        return sorted(int(u) for u in found)

    def append(self, folder: str, raw: bytes, flags: Sequence[str] = ()) -> None:
        """APPEND a message (a draft, a note) to a folder, created when missing."""
        self.ensure_folder(folder)
        client = self._client()
        self._run(f"cannot append to {folder!r}", client.append, folder, raw, [f.encode() for f in flags])

    def noop(self) -> None:
        """Keep the connection alive (and let the server report new mail)."""
        client = self._client()
        self._run("connection lost", client.noop)


# --------------------------------------------------------------------------- helpers


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _server_text(exc: BaseException) -> str:
    """The server's reply text in a refusal, without imaplib's b'...' wrapping."""
    arg = exc.args[0] if exc.args else ""
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    found = re.fullmatch(r"""b(['"])(.*)\1""", text, flags=re.S)
    return _short(found.group(2) if found else text)


def _short(text: str, limit: int = 160) -> str:
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quiet_protocol_log(client: IMAPClient) -> None:
    """imapclient logs every protocol line at DEBUG (message content included); turn that off."""
    with contextlib.suppress(Exception):
        client._imap.debug = 0  # imaplib's own switch: nothing public turns it off


def _shutdown(client: IMAPClient | None) -> None:
    if client is not None:
        with contextlib.suppress(Exception):
            client.shutdown()
