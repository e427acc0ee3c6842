"""The worker: polls every mailbox on its interval and keeps their health.

APScheduler runs one job per mailbox (`max_instances=1`, `coalesce=True`, so a
slow poll is never overlapped by the next). SIGTERM or Ctrl-C sets a stop flag:
the current batch finishes and commits, then the process exits 0. One mailbox
failing (a bad password, a server gone) is recorded, backed off and reported
once, and never stops the others.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from triage.actions import Actions
from triage.assess import StoreAssessor
from triage.clock import now
from triage.config import Config, MailboxConfig
from triage.crypto import Crypto, load_crypto
from triage.detect import Detector, default_detector
from triage.errors import StoreError
from triage.ingest import Ingestor, IngestSettings, PollResult, Progress
from triage.logs import describe
from triage.sources import MailSource
from triage.sources.maildir import MaildirSource
from triage.store import Store, ledger
from triage.store.leases import Leases
from triage.store.models import Mailbox
from triage.store.org import store_mailboxes, sync_organisation

log = logging.getLogger("triage.worker")

HEALTH_WRITE_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class WatchedMailbox:
    id: int
    config: MailboxConfig


def open_store(config: Config) -> tuple[Store, Crypto]:
    """The store with a known schema (created when empty) and the encryption key."""
    store = Store(config.store.url)
    store.ensure_schema()
    crypto = load_crypto(config.store.key_env, config.store.key_file)
    return store, crypto


def make_source(config: Config, mailbox: MailboxConfig, tokens: object | None = None) -> MailSource:
    if mailbox.kind == "maildir":
        return MaildirSource(mailbox.name, mailbox.path)
    from triage.sources.imap import ImapSource, TokenCache  # imapclient only when IMAP is used

    base = config.path.resolve().parent if config.path else None
    cache = tokens if isinstance(tokens, TokenCache) else None
    return ImapSource(mailbox, config.servers[mailbox.server], base_dir=base, tokens=cache)


class Worker:
    def __init__(self, config: Config, store: Store, crypto: Crypto, *, progress: Progress | None = None,
                 source_factory: Callable[[MailboxConfig], MailSource] | None = None,
                 detector: Detector | None = None) -> None:
        self.config = config
        self.store = store
        self.stop = threading.Event()
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.ingestor = Ingestor(store, crypto, IngestSettings.from_config(config.worker, config.store.quarantine_days),
                                 stop=self.stop, progress=progress,
                                 assessor=StoreAssessor(store, crypto, config, detector or default_detector()))
        self._tokens = self._token_cache()
        self._factory = source_factory or (lambda m: make_source(config, m, self._tokens))
        self._sources: dict[str, MailSource] = {}  # insertion order = least recently polled first
        self._sources_lock = threading.Lock()
        self._busy: set[str] = set()
        with store.begin() as s:
            ids = sync_organisation(s, config)
            stored = store_mailboxes(s, config)
            # Backoff carried over from before a restart; afterwards it is kept here, in memory.
            self._retry_at: dict[int, datetime] = {
                mb.id: mb.next_attempt_at for mb in s.scalars(select(Mailbox))
                if mb.next_attempt_at is not None and mb.consecutive_failures}
        self.actions = Actions(config, store, crypto)
        self.leases = Leases(store)
        self._lock: IO[str] | None = None
        self._success_written: dict[int, datetime] = {}
        self._heartbeat_written: datetime | None = None
        self.mailboxes = [WatchedMailbox(ids[m.name], m) for m in config.mailboxes if m.enabled]
        self.mailboxes += [WatchedMailbox(i, m) for i, m in stored]
        # Mailbox actions to look for after the next poll even when it finds nothing new.
        self._actions_due: dict[int, datetime] = {mb.id: now() for mb in self.mailboxes}

    @staticmethod
    def _token_cache() -> object | None:
        try:
            from triage.sources.imap import TokenCache
        except ImportError:
            return None
        return TokenCache()

    # ------------------------------------------------------------------ one mailbox

    def poll_mailbox(self, mailbox: WatchedMailbox, *, force: bool = False) -> PollResult | None:
        """Poll one mailbox unless it is backing off; record its health. Never raises for mail trouble."""
        retry_at = self._retry_at.get(mailbox.id)
        if not force and retry_at is not None and retry_at > now():
            return None
        try:
            with self.leases.mailbox(mailbox.id) as held:
                if not held:
                    return None  # another worker is polling it now (several workers on PostgreSQL)
                return self._poll_held(mailbox)
        except SQLAlchemyError as exc:  # the lease itself could not be asked for: the store is down
            log.error("the store failed; the mailbox is polled again later",
                      extra={"mailbox": mailbox.config.name, "error": describe(exc)})
            self._retry_at[mailbox.id] = now() + timedelta(seconds=mailbox.config.poll_interval_seconds)
            return PollResult(mailbox.config.name, error=f"store: {describe(exc)}", store_error=True)

    def _poll_held(self, mailbox: WatchedMailbox) -> PollResult:
        name = mailbox.config.name
        with self._sources_lock:
            source = self._sources.pop(name, None)
            self._busy.add(name)
        try:
            if source is None:
                source = self._factory(mailbox.config)
            with self._sources_lock:
                self._sources[name] = source  # now the most recently polled
            self._bound_connections()
            return self._poll_with(mailbox, source)
        finally:
            with self._sources_lock:
                self._busy.discard(name)

    def _poll_with(self, mailbox: WatchedMailbox, source: MailSource) -> PollResult:
        result = self.ingestor.poll(mailbox.id, source, mailbox.config.folders)
        try:
            self._record_health(mailbox, result, source)
        except SQLAlchemyError as exc:  # the store is failing: keep polling, it is retried next time
            log.error("the store failed while recording mailbox health",
                      extra={"mailbox": mailbox.config.name, "error": describe(exc)})
            result.store_error = True
            result.error = result.error or f"store: {describe(exc)}"
        if not result.error:
            self._act(mailbox, source, result)
        busy = result.error or result.total("new")
        log.log(logging.INFO if busy else logging.DEBUG, "poll done", extra={
            "mailbox": mailbox.config.name, "new": result.total("new"), "recorded": result.total("recorded"),
            "duplicates": result.total("duplicates"), "quarantined": result.total("quarantined"),
            "failed": result.total("failed"), "seconds": round(result.seconds, 3), "ok": not result.error})
        return result

    def _bound_connections(self) -> None:
        """Keep at most worker.max_connections mailbox connections: a department has thousands of
        mailboxes and a server allows a worker only so many. The least recently polled is closed."""
        with self._sources_lock:
            while len(self._sources) > self.config.worker.max_connections:
                name = next(iter(self._sources))
                if name in self._busy:
                    break  # polled right now by another thread; closed on a later pass
                self._sources.pop(name).close()

    def _record_health(self, mailbox: WatchedMailbox, result: PollResult, source: MailSource) -> None:
        t = now()
        if result.store_error:
            # Not the mailbox's fault, and the store cannot take a write now: retry soon, say nothing to it.
            self._retry_at[mailbox.id] = t + timedelta(seconds=mailbox.config.poll_interval_seconds)
        elif result.error:
            self._failed(mailbox, result, source)
        elif (mailbox.id in self._retry_at or mailbox.id not in self._success_written
              or t - self._success_written[mailbox.id] >= HEALTH_WRITE_INTERVAL):
            # A healthy mailbox's success time is written at most once a minute: an idle poll of
            # thousands of mailboxes should cost a SEARCH, not a database write each.
            with self.store.begin() as s:
                ledger.mark_success(s, mailbox.id)
            self._retry_at.pop(mailbox.id, None)
            self._success_written[mailbox.id] = t
        if self._heartbeat_written is None or t - self._heartbeat_written >= HEALTH_WRITE_INTERVAL / 2:
            with self.store.begin() as s:
                ledger.heartbeat(s, self.name, polled=True)
            self._heartbeat_written = t

    def _act(self, mailbox: WatchedMailbox, source: MailSource, result: PollResult) -> None:
        """The outbox right after the poll, on the same connection: emergent alerts leave within the
        poll that found the message, flags and drafts reach the mailbox before the next one."""
        if result.total("quarantined"):
            self.actions.operator_alert(f"quarantine:{mailbox.id}:{now().isoformat(timespec='minutes')}",
                                        "a message was quarantined", mailbox=mailbox.config.name,
                                        count=result.total("quarantined"))
        # An idle poll costs no outbox queries: actions are looked for after a poll that recorded mail,
        # while some are waiting for a retry, and once after start (what an earlier run left).
        retry_at = self._actions_due.get(mailbox.id)
        if not result.total("recorded") and (retry_at is None or retry_at > now()):
            return
        try:
            if result.total("recorded"):
                self.run_mail()  # an emergent alert leaves within the poll that found the message
            outcome = self.actions.run_mailbox(mailbox.id, source)  # under this mailbox's lease
            if outcome.retried:
                self._actions_due[mailbox.id] = now() + timedelta(seconds=5)
            else:
                self._actions_due.pop(mailbox.id, None)
        except Exception:  # each action records its own failure; this is a bug or the store gone
            log.exception("actions crashed", extra={"mailbox": mailbox.config.name})

    def run_mail(self) -> None:
        """Alerts and escalations: one worker of the department at a time sends them."""
        with self.leases.mail_actions() as held:
            if held:
                self.actions.run_mail()

    def _failed(self, mailbox: WatchedMailbox, result: PollResult, source: MailSource) -> None:
        source.close()
        with self.store.begin() as s:
            outcome = ledger.mark_failure(
                s, mailbox.id, result.error, reauthorise=result.reauthorise,
                interval_seconds=mailbox.config.poll_interval_seconds,
                backoff_max_seconds=self.config.worker.backoff_max_seconds,
                report_after_minutes=self.config.worker.failure_report_minutes)
            if outcome.report:
                ledger.audit(s, "mailbox_failing_reported", mailbox_id=mailbox.id)
                failing_since = s.get(Mailbox, mailbox.id).failing_since  # type: ignore[union-attr]
        if outcome.report:
            self.actions.operator_alert(
                f"mailbox:{mailbox.id}:{failing_since.isoformat() if failing_since else ''}",
                "a mailbox has been failing past its limit", mailbox=mailbox.config.name,
                error=result.error.split(":", 1)[0][:200], reauthorise=result.reauthorise)
        self._retry_at[mailbox.id] = outcome.retry_at
        extra = {"mailbox": mailbox.config.name, "error": result.error, "retry_at": outcome.retry_at.isoformat()}
        if outcome.first_reauth:
            log.error("mailbox needs re-authorisation: the token was refused", extra=extra)
        elif outcome.report:
            log.error("mailbox has been failing past the reporting limit", extra=extra)
        else:
            log.warning("mailbox poll failed; will retry", extra=extra)

    # ------------------------------------------------------------------ passes

    def poll_all(self, *, force: bool = True) -> list[PollResult]:
        """One pass over every mailbox, in order (`triage poll --once`)."""
        results = []
        for mb in self.mailboxes:
            if self.stop.is_set():
                break
            r = self.poll_mailbox(mb, force=force)
            if r is not None:
                results.append(r)
        return results

    def housekeeping(self) -> None:
        with self.store.begin() as s:
            purged = ledger.purge_quarantine(s)
            if purged:
                ledger.audit(s, "quarantine_purged", count=purged)
                log.info("quarantined bytes purged", extra={"count": purged})

    def claim_sqlite(self) -> None:
        """SQLite serves one worker: hold an exclusive lock beside the database file while running, so a
        second worker stops at once with a clear message (the lock dies with its process, even on SIGKILL)."""
        if not self.store.is_sqlite or self._lock is not None:
            return
        database = self.store.engine.url.database
        if not database or database == ":memory:":
            return
        path = Path(database).with_name(Path(database).name + ".worker.lock")
        fh = open(path, "a+")  # noqa: SIM115 - held open for the worker's life
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise StoreError(f"another triage worker ({holder}) is using the SQLite store {database}; SQLite "
                             "serves one worker: stop it, or use PostgreSQL ([store] url) for several") from None
        fh.seek(0)
        fh.truncate()
        fh.write(self.name)
        fh.flush()
        self._lock = fh

    def run(self, *, install_signals: bool = True) -> int:
        """Poll on schedule until SIGTERM/SIGINT; returns the exit status."""
        self.claim_sqlite()
        if install_signals:
            self._install_signals()
        with self.store.begin() as s:
            ledger.heartbeat(s, self.name, started=True)
        threads = max(1, min(8, len(self.mailboxes)))
        scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(threads)}, timezone="UTC")
        start = now()
        for i, mb in enumerate(self.mailboxes):
            scheduler.add_job(self._job, IntervalTrigger(seconds=mb.config.poll_interval_seconds, timezone="UTC"),
                              args=[mb], id=f"mailbox-{mb.id}", max_instances=1, coalesce=True,
                              misfire_grace_time=mb.config.poll_interval_seconds,
                              next_run_time=start + timedelta(milliseconds=50 * i))
        scheduler.add_job(self._mail_job, IntervalTrigger(seconds=self.config.actions.interval_seconds, timezone="UTC"),
                          id="mail", max_instances=1, coalesce=True, next_run_time=start)
        scheduler.add_job(self._housekeeping_job, IntervalTrigger(hours=1, timezone="UTC"), id="housekeeping",
                          max_instances=1, coalesce=True, next_run_time=start)
        from triage import digest

        digest.schedule_jobs(scheduler, self.store, self.actions.crypto, self.config, self.actions.mailer,
                             stop=self.stop)
        log.info("worker started", extra={"worker": self.name, "mailboxes": len(self.mailboxes)})
        if self.config.path is not None and self.config.path.exists() and self.config.path.stat().st_mode & 0o004:
            log.warning("the config file is readable by anyone; run chmod o-r on it",
                        extra={"config": str(self.config.path)})
        scheduler.start()
        try:
            while not self.stop.wait(1.0):
                pass
        finally:
            scheduler.shutdown(wait=True)  # lets a running batch finish and commit
            self.close()
            with self.store.begin() as s:
                ledger.heartbeat(s, self.name, stopped=True)
            log.info("worker stopped", extra={"worker": self.name})
        return 0

    def _job(self, mb: WatchedMailbox) -> None:
        if self.stop.is_set():
            return
        try:
            self.poll_mailbox(mb)
        except Exception:  # a bug in one mailbox's poll must not kill the scheduler thread
            log.exception("poll crashed", extra={"mailbox": mb.config.name})

    def _mail_job(self) -> None:
        """Alerts, escalations and their retries, whatever the mailboxes are doing."""
        if self.stop.is_set():
            return
        try:
            self.run_mail()
        except Exception:
            log.exception("mail actions crashed")

    def _housekeeping_job(self) -> None:
        try:
            self.housekeeping()
        except Exception:
            log.exception("housekeeping failed")

    def _install_signals(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("stopping: finishing the current batch", extra={"signal": signal.Signals(signum).name})
            self.stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self.ingestor.close()
        self.leases.close()
        if self._lock is not None:
            self._lock.close()  # releases the SQLite worker lock
            self._lock = None
