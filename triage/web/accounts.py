"""Local accounts of the review pages, their sign-in and their sessions.

- Passwords are Argon2id hashes (argon2-cffi's defaults); a hash made with weaker parameters is
  upgraded at the next sign-in.
- Failed sign-ins are counted per account: after `LOCK_AFTER` in a row the account is locked for
  30 s, doubling with each further failure up to 15 minutes, and a right password does not open it
  before then (guessing slows to a crawl; the owner waits minutes at worst).
- Sessions are kept server-side (`web_sessions`): the cookie holds a random token and the table
  only its SHA-256, so signing out, disabling an account or a leaked backup ends or exposes nothing
  live. Each has its own CSRF token. Idle and absolute limits come from `[web]`, measured with
  `triage.clock`.

Each function takes a Session; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from triage.clock import now
from triage.config import Config, WebConfig
from triage.errors import TriageError
from triage.store.ledger import audit
from triage.store.models import ClinicianAddress, User, WebSession

ROLES = ("clinician", "supervisor", "administrator")
MIN_PASSWORD = 12
LOCK_AFTER = 5  # failures in a row before the account is locked for a while
LOCK_FIRST_SECONDS = 30
LOCK_MAX_SECONDS = 15 * 60
_TOUCH_EVERY = timedelta(seconds=15)  # a session's last use is written at most this often

_hasher = PasswordHasher()


class AccountError(TriageError):
    """A user cannot be added or changed as asked."""


@dataclass(frozen=True)
class Account:
    """The signed-in user, detached from the database session."""

    id: int
    email: str
    name: str
    role: str
    program: str
    time_zone: str

    @property
    def label(self) -> str:
        return self.name or self.email


@dataclass(frozen=True)
class SignIn:
    account: Account | None  # None: refused
    reason: str = ""  # "" | "wrong" | "locked"
    wait_seconds: int = 0  # while locked


def account(user: User) -> Account:
    return Account(user.id, user.email, user.name, user.role, user.program_id or "", user.time_zone)


# --------------------------------------------------------------------------- passwords


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if password.strip() != password:
        raise AccountError("a password may not start or end with a space")


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# --------------------------------------------------------------------------- users


def normalise(email: str) -> str:
    return email.strip().lower()


def find(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise(email)))


def add_user(session: Session, config: Config, email: str, role: str, *, password: str = "", name: str = "",
             program: str | None = None, time_zone: str = "", who: str = "cli") -> User:
    """Add an account. A clinician's email must reach a configured clinician (so their mailboxes
    are found); a supervisor needs a configured program. An empty password makes an account that
    signs in only through the trusted proxy."""
    email = normalise(email)
    if "@" not in email or " " in email:
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if find(session, email) is not None:
        raise AccountError(f"a user {email} already exists")
    programs = {p.id for p in config.programs}
    if role == "clinician":
        addresses = {a for c in config.clinicians for a in c.addresses}
        known = session.scalar(select(ClinicianAddress.address).where(ClinicianAddress.address == email))
        if email not in addresses and known is None:
            raise AccountError(f"{email} is no configured clinician's address ([[clinicians]] email or aliases)")
        clinician = next((c for c in config.clinicians if email in c.addresses), None)
        program = program or (clinician.program if clinician else None)
        name = name or (clinician.name if clinician else "")
    if role == "supervisor" and not program:
        raise AccountError("a supervisor needs --program (the program whose items they review)")
    if program and program not in programs:
        raise AccountError(f"unknown program {program!r}; expected one of {', '.join(sorted(programs)) or '(none)'}")
    if role == "administrator":
        program = program or None
    if time_zone:
        check_zone(time_zone)
    user = User(email=email, name=name.strip(), role=role, program_id=program, time_zone=time_zone,
                password_hash=hash_password(password) if password else "", disabled=False, failed_logins=0,
                created_at=now())
    session.add(user)
    session.flush()
    audit(session, "user_added", actor=who, user_id=user.id, role=role, program=program or "")
    return user


def check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise AccountError(f"{zone!r} is not a time zone such as America/Los_Angeles") from None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.email)))


def set_disabled(session: Session, email: str, disabled: bool, *, who: str = "cli") -> User:
    """Disable (or enable) an account; disabling ends its sessions at once."""
    user = _user(session, email)
    user.disabled = disabled
    if disabled:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit(session, "user_disabled" if disabled else "user_enabled", actor=who, user_id=user.id)
    return user


def set_password(session: Session, email: str, password: str, *, who: str = "cli") -> User:
    """A new password; it unlocks the account and ends its sessions."""
    user = _user(session, email)
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit(session, "user_password_set", actor=who, user_id=user.id)
    return user


def set_time_zone(session: Session, user_id: int, zone: str) -> None:
    if zone:
        check_zone(zone)
    user = session.get(User, user_id)
    if user is not None:
        user.time_zone = zone


def _user(session: Session, email: str) -> User:
    user = find(session, email)
    if user is None:
        raise AccountError(f"no user {normalise(email)}")
    return user


# --------------------------------------------------------------------------- sign-in


def lock_seconds(failures: int) -> int:
    """How long the account stays locked after this many failures in a row (0: not locked)."""
    if failures < LOCK_AFTER:
        return 0
    return min(LOCK_FIRST_SECONDS * 2 ** (failures - LOCK_AFTER), LOCK_MAX_SECONDS)


def sign_in(session: Session, email: str, password: str) -> SignIn:
    """Check a password. Unknown, disabled and proxy-only accounts cost the same hash as a real one
    and get the same answer, so the form does not tell which accounts exist."""
    user = find(session, email)
    t = now()
    if user is None or user.disabled or not user.password_hash:
        _verify(_dummy_hash(), password)
        audit(session, "web_login_failed", actor="web", user_id=user.id if user else None,
              reason="disabled" if user and user.disabled else "unknown")
        return SignIn(None, "wrong")
    if user.locked_until is not None and user.locked_until > t:
        wait = int((user.locked_until - t).total_seconds()) + 1
        audit(session, "web_login_failed", actor=user.email, user_id=user.id, reason="locked")
        return SignIn(None, "locked", wait)
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        seconds = lock_seconds(user.failed_logins)
        user.locked_until = t + timedelta(seconds=seconds) if seconds else None
        audit(session, "web_login_failed", actor=user.email, user_id=user.id, reason="password",
              failures=user.failed_logins, locked_seconds=seconds)
        return SignIn(None, "locked", seconds) if seconds else SignIn(None, "wrong")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, t
    return SignIn(account(user))


# --------------------------------------------------------------------------- sessions


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user_id: int, *, via: str = "password") -> tuple[str, str]:
    """A new session; returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    t = now()
    session.add(WebSession(token_hash=_token_hash(token), user_id=user_id, csrf_token=csrf, via=via,
                           created_at=t, last_seen_at=t))
    user = session.get(User, user_id)
    audit(session, "web_login", actor=user.email if user else "web", user_id=user_id, via=via)
    return token, csrf


