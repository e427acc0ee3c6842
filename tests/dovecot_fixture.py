"""A real, throwaway Dovecot for tests (and the benchmark), never the system's.

It runs with its own config and folders under a temporary directory, on free
loopback ports: one plain/STARTTLS port and one implicit-TLS port with a
self-signed certificate for 127.0.0.1. Users come from a passwd-file; a master
user allows `user*master` logins. Mail is delivered by writing Maildir files
directly (Dovecot indexes them far faster than IMAP APPEND).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import ipaddress
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["DOVECOT_BIN", "USER_PASSWORD", "Dovecot", "DroppingProxy", "dovecot", "imap_user"]

DOVECOT_BIN = "/usr/sbin/dovecot"
SYSTEM_USER = "triagetest"
MASTER_USER = "triagemaster"
MASTER_PASSWORD = "master-secret"
USER_PASSWORD = "user-secret"
_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_system_user() -> tuple[int, int]:
    try:
        pw = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                       check=True, capture_output=True)
        pw = pwd.getpwnam(SYSTEM_USER)
    return pw.pw_uid, pw.pw_gid


def _certificate(folder: Path) -> tuple[Path, Path]:
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


class Dovecot:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="triage-dovecot-"))
        self.port = _free_port()
        self.tls_port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.users: dict[str, str] = {}
        self.uid, self.gid = 0, 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Dovecot:
        self.uid, self.gid = _ensure_system_user()
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        os.chmod(self.root / "run", 0o755)
        os.chown(self.root / "mail", self.uid, self.gid)
        self.cert, key = _certificate(self.root)
        (self.root / "masters").write_text(f"{MASTER_USER}:{{PLAIN}}{MASTER_PASSWORD}\n")
        (self.root / "dovecot.conf").write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
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
  args = {self.root}/masters
  master = yes
  pass = yes
}}
passdb {{
  driver = static
  args = password={USER_PASSWORD}
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
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        self.start_again()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start_again()

    def start_again(self) -> None:
        """Start the server process on the config already written (after stop(): a restart)."""
        with open(self.root / "stdout.log", "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([DOVECOT_BIN, "-F", "-c", str(self.root / "dovecot.conf")], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                logs = [(self.root / n) for n in ("stdout.log", "dovecot.log")]
                raise RuntimeError("dovecot exited: " + " ".join(p.read_text()[-2000:] for p in logs if p.exists()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start listening within 10 s")

    # ------------------------------------------------------------------ users and mail

    def add_user(self, name: str) -> str:
        """A mailbox for `name`; every user's password is USER_PASSWORD (a static passdb: Dovecot
        would re-read a passwd-file only when its mtime moves on by a whole second)."""
        self.users[name] = USER_PASSWORD
        self.create_folder(name, "INBOX")
        return USER_PASSWORD

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        base = self.root / "mail" / user / "Maildir"
        return base if folder.upper() == "INBOX" else base / f".{folder.replace('/', '.')}"

    def create_folder(self, user: str, folder: str) -> Path:
        path = self.maildir(user, folder)
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        for p in (self.root / "mail" / user, self.root / "mail" / user / "Maildir", path,
                  path / "cur", path / "new", path / "tmp"):
            os.chown(p, self.uid, self.gid)
        if folder.upper() != "INBOX":
            subs = self.maildir(user) / "subscriptions"
            lines = set(subs.read_text().split()) if subs.exists() else set()
            lines.add(folder)
            subs.write_text("\n".join(sorted(lines)) + "\n")
            os.chown(subs, self.uid, self.gid)
        return path

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX", flags: str = "") -> str:
        """Write one message into the user's Maildir; flags like "S" or "FS" put it in cur/."""
        path = self.maildir(user, folder)
        if not path.exists():
            self.create_folder(user, folder)
        n = next(_counter)
        name = f"{int(time.time())}.M{n}P{os.getpid()}.triagetest,S={len(raw)}"
        target = path / ("cur" if flags else "new") / (f"{name}:2,{flags}" if flags else name)
        tmp = path / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, target)
        return name

    def imap(self, user: str) -> imaplib.IMAP4:
        """A plain stdlib client logged in as user (for checks that must not use the code under test)."""
        c = imaplib.IMAP4("127.0.0.1", self.port)
        c.login(user, self.users[user])
        return c

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        c = self.imap(user)
        try:
            c.append(folder, f"({flags})" if flags else None, None, raw)
        finally:
            c.logout()

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, tuple[str, ...]]:
        """Every message's flags, read with EXAMINE so reading them changes nothing."""
        c = self.imap(user)
        try:
            c.select(f'"{folder}"', readonly=True)
            _typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
            out: dict[int, tuple[str, ...]] = {}
            for line in data:
                if not line:
                    continue
                text = line.decode() if isinstance(line, bytes) else str(line)
                uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
                flags = text.split("FLAGS (", 1)[1].split(")", 1)[0].split()
                out[uid] = tuple(sorted(flags))
            return out
        finally:
            c.logout()

    def reset_uidvalidity(self, user: str, folder: str = "INBOX") -> None:
        """Make Dovecot give the folder a new UIDVALIDITY, with the same messages and new UIDs."""
        path = self.maildir(user, folder)
        time.sleep(1.1)  # UIDVALIDITY is a time in seconds: make sure the new one differs
        for p in path.iterdir():
            if p.name.startswith("dovecot-uidlist") or p.name.startswith("dovecot.index"):
                p.unlink()
        # Strip the UIDs Dovecot may have written into the file names, as a restore from backup would.
        for sub in ("cur", "new"):
            for f in (path / sub).iterdir():
                if ",U=" in f.name:
                    f.rename(f.with_name(f.name.split(",U=")[0]))


class DroppingProxy:
    """A loopback TCP proxy that cuts the connection after `limit` bytes from server to client."""

    def __init__(self, target_port: int, limit: int) -> None:
        self.target_port = target_port
        self.limit = limit
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.drops = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, self.limit), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: max(0, limit - sent)])
                    self.drops += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def _available() -> bool:
    return Path(DOVECOT_BIN).exists() and os.geteuid() == 0 and shutil.which("useradd") is not None


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if not _available():
        why = ("Dovecot is not installed (Debian package dovecot-imapd; `make test` installs it as root)"
               if not Path(DOVECOT_BIN).exists() else "the Dovecot fixture needs root to create its mail user")
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}; CI=true, so this is a failure, not a skip")
        pytest.skip(why)
    server = Dovecot().start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> str:
    """A fresh mailbox user for one test (password USER_PASSWORD)."""
    name = f"user{next(_counter)}"
    dovecot.add_user(name)
    return name
