"""A real, throwaway Dovecot for tests (and the benchmark), never the system's.

It runs with its own config and every folder (base_dir, state, log, mail) under a
temporary directory, as an unprivileged system user, on free loopback ports: one
plain/STARTTLS port and one implicit-TLS port, with a self-signed certificate for
127.0.0.1 made at start. Users come from passwd-files (one per user, so a user
added at any time is seen at once); a master user allows `user*master` logins;
XOAUTH2 tokens are JWTs signed HS256 with a key Dovecot reads from a dict file, so
OAuth2 is validated locally with no network. Mail is delivered by writing Maildir
files directly (Dovecot indexes them far faster than IMAP APPEND).

    from dovecot_fixture import *   # in conftest.py: the fixtures below

    def test_x(dovecot, imap_user):       # session server, a fresh user per test
        dovecot.deliver(imap_user, raw, flags=("\\Seen",))
        ... ImapSource(... port=dovecot.port ...)
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from imapclient import IMAPClient

__all__ = [
    "DOVECOT_BIN",
    "MASTER_PASSWORD",
    "MASTER_USER",
    "USER_PASSWORD",
    "Dovecot",
    "DroppingProxy",
    "dovecot",
    "dropping_proxy",
    "imap_user",
]

DOVECOT_BIN = "/usr/sbin/dovecot"
DEBIAN_PACKAGE = "dovecot-imapd"
SYSTEM_USER = "triagetest"
MASTER_USER = "triagemaster"
MASTER_PASSWORD = "master-secret"
USER_PASSWORD = "user-secret"
OAUTH2_KEY = b"triage-test-hs256-key-0123456789abcdef"

# Maildir info letters for the IMAP system flags (the letters must be in ASCII order).
_FLAG_LETTERS = {"\\draft": "D", "\\flagged": "F", "\\answered": "R", "\\seen": "S", "\\deleted": "T"}
_LETTER_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_system_user() -> tuple[int, int]:
    """The unprivileged user Dovecot serves mail as (it refuses root); created once."""
    try:
        pw = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                               SYSTEM_USER], capture_output=True, text=True, check=False)
        if done.returncode not in (0, 9):  # 9: created meanwhile by another process
            raise RuntimeError(f"useradd {SYSTEM_USER} failed: {done.stderr.strip()}") from None
        pw = pwd.getpwnam(SYSTEM_USER)
    return pw.pw_uid, pw.pw_gid


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for IP 127.0.0.1 and DNS localhost; it is its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def _fast_tmp() -> str | None:
    """/dev/shm when it is a roomy tmpfs: creating mail files there is several times faster."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return None
    roomy = st.f_bavail * st.f_frsize > 2 * 1024**3
    return "/dev/shm" if roomy and os.access("/dev/shm", os.W_OK | os.X_OK) else None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, object], key: bytes = OAUTH2_KEY) -> str:
    """A compact JWT signed HS256 (what Dovecot's local oauth2 validation checks)."""
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64url(signature)}"


def _maildir_info(flags: str | Iterable[str], keyword_letter: Callable[[str], str]) -> str:
    """Maildir info letters for flags given as letters ("FS") or IMAP flags (("\\Seen", "$Label1"))."""
    if isinstance(flags, str):
        return "".join(sorted(set(flags)))
    letters = set()
    for flag in flags:
        if flag.lower() == "\\recent":
            continue
        letter = _FLAG_LETTERS.get(flag.lower())
        letters.add(letter if letter else keyword_letter(flag))
    return "".join(sorted(letters))


def _session(sock: socket.socket) -> None:
    with sock.makefile("rb") as lines:
        if not lines.readline().startswith(b"* OK"):
            raise ConnectionError("no IMAP greeting")
        sock.sendall(b"r LOGOUT\r\n")
        for line in lines:
            if line.startswith(b"r "):
                return
    raise ConnectionError("no answer to LOGOUT")