def expired(ws: WebSession, web: WebConfig, t: datetime) -> bool:
    return (t - ws.last_seen_at > timedelta(minutes=web.session_idle_minutes)
            or t - ws.created_at > timedelta(hours=web.session_max_hours))


def resume(session: Session, token: str, web: WebConfig) -> tuple[Account, str, WebSession] | None:
    """The account and CSRF token of a live session, touching it; None when unknown, expired or
    its account is disabled (an expired one is deleted)."""
    if not token:
        return None
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == _token_hash(token)))
    if ws is None:
        return None
    t = now()
    user = session.get(User, ws.user_id)
    if user is None or user.disabled or expired(ws, web, t):
        session.delete(ws)
        if user is not None:
            audit(session, "web_session_ended", actor=user.email, user_id=user.id,
                  reason="disabled" if user.disabled else "expired")
        return None
    if t - ws.last_seen_at > _TOUCH_EVERY:
        ws.last_seen_at = t
    return account(user), ws.csrf_token, ws


def end_session(session: Session, token: str) -> None:
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == _token_hash(token)))
    if ws is not None:
        user = session.get(User, ws.user_id)
        session.delete(ws)
        audit(session, "web_logout", actor=user.email if user else "web", user_id=ws.user_id)


def purge_expired(session: Session, web: WebConfig) -> int:
    """Delete sessions past either limit (run now and then; `resume` refuses them anyway)."""
    t = now()
    idle = t - timedelta(minutes=web.session_idle_minutes)
    oldest = t - timedelta(hours=web.session_max_hours)
    result = session.execute(delete(WebSession).where((WebSession.last_seen_at < idle)
                                                      | (WebSession.created_at < oldest)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two tokens."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())
