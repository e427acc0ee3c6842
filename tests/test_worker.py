"""The worker's care of mailbox health: one failing mailbox never stops the others,
backs off, and is reported once; a refused token is said once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import write_config
from sqlalchemy import select

from triage.clock import now, set_clock
from triage.config import Config, MailboxConfig, load_config
from triage.crypto import load_crypto
from triage.errors import AuthError
from triage.sources import MailSource
from triage.sources.maildir import MaildirSource
from triage.store import Store
from triage.store.models import AuditEvent, Mailbox
from triage.worker import Worker, make_source


@pytest.fixture
def three(tmp_path: Path, maildir: Callable[..., tuple[Path, list[str]]]) -> Config:
    a, _ = maildir(3, path=tmp_path / "a")
    b, _ = maildir(4, path=tmp_path / "b", start=10)
    text = "".join(f"""
        [[mailboxes]]
        name = "{name}"
        clinician = "alex.morgan@dmh.example.org"
        kind = "maildir"
        path = "{path}"
    """ for name, path in (("a", a), ("broken", tmp_path / "missing"), ("b", b)))
    return load_config(write_config(tmp_path, text))


def worker(config: Config, factory: Callable[[MailboxConfig], MailSource] | None = None) -> Worker:
    store = Store(config.store.url)
    store.ensure_schema()
    crypto = load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file)
    return Worker(config, store, crypto, source_factory=factory)


def health(w: Worker, name: str) -> Mailbox:
    with w.store.begin() as s:
        return s.scalars(select(Mailbox).where(Mailbox.name == name)).one()


def test_one_broken_mailbox_does_not_stop_the_others(three: Config, caplog: pytest.LogCaptureFixture) -> None:
    w = worker(three)
    results = {r.mailbox: r for r in w.poll_all()}
    assert results["a"].total("recorded") == 3 and results["b"].total("recorded") == 4
    assert "is not a Maildir" in results["broken"].error
    bad = health(w, "broken")
    assert bad.consecutive_failures == 1 and bad.failing_since is not None and "not a Maildir" in bad.last_error
    assert health(w, "a").last_success_at is not None and health(w, "a").consecutive_failures == 0


def test_failing_mailbox_backs_off_and_is_reported_once(three: Config, caplog: pytest.LogCaptureFixture) -> None:
    w = worker(three)
    broken = next(m for m in w.mailboxes if m.config.name == "broken")
    t0 = now()
    set_clock(lambda: t0)
    caplog.set_level(logging.WARNING, logger="triage.worker")
    w.poll_mailbox(broken)
    assert w.poll_mailbox(broken) is None  # backing off: not tried again yet
    first = health(w, "broken")
    assert first.next_attempt_at == t0 + timedelta(seconds=5)
    reports = 0
    for minutes in (10, 20, 31, 45, 60):
        t = t0 + timedelta(minutes=minutes)
        set_clock(lambda t=t: t)
        w.poll_mailbox(broken)
        reports += sum("past the reporting limit" in r.getMessage() for r in caplog.records)
        caplog.clear()
    assert reports == 1  # reported once, at 31 minutes, not on every poll
    assert health(w, "broken").consecutive_failures == 6
    with w.store.begin() as s:
        events = s.scalars(select(AuditEvent.action).where(AuditEvent.action == "mailbox_failing_reported")).all()
    assert events == ["mailbox_failing_reported"]


def test_backoff_grows_and_is_capped(three: Config) -> None:
    w = worker(three)
    broken = next(m for m in w.mailboxes if m.config.name == "broken")
    gaps = []
    for _ in range(12):
        w.poll_mailbox(broken, force=True)
        h = health(w, "broken")
        gaps.append((h.next_attempt_at - h.last_attempt_at).total_seconds())
    assert gaps[:4] == [5, 10, 20, 40]
    assert max(gaps) == three.worker.backoff_max_seconds


def test_refused_token_is_said_once_and_cleared_on_success(three: Config, caplog: pytest.LogCaptureFixture) -> None:
    refused = {"on": True}

    class Refusing(MaildirSource):
        def connect(self) -> None:
            if refused["on"]:
                raise AuthError("mailbox a: the OAuth2 token was refused", reauthorise=True)
            super().connect()

    def factory(m: MailboxConfig) -> MailSource:
        return Refusing(m.name, m.path) if m.name == "a" else make_source(three, m)

    w = worker(three, factory)
    a = next(m for m in w.mailboxes if m.config.name == "a")
    caplog.set_level(logging.WARNING, logger="triage.worker")
    for _ in range(3):
        w.poll_mailbox(a, force=True)
    said = [r for r in caplog.records if "re-authorisation" in r.getMessage()]
    assert len(said) == 1
    assert health(w, "a").reauth_required
    refused["on"] = False
    assert w.poll_mailbox(a, force=True).total("recorded") == 3
    h = health(w, "a")
    assert not h.reauth_required and h.consecutive_failures == 0 and h.failing_since is None


def test_a_second_worker_on_sqlite_is_refused_until_the_first_is_gone(three: Config) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from triage.errors import StoreError

    first, second = worker(three), worker(three)
    first.claim_sqlite()
    with pytest.raises(StoreError, match="SQLite serves one worker"):
        second.claim_sqlite()
    first.close()
    second.claim_sqlite()  # the first is gone: the second may run
    second.close()
    # A worker killed with SIGKILL leaves no lock behind.
    assert three.path is not None
    proc = subprocess.Popen([sys.executable, "-m", "triage.cli", "--config", str(three.path), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=three.path.parent,
                            env={**os.environ, "TRIAGE_KEY": ""})
    lock = Path(three.store.url.removeprefix("sqlite:///") + ".worker.lock")
    try:
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text().endswith(f":{proc.pid}")):  # it holds the lock
            assert proc.poll() is None and time.monotonic() < deadline, "the worker never took the lock"
            time.sleep(0.1)
        third = worker(three)
        with pytest.raises(StoreError, match="another triage worker"):
            third.claim_sqlite()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        third.claim_sqlite()
        third.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_mailboxes_added_to_the_store_are_polled(tmp_path: Path, maildir: Callable[..., tuple[Path, list[str]]],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from triage import cli

    a, _ = maildir(2, path=tmp_path / "a")
    b, _ = maildir(3, path=tmp_path / "b", start=10)
    cfg = write_config(tmp_path, f"""
        [[mailboxes]]
        name = "a"
        clinician = "alex.morgan@dmh.example.org"
        kind = "maildir"
        path = "{a}"
    """)
    base = ["--config", str(cfg), "mailbox"]
    assert cli.main([*base, "add", "b", "--clinician", "sam.lee@dmh.example.org", "--kind", "maildir",
                     "--path", str(b)]) == 0
    assert cli.main([*base, "add", "b", "--clinician", "sam.lee@dmh.example.org", "--kind", "maildir",
                     "--path", str(b)]) == 1  # the same name twice
    assert cli.main([*base, "add", "c", "--clinician", "nobody@dmh.example.org", "--kind", "maildir",
                     "--path", str(b)]) == 1
    assert cli.main([*base, "add", "d", "--clinician", "sam.lee@dmh.example.org", "--server", "none",
                     "--user", "x"]) == 1
    err = capsys.readouterr().err
    assert "exists already" in err and "is not in the configuration" in err and "is not one of the [servers" in err
    config = load_config(cfg)
    w = worker(config)
    try:
        results = {r.mailbox: r.total("recorded") for r in w.poll_all()}
    finally:
        w.close()
    assert results == {"a": 2, "b": 3}
    assert cli.main([*base, "list"]) == 0
    listing = capsys.readouterr().out
    assert "store" in listing and "config" in listing
    assert cli.main([*base, "disable", "b"]) == 0
    assert cli.main([*base, "disable", "a"]) == 2  # from config: edit the config instead
    w = worker(load_config(cfg))
    try:
        assert [m.config.name for m in w.mailboxes] == ["a"]
    finally:
        w.close()


def test_connections_are_bounded_least_recently_polled_closed_first(tmp_path: Path,
                                                                    maildir: Callable[..., tuple[Path, list[str]]]
                                                                    ) -> None:
    paths = [maildir(1, path=tmp_path / f"m{i}", start=10 * i)[0] for i in range(4)]
    cfg = write_config(tmp_path, "".join(f"""
        [[mailboxes]]
        name = "m{i}"
        clinician = "alex.morgan@dmh.example.org"
        kind = "maildir"
        path = "{p}"
    """ for i, p in enumerate(paths)))
    cfg.write_text(cfg.read_text().replace("[worker]\n", "[worker]\nmax_connections = 2\n"))
    config = load_config(cfg)
    closed: list[str] = []

    class Counting(MaildirSource):
        def close(self) -> None:
            closed.append(self.name)
            super().close()

    w = worker(config, lambda m: Counting(m.name, m.path))
    try:
        results = w.poll_all()
        assert [r.total("recorded") for r in results] == [1, 1, 1, 1]
        assert list(w._sources) == ["m2", "m3"] and closed == ["m0", "m1"]
        w.poll_mailbox(w.mailboxes[2], force=True)  # m2 becomes the most recent: m3 would go next
        assert list(w._sources) == ["m3", "m2"]
    finally:
        w.close()