class Dovecot:
    """One Dovecot process with its own config, users and mail under `root`."""

    host = "127.0.0.1"
    master_user = MASTER_USER
    master_password = MASTER_PASSWORD

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="triage-dovecot-", dir=_fast_tmp()))
        self.port = _free_port()  # plain and STARTTLS
        self.tls_port = _free_port()  # implicit TLS
        self.proc: subprocess.Popen[bytes] | None = None
        self.users: dict[str, str] = {}
        self.uid, self.gid = 0, 0
        self.cert = self.root / "cert.pem"
        self.oauth2_key = OAUTH2_KEY
        self._lock = threading.Lock()

    @property
    def ca_file(self) -> str:
        """The certificate to trust (pass it as a server's ca_file)."""
        return str(self.cert)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Dovecot:
        self.uid, self.gid = _ensure_system_user()
        for sub in ("run", "state", "mail", "users", "oauth2-keys/default/HS256"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for p in (self.root, self.root / "run", self.root / "users", self.root / "oauth2-keys",
                  self.root / "oauth2-keys/default", self.root / "oauth2-keys/default/HS256"):
            os.chmod(p, 0o755)  # base_dir must be world-readable; the mail user must reach the rest
        os.chown(self.root / "mail", self.uid, self.gid)
        self.cert, key = _certificate(self.root)
        (self.root / "masters").write_text(f"{MASTER_USER}:{{PLAIN}}{MASTER_PASSWORD}\n")
        os.chmod(self.root / "masters", 0o644)
        # Dovecot's local JWT validation looks up /shared/<azp>/<alg>/<kid> (defaults: "default").
        keyfile = self.root / "oauth2-keys/default/HS256/default"
        keyfile.write_text(base64.b64encode(self.oauth2_key).decode())
        os.chmod(keyfile, 0o644)
        (self.root / "oauth2.conf.ext").write_text(f"""
introspection_mode = local
local_validation_key_dict = fs:posix:prefix={self.root}/oauth2-keys/
username_attribute = sub
username_format = %u
""")
        (self.root / "dovecot.conf").write_text(self._config(key))
        self.start_again()
        return self

    def _config(self, key: Path) -> str:
        return f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_master_user_separator = *
auth_failure_delay = 0
auth_verbose = yes
default_internal_user = {SYSTEM_USER}
default_internal_group = {SYSTEM_USER}
default_login_user = {SYSTEM_USER}
first_valid_uid = {min(self.uid, 100)}
first_valid_gid = {min(self.gid, 100)}
mail_uid = {SYSTEM_USER}
mail_gid = {SYSTEM_USER}
mail_location = maildir:{self.root}/mail/%u/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.root}/masters
  master = yes
  pass = yes
}}
# One passwd-file per user: a file Dovecot has never read is read at once, while one
# shared file would be re-read at most once a second.
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN {self.root}/users/%u
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {self.root}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={SYSTEM_USER} gid={SYSTEM_USER} home={self.root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
# No auth penalty: anvil would otherwise delay each login from 127.0.0.1 by up to 15 s
# after a refused one (the documented way to turn it off is this listener's mode 0).
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""

    def start_again(self) -> None:
        """Start the process on the config already written (after stop(): a restart)."""
        # Output goes to a file: Dovecot's children would otherwise hold the caller's pipe open.
        with open(self.root / "stdout.log", "ab") as out:
            self.proc = subprocess.Popen([DOVECOT_BIN, "-F", "-c", str(self.root / "dovecot.conf")], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with status {self.proc.returncode}: {self.log_tail()}")
            if self._ready():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"dovecot did not listen within 10 s: {self.log_tail()}")

    def _ready(self) -> bool:
        """Both ports answer: a whole session (greeting, LOGOUT) on each, so no login process
        is left waiting for a client that went away (that slows a stop down by seconds)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as plain:
                _session(plain)
            ctx = ssl.create_default_context(cafile=self.ca_file)
            with socket.create_connection(("127.0.0.1", self.tls_port), timeout=2) as raw, \
                    ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                _session(tls)
        except (OSError, ConnectionError):
            return False
        return True

    def stop(self) -> None:
        """Stop the whole process group (the master and every child)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            # A master stopped just after it started can take 6 s to wind down: not waited for.
            proc.wait(timeout=1)
        # Whatever is left (that master, an imap process busy on a long command) goes with the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start_again()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, chars: int = 3000) -> str:
        """The end of Dovecot's own log and its output (for failure messages)."""
        parts = []
        for name in ("stdout.log", "dovecot.log"):
            p = self.root / name
            if p.exists():
                parts.append(p.read_text(errors="replace")[-chars:])
        return "\n".join(parts)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # ------------------------------------------------------------------ users

    def add_user(self, name: str, password: str = USER_PASSWORD) -> str:
        """Create (or re-password) a user with an empty INBOX; returns the password.

        A new user is seen at once. Dovecot re-reads a changed passwd-file at most once a
        second, so a new password for an existing user may take up to a second to apply.
        """
        if not re.fullmatch(r"[A-Za-z0-9._@+-]+", name) or name.startswith("."):
            raise ValueError(f"unusable test user name {name!r}")
        if ":" in password or "\n" in password:
            raise ValueError("a passwd-file password cannot hold ':' or a newline")
        path = self.root / "users" / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(f"{name}:{{PLAIN}}{password}\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        self.users[name] = password
        self.create_folder(name, "INBOX")
        return password

    def oauth2_token(self, user: str, *, lifetime: int = 3600, key: bytes | None = None,
                     **claims: object) -> str:
        """An access token Dovecot accepts for `user` over XOAUTH2 (pass key= to make one it refuses)."""
        now = int(time.time())
        body: dict[str, object] = {"sub": user, "iat": now, "nbf": now - 5, "exp": now + lifetime, **claims}
        return make_jwt(body, self.oauth2_key if key is None else key)

    # ------------------------------------------------------------------ folders and mail (Maildir, fast)

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        base = self.root / "mail" / user / "Maildir"
        return base if folder.upper() == "INBOX" else base / f".{folder.replace('/', '.')}"

    def create_folder(self, user: str, name: str) -> Path:
        """Create a folder (idempotent) and subscribe to it; returns its Maildir path."""
        path = self.maildir(user, name)
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        for p in (self.root / "mail" / user, self.root / "mail" / user / "Maildir", path,
                  path / "cur", path / "new", path / "tmp"):
            os.chown(p, self.uid, self.gid)
        if name.upper() != "INBOX":
            (path / "maildirfolder").touch()
            os.chown(path / "maildirfolder", self.uid, self.gid)
            subs = self.maildir(user) / "subscriptions"
            with self._lock:
                lines = set(subs.read_text().split("\n")) - {""} if subs.exists() else set()
                if name not in lines:
                    lines.add(name)
                    subs.write_text("\n".join(sorted(lines)) + "\n")
                    os.chown(subs, self.uid, self.gid)
        return path

    def _keyword_letter(self, path: Path, keyword: str) -> str:
        """The Maildir letter of a keyword, added to the folder's dovecot-keywords if new."""
        kwfile = path / "dovecot-keywords"
        with self._lock:
            known: dict[str, int] = {}
            if kwfile.exists():
                for line in kwfile.read_text().splitlines():
                    index, _, word = line.partition(" ")
                    if index.isdigit() and word:
                        known[word] = int(index)
            if keyword not in known:
                if len(known) >= 26:
                    raise ValueError("a Maildir folder holds at most 26 keywords")
                known[keyword] = max(known.values(), default=-1) + 1
                tmp = path / "tmp" / f"keywords.{os.getpid()}.{next(_counter)}"
                tmp.write_text("".join(f"{i} {w}\n" for w, i in sorted(known.items(), key=lambda x: x[1])))
                os.chown(tmp, self.uid, self.gid)
                os.replace(tmp, kwfile)
            return chr(ord("a") + known[keyword])

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX", flags: str | Iterable[str] = ()) -> str:
        """Write one message straight into the user's Maildir; returns its file's base name.

        flags: IMAP flags such as ("\\Seen", "\\Flagged", "$Label1") or Maildir letters
        such as "FS". Unflagged mail goes to new/, flagged mail to cur/ with `:2,<letters>`.
        """
        path = self.maildir(user, folder)
        if not (path / "tmp").exists():
            self.create_folder(user, folder)
        info = _maildir_info(flags, lambda kw: self._keyword_letter(path, kw))
        name = f"{int(time.time())}.M{next(_counter)}P{os.getpid()}.triagetest,S={len(raw)}"
        # Root owns the file (mode 0644): Dovecot only needs to read it and to rename it
        # inside folders it owns; skipping chown makes delivery several times faster.
        tmp = f"{path}/tmp/{name}"
        with open(tmp, "xb") as f:
            f.write(raw)
            os.fchmod(f.fileno(), 0o644)  # whatever the umask
        os.rename(tmp, f"{path}/{'cur' if info else 'new'}/{name}:2,{info}" if info else f"{path}/new/{name}")
        return name

    # ------------------------------------------------------------------ over IMAP (slower, exact)

    def client(self, user: str, *, port: int | None = None) -> IMAPClient:
        """An imapclient connection logged in as `user` over the plain port (close it with logout())."""
        from imapclient import IMAPClient

        c = IMAPClient(self.host, port=port or self.port, ssl=False, timeout=10)
        c.normalise_times = False
        c.login(user, self.users[user])
        return c

    def imap(self, user: str) -> IMAPClient:  # the older name
        return self.client(user)

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags: Iterable[str] | str = ()) -> int | None:
        """IMAP APPEND (about 600 msg/s); returns the new UID when the server says (UIDPLUS)."""
        if isinstance(flags, str):
            flags = [_LETTER_FLAGS[c] for c in flags]
        c = self.client(user)
        try:
            if folder.upper() != "INBOX" and not c.folder_exists(folder):
                c.create_folder(folder)
            answer = c.append(folder, raw, flags=tuple(flags))
        finally:
            c.logout()
        found = re.search(rb"\[APPENDUID \d+ (\d+)\]", answer if isinstance(answer, bytes) else b"")
        return int(found.group(1)) if found else None

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, tuple[str, ...]]:
        """Every message's flags by UID, read after EXAMINE (read-only: reading changes nothing).

        \\Recent is left out: it belongs to a session, not to the message."""
        c = self.client(user)
        try:
            c.select_folder(folder, readonly=True)
            uids = c.search("ALL")
            data = c.fetch(uids, ["FLAGS"]) if uids else {}
        finally:
            c.logout()
        out: dict[int, tuple[str, ...]] = {}
        for uid, item in data.items():
            names = [f.decode() if isinstance(f, bytes) else str(f) for f in item.get(b"FLAGS", ())]
            out[uid] = tuple(sorted(f for f in names if f.lower() != "\\recent"))
        return dict(sorted(out.items()))

    def status(self, user: str, folder: str = "INBOX") -> dict[str, int]:
        """UIDVALIDITY, UIDNEXT and MESSAGES of a folder, read with EXAMINE (changes nothing).

        EXAMINE rather than STATUS: STATUS may answer from Dovecot's list index without
        looking at the Maildir, and so miss a UIDVALIDITY reset."""
        c = self.client(user)
        try:
            info = c.select_folder(folder, readonly=True)
        finally:
            c.logout()
        return {"uidvalidity": int(info[b"UIDVALIDITY"]), "uidnext": int(info[b"UIDNEXT"]),
                "messages": int(info[b"EXISTS"])}

    def reset_uidvalidity(self, user: str, folder: str = "INBOX", *, first_uid: int = 1) -> int:
        """Give the folder a new UIDVALIDITY (the old one + 1) and the same messages new UIDs
        from `first_uid` up; returns the new UIDVALIDITY.

        As a restore from backup or a rebuilt server would. The folder's dovecot-uidlist is
        replaced by a bare header with the new UIDVALIDITY; Dovecot notices on its next look
        (logging "UIDVALIDITY changed"), rebuilds its index and numbers the files again.
        Sessions that have the folder open see the change when they select it again.
        (Deleting the index files instead breaks such sessions with "Internal error".)
        """
        path = self.maildir(user, folder)
        before = self._uidvalidity_on_disk(path) or self.status(user, folder)["uidvalidity"]
        for sub in ("cur", "new"):  # UIDs some tools write into file names
            for f in (path / sub).iterdir():
                if ",U=" in f.name:
                    f.rename(f.with_name(re.sub(r",U=\d+", "", f.name)))
        new = before + 1
        tmp = path / "tmp" / f"uidlist.{os.getpid()}.{next(_counter)}"
        tmp.write_text(f"3 V{new} N{first_uid} G{uuid.uuid4().hex}\n")
        os.chown(tmp, self.uid, self.gid)
        os.replace(tmp, path / "dovecot-uidlist")
        after = self.status(user, folder)["uidvalidity"]
        if after != new:
            raise RuntimeError(f"UIDVALIDITY of {user}/{folder} is {after}, not the {new} written")
        return after

    @staticmethod
    def _uidvalidity_on_disk(path: Path) -> int | None:
        uidlist = path / "dovecot-uidlist"
        if not uidlist.exists():
            return None
        found = re.search(r"\bV(\d+)", uidlist.read_text(errors="replace").split("\n", 1)[0])
        return int(found.group(1)) if found else None


