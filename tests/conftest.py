"""Shared fixtures. Server fixtures (Dovecot) live in dovecot_fixture.py."""

from __future__ import annotations

import mailbox
import os
import textwrap
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from triage.clock import set_clock
from triage.config import Config, parse_config

try:  # the Dovecot fixtures, when that module is present
    from dovecot_fixture import *  # noqa: F403
    from smtp_fixture import smtp_sink  # noqa: F401
except ImportError as exc:  # pragma: no cover - only while the module is being written
    if "dovecot_fixture" not in str(exc):
        raise

ROOT = Path(__file__).resolve().parent.parent


def require(what: str, present: bool) -> None:
    """Skip a test whose server is missing, except in CI where a skip is a failure."""
    if present:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing and CI=true: a skip would hide an untested part")
    pytest.skip(f"{what} is missing")


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    yield
    set_clock(None)


def make_mail(n: int, *, sender: str = "client@example.com", to: str = "alex.morgan@dmh.example.org",
              subject: str = "appointment", body: str = "can we move my appointment to thursday?") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = f"{subject} {n}"
    msg["Message-ID"] = f"<msg-{n}@example.com>"
    msg["Date"] = "Mon, 16 Nov 2026 09:00:00 -0800"
    msg.set_content(f"{body}\n(message {n})\n")
    return bytes(msg)


@pytest.fixture
def maildir(tmp_path: Path) -> Callable[..., tuple[Path, list[str]]]:
    """A Maildir with n messages; returns (path, keys)."""

    def build(n: int, *, path: Path | None = None, start: int = 0) -> tuple[Path, list[str]]:
        p = path or tmp_path / "Maildir"
        md = mailbox.Maildir(p, create=True)
        keys = [md.add(make_mail(i)) for i in range(start, start + n)]
        return p, keys

    return build


def write_config(tmp_path: Path, mailboxes: str, *, extra: str = "") -> Path:
    """A config in tmp_path with the sample organisation and the given [[mailboxes]] text."""
    text = textwrap.dedent(f"""
        [store]
        url = "sqlite:///{tmp_path / 'triage.db'}"
        data_dir = "{tmp_path / 'data'}"

        [worker]
        poll_interval_seconds = 5
        batch_size = 10
        log_format = "json"

        [department]
        domains = ["dmh.example.org"]

        [[programs]]
        id = "adult-op"
        name = "Adult Outpatient"
        email_approved = true
        approved_by = "Jordan Avery"
        approved_on = 2026-01-15
        supervisors = ["casey.nguyen@dmh.example.org"]

        [[clinicians]]
        email = "alex.morgan@dmh.example.org"
        name = "Alex Morgan"
        program = "adult-op"
        aliases = ["amorgan@dmh.example.org"]

        [[clinicians]]
        email = "sam.lee@dmh.example.org"
        name = "Sam Lee"
        program = "adult-op"
    """) + textwrap.dedent(extra) + textwrap.dedent(mailboxes)
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.fixture
def maildir_config(tmp_path: Path, maildir: Callable[..., tuple[Path, list[str]]]) -> Callable[..., Config]:
    def build(n: int = 5) -> Config:
        path, _ = maildir(n)
        cfg = write_config(tmp_path, f"""
            [[mailboxes]]
            name = "alex"
            clinician = "alex.morgan@dmh.example.org"
            kind = "maildir"
            path = "{path}"
        """)
        return parse_config(cfg.read_text(), source=str(cfg), base_dir=tmp_path)

    return build