class DroppingProxy:
    """A loopback TCP proxy that cuts a connection part way, as a failing server would.

    Each connection through it is cut (both sides closed) after `limit` bytes went
    from server to client, or after the server sent `after_fetches` complete FETCH
    responses carrying message bodies (`* n FETCH (... BODY[] {size}...)`); the cut
    falls just before the next one. `connections` limits how many connections are
    cut (None: all); later ones pass untouched. `drops` counts the cuts.
    """

    def __init__(self, target_port: int, limit: int | None = None, *, after_fetches: int | None = None,
                 connections: int | None = None, host: str = "127.0.0.1") -> None:
        if limit is None and after_fetches is None:
            raise ValueError("give limit (bytes) or after_fetches")
        self.target = (host, target_port)
        self.limit = limit
        self.after_fetches = after_fetches
        self.connections = connections
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.drops = 0
        self.accepted = 0
        self.refusing = False  # down(): new connections are closed at once, open ones cut
        self._stop = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="dropping-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if self.refusing:  # the server is "down": connections are closed at once
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.accepted += 1
                cut = self.connections is None or self.accepted <= self.connections
                self._open.update((client, server))
            pair = (client, server)
            threading.Thread(target=self._pipe, args=(client, server, None, pair), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, _Cutter(self.limit, self.after_fetches)
                                                      if cut else None, pair), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, cutter: _Cutter | None,
              pair: tuple[socket.socket, socket.socket]) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if cutter is not None:
                    keep = cutter.feed(data)
                    if keep is not None:
                        dst.sendall(data[:keep])
                        with self._lock:
                            self.drops += 1
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
                with self._lock:
                    self._open.discard(s)

    def cut(self) -> None:
        """Cut every open connection now (the listener stays: new connections pass as before)."""
        with self._lock:
            left = list(self._open)
            self.drops += len(left) // 2
        for s in left:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        """The server becomes unreachable: open connections are cut and new ones closed at once."""
        self.refusing = True
        self.cut()

    def up(self) -> None:
        self.refusing = False

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.sock.close()
        with self._lock:
            left = list(self._open)
        for s in left:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def __enter__(self) -> DroppingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Cutter:
    """Follows the server's byte stream; says where to cut it (feed returns bytes to keep, or None)."""

    _LITERAL = re.compile(rb"\{(\d+)\}\r\n$")
    _FETCH = re.compile(rb"^\* \d+ FETCH ")

    def __init__(self, limit: int | None, after_fetches: int | None) -> None:
        self.limit = limit
        self.after_fetches = after_fetches
        self.sent = 0
        self.fetches = 0
        self.line = b""  # the current response line so far (without literal data)
        self.literal = 0  # literal bytes still to skip
        self.has_body = False

    def feed(self, data: bytes) -> int | None:
        if self.limit is not None and self.sent + len(data) > self.limit:
            return max(0, self.limit - self.sent)
        if self.after_fetches is not None:
            i = 0
            while i < len(data):
                if self.literal:
                    take = min(self.literal, len(data) - i)
                    self.literal -= take
                    i += take
                    continue
                if not self.line and self.fetches >= self.after_fetches and data[i:i + 1] == b"*":
                    return i  # cut before the next response begins
                end = data.find(b"\n", i)
                if end < 0:
                    self.line += data[i:]
                    break
                self.line += data[i:end + 1]
                i = end + 1
                found = self._LITERAL.search(self.line)
                if self._FETCH.match(self.line) and b"BODY[" in self.line:
                    self.has_body = True
                if found:
                    self.literal = int(found.group(1))
                    self.line = self.line[: found.start()]  # keep the head, drop the marker
                    continue
                if self.has_body:
                    self.fetches += 1
                self.line, self.has_body = b"", False
        self.sent += len(data)
        return None


def _skip_or_fail(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}; CI=true, so this is a failure, not a skip")
    pytest.skip(why)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot for the whole session on free loopback ports; stopped (process group) at the end."""
    if not Path(DOVECOT_BIN).exists():
        _skip_or_fail(f"{DOVECOT_BIN} is missing: install the Debian package {DEBIAN_PACKAGE} "
                      f"(apt-get install -y {DEBIAN_PACKAGE})")
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        _skip_or_fail("the Dovecot fixture runs as root: it creates the unprivileged mail user "
                      f"{SYSTEM_USER} and serves mail as that user")
    server = Dovecot()
    try:
        server.start()
    except BaseException:
        server.cleanup()
        raise
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def imap_user(dovecot: Dovecot) -> str:
    """A fresh user with an empty INBOX for one test (password USER_PASSWORD: dovecot.users[name])."""
    name = f"user{next(_counter)}-{os.getpid()}"
    dovecot.add_user(name)
    return name


@pytest.fixture
def dropping_proxy(dovecot: Dovecot) -> Iterator[Callable[..., DroppingProxy]]:
    """A factory for DroppingProxy objects in front of the plain port, all closed after the test."""
    made: list[DroppingProxy] = []

    def make(limit: int | None = None, **kw: object) -> DroppingProxy:
        proxy = DroppingProxy(dovecot.port, limit, **kw)  # type: ignore[arg-type]
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()
