"""Reading one mailbox: every new message recorded exactly once.

For each watched folder: compare UIDVALIDITY with the checkpoint, find the keys
after it, drop those the ledger already holds, then work in batches. A batch is
claimed (its attempt counts committed), processed, and recorded together with
the advanced checkpoint in one transaction. A crash before that commit means
the batch is read again; the claim makes a message that keeps killing the
worker end in quarantine instead of in a loop. Fetching runs in a thread ahead
of parsing, so the socket and the parser overlap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing import get_context
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from triage.clock import now
from triage.config import WorkerConfig
from triage.crypto import Crypto
from triage.errors import FolderError, SourceError
from triage.logs import describe
from triage.pipeline import Processed, digest, process
from triage.policy import Assessment
from triage.sources import MailSource
from triage.store import Store, ledger
from triage.store.models import FolderState
from triage.values import RawMessage

log = logging.getLogger("triage.ingest")

Processor = Callable[[RawMessage], Processed]
FULL_SEARCH_SECONDS = 60.0
Progress = Callable[[str, str, int, int], None]  # mailbox, folder, done, total


class Assessor(Protocol):
    def assess_batch(self, mailbox_id: int, items: Sequence[tuple[RawMessage, Processed]]) -> list[Assessment]: ...

    def record(self, s: Session, mailbox_id: int, record_id: int, raw: RawMessage, processed: Processed,
               assessment: Assessment) -> None:
        """Store the assessment and what it requires (the outbox), in the caller's transaction."""


@dataclass
class FolderResult:
    folder: str
    new: int = 0  # keys after the checkpoint that the ledger did not hold
    recorded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    failed: int = 0  # failed this time; retried on a later poll
    stopped: bool = False
    error: str = ""


@dataclass
class PollResult:
    mailbox: str
    folders: list[FolderResult] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    interrupted: bool = False
    reauthorise: bool = False  # an OAuth2 token was refused: an administrator must act
    store_error: bool = False  # the database failed (unreachable, disk full): not the mailbox's fault

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.folders)


@dataclass(frozen=True)
class IngestSettings:
    batch_size: int = 100
    max_attempts: int = 3
    uidvalidity_change_limit: int = 3
    quarantine_days: int = 30
    reconnects: int = 2  # quick reconnects within one poll before giving up until the next
    reconnect_delay: float = 1.0
    prefetch_bytes: int = 64 * 1024 * 1024
    parse_processes: int = 0  # 0: parse in the polling thread

    @classmethod
    def from_config(cls, worker: WorkerConfig, quarantine_days: int) -> IngestSettings:
        return cls(batch_size=worker.batch_size, max_attempts=worker.max_attempts,
                   uidvalidity_change_limit=worker.uidvalidity_change_limit, quarantine_days=quarantine_days,
                   parse_processes=worker.parse_processes)


class Ingestor:
    """Polls mailboxes into the store. One instance serves every mailbox of a worker."""

    def __init__(self, store: Store, crypto: Crypto, settings: IngestSettings, *,
                 processor: Processor = process, stop: threading.Event | None = None,
                 progress: Progress | None = None, assessor: Assessor | None = None) -> None:
        self.store = store
        self.assessor = assessor
        self.crypto = crypto
        self.settings = settings
        self.processor = processor
        self.stop = stop or threading.Event()
        self.progress = progress
        # The last committed checkpoint per (mailbox, folder), so an idle poll needs no query. Taken
        # out while a folder is read and put back only when the read ends well.
        self._checkpoints: dict[tuple[int, str], tuple[int, int, int]] = {}
        self._searched: dict[tuple[int, str], float] = {}  # when each folder was last searched in full
        # Parsing is the cost of ingestion; on a multi-core host a pool of processes parses while
        # this thread fetches and records (the GIL would serialise threads).
        self.pool: ProcessPoolExecutor | None = (
            ProcessPoolExecutor(settings.parse_processes, mp_context=get_context("spawn"))
            if settings.parse_processes > 0 else None)
        self._pool_generation = 0

    # ------------------------------------------------------------------ mailbox

    def poll(self, mailbox_id: int, source: MailSource, folders: Sequence[str]) -> PollResult:
        """Read every folder of one mailbox. Source errors are returned, never raised."""
        started = time.monotonic()
        result = PollResult(source.name)
        tries = 0
        pending = list(folders)
        while pending:
            folder = pending[0]
            try:
                source.connect()
                result.folders.append(self._folder(mailbox_id, source, folder))
                pending.pop(0)
            except FolderError as exc:
                result.folders.append(FolderResult(folder, error=str(exc)))
                result.error = result.error or str(exc)
                pending.pop(0)
            except SQLAlchemyError as exc:
                # The store, not the mailbox: say precisely what the database said; the next poll retries.
                result.error = f"store: {describe(exc)}"
                result.store_error = True
                log.error("the store failed during a poll", extra={"mailbox": source.name, "error": describe(exc)})
                break
            except SourceError as exc:
                source.close()
                tries += 1
                if not exc.transient or tries > self.settings.reconnects or self.stop.is_set():
                    result.error = str(exc)
                    result.reauthorise = bool(getattr(exc, "reauthorise", False))
                    break
                log.warning("connection lost; reconnecting",
                            extra={"mailbox": source.name, "try": tries, "error_class": type(exc).__name__})
                self.stop.wait(self.settings.reconnect_delay * 2 ** (tries - 1))
            if self.stop.is_set():
                result.interrupted = True
                break
        result.seconds = time.monotonic() - started
        return result

    # ------------------------------------------------------------------ folder

    def _folder(self, mailbox_id: int, source: MailSource, folder: str) -> FolderResult:
        out = FolderResult(folder)
        status = source.select(folder)
        cached = self._checkpoints.pop((mailbox_id, folder), None)
        if cached is not None and cached[1] == status.uidvalidity:
            folder_state_id, uidvalidity, last_uid = cached
            searched = self._searched.get((mailbox_id, folder), 0.0)
            if (status.uidnext is not None and status.uidnext <= last_uid + 1
                    and time.monotonic() - searched < FULL_SEARCH_SECONDS):
                # UIDNEXT says no UID above the checkpoint exists: skip the SEARCH. A full search
                # still runs every FULL_SEARCH_SECONDS in case a server reports a stale UIDNEXT.
                self._checkpoints[(mailbox_id, folder)] = cached
                return out
        else:
            found = self._read_checkpoint(mailbox_id, folder, status.uidvalidity, source.name, out)
            if found is None:
                return out
            folder_state_id, uidvalidity, last_uid = found
        out = self._read_new(mailbox_id, source, folder, folder_state_id, uidvalidity, last_uid, out)
        return out

    def _read_checkpoint(self, mailbox_id: int, folder: str, server_uidvalidity: int, mailbox: str,
                         out: FolderResult) -> tuple[int, int, int] | None:
        """(folder_state_id, uidvalidity, last_uid) from the store, or None when the folder is stopped."""
        with self.store.begin() as s:
            fs = ledger.folder_state(s, mailbox_id, folder)
            if fs.stopped_at is not None:
                out.stopped, out.error = True, fs.stopped_reason
                return None
            if fs.uidvalidity is None:
                fs.uidvalidity, fs.last_uid = server_uidvalidity, 0
            elif fs.uidvalidity != server_uidvalidity and self._uidvalidity_changed(
                    s, fs, server_uidvalidity, mailbox):
                out.stopped, out.error = True, fs.stopped_reason
                return None
            return fs.id, fs.uidvalidity, fs.last_uid

    def _read_new(self, mailbox_id: int, source: MailSource, folder: str, folder_state_id: int, uidvalidity: int,
                  last_uid: int, out: FolderResult) -> FolderResult:
        keys = source.search_after(folder, last_uid)
        self._searched[(mailbox_id, folder)] = time.monotonic()
        if not keys:
            # The idle poll on a kept connection: EXAMINE and SEARCH, no database work at all.
            self._checkpoints[(mailbox_id, folder)] = (folder_state_id, uidvalidity, last_uid)
            return out
        with self.store.begin() as s:
            known = ledger.known_keys(s, mailbox_id, folder, uidvalidity, keys)
            tried = ledger.attempt_counts(s, mailbox_id, folder, uidvalidity)
        todo = [k for k in keys if k not in known]
        out.new = len(todo)
        done: set[str] = set(known)
        checkpoint = _Checkpoint(keys, last_uid)
        if not todo:
            self._advance(folder_state_id, checkpoint, done)
            self._checkpoints[(mailbox_id, folder)] = (folder_state_id, uidvalidity, checkpoint.last)
            return out
        if len(todo) > self.settings.batch_size:
            log.info("reading new mail", extra={"mailbox": source.name, "messages": len(todo)})

        batches = _batches(todo, tried, self.settings.batch_size)
        fetcher = _Prefetcher(source, folder, batches, self.settings.prefetch_bytes)
        processed_count = 0
        # With parser processes, one batch is parsed while the one before it is recorded.
        depth = 1 if self.pool is not None else 0
        in_flight: deque[_Job] = deque()

        def settle(keep: int) -> None:
            nonlocal processed_count
            while len(in_flight) > keep:
                job = in_flight.popleft()
                try:
                    self._finish(mailbox_id, folder_state_id, folder, uidvalidity, job, checkpoint, done, out)
                except SQLAlchemyError:
                    # The store failed (disk full, database gone), not the messages: their tries are given back.
                    self._unclaim(mailbox_id, folder, uidvalidity, job.batch)
                    raise
                processed_count += len(job.batch)
                if self.progress:
                    self.progress(source.name, folder, processed_count, len(todo))

        try:
            for batch, raws, complete in fetcher:
                # A batch that failed before runs alone, so a parser crash is blamed on it exactly.
                retry = any(tried.get(k) for k in batch)
                if retry:
                    settle(0)
                in_flight.append(self._start(mailbox_id, folder, uidvalidity, batch, raws, complete))
                settle(0 if retry else depth)
                if self.stop.is_set():
                    break
        except SourceError:
            settle(0)  # the connection failed: what was already fetched is still recorded
            raise
        else:
            settle(0)
        finally:
            fetcher.close()
        # Every batch committed its advance; the next poll starts from here without reading the store.
        self._checkpoints[(mailbox_id, folder)] = (folder_state_id, uidvalidity, checkpoint.last)
        return out

    def _unclaim(self, mailbox_id: int, folder: str, uidvalidity: int, keys: list[str]) -> None:
        try:
            with self.store.begin() as s:
                ledger.unclaim(s, mailbox_id, folder, uidvalidity, keys)
        except SQLAlchemyError as exc:  # still failing: the tries stay counted, and say so
            log.error("the store failed; the batch's tries could not be given back",
                      extra={"mailbox_id": mailbox_id, "error": describe(exc)})

    def _uidvalidity_changed(self, s: Session, fs: FolderState, new: int, mailbox: str) -> bool:
        """Re-read the folder under its new UIDVALIDITY, or stop it when it keeps changing."""
        t = now()
        recent = [x for x in fs.uidvalidity_changes if t - _iso(x) < timedelta(days=1)] + [t.isoformat()]
        fs.uidvalidity_changes = recent
        old = fs.uidvalidity
        if len(recent) > self.settings.uidvalidity_change_limit:
            fs.stopped_at = t
            fs.stopped_reason = (f"UIDVALIDITY changed {len(recent)} times in a day; the folder is stopped so it "
                                 f"is not re-read in a loop. Check the server, then `triage folder resume`.")
            ledger.audit(s, "folder_stopped", mailbox_id=fs.mailbox_id, folder_state=fs.id, changes=len(recent))
            log.error("folder stopped: UIDVALIDITY keeps changing",
                      extra={"mailbox": mailbox, "folder_state": fs.id, "changes": len(recent)})
            return True
        fs.uidvalidity, fs.last_uid = new, 0
        ledger.audit(s, "uidvalidity_changed", mailbox_id=fs.mailbox_id, folder_state=fs.id, old=old, new=new)
        log.warning("UIDVALIDITY changed; re-reading the folder, recorded messages are matched and skipped",
                    extra={"mailbox": mailbox, "folder_state": fs.id, "old": old, "new": new})
        return False

    # ------------------------------------------------------------------ batch

    def _start(self, mailbox_id: int, folder: str, uidvalidity: int, batch: list[str], raws: list[RawMessage],
               complete: bool) -> _Job:
        """Claim a batch (committed) and start processing it."""
        with self.store.begin() as s:
            claims = ledger.claim(s, mailbox_id, folder, uidvalidity, batch)
        job = _Job(batch, raws, complete, claims)
        for raw in raws:
            claim = claims.get(raw.key, ledger.Claim(1, ""))
            if claim.attempts > self.settings.max_attempts:
                # It was claimed that often without being recorded: the worker died on it each time.
                why = claim.last_error or f"the worker stopped while processing it {claim.attempts - 1} times"
                job.given_up[raw.key] = why
            else:
                job.runnable.append(raw)
        if self.pool is None:
            job.results = [_safe(self.processor, raw) for raw in job.runnable]
        else:
            self._submit(job)
        return job

    def _submit(self, job: _Job) -> bool:
        """Hand a job to the pool; False when the pool is already broken."""
        assert self.pool is not None
        job.generation = self._pool_generation
        size = max(1, len(job.runnable) // (2 * self.settings.parse_processes))
        try:
            job.futures = [self.pool.submit(_safe_many, self.processor, job.runnable[i:i + size])
                           for i in range(0, len(job.runnable), size)]
        except BrokenProcessPool:
            job.futures = []
            return False
        return True

    def _replace_pool(self) -> None:
        assert self.pool is not None
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = ProcessPoolExecutor(self.settings.parse_processes, mp_context=get_context("spawn"))
        self._pool_generation += 1

    def _results(self, job: _Job) -> list[tuple[Processed | None, str]]:
        if job.results is not None:
            return job.results
        if not job.runnable:
            return []
        for _ in range(5):
            if (job.generation != self._pool_generation or not job.futures) and not self._submit(job):
                # The pool broke before this batch reached it: not this batch's fault.
                self._replace_pool()
                continue
            try:
                return [r for f in job.futures for r in f.result()]
            except BrokenProcessPool:
                if job.generation != self._pool_generation:
                    continue  # the pool broke on an earlier batch and was replaced: run this one again
                # A parser process died (a crash, the OOM killer) on this batch: none of it is trusted;
                # the claims already count the try, and failed keys are retried one at a time.
                self._replace_pool()
                break
        return [(None, "ParserProcessDied: a parser process stopped while this batch was processed")] * len(
            job.runnable)

    def _finish(self, mailbox_id: int, folder_state_id: int, folder: str, uidvalidity: int, job: _Job,
                checkpoint: _Checkpoint, done: set[str], out: FolderResult) -> None:
        """Record a processed batch, its failures and the advanced checkpoint in one transaction."""
        st = self.settings
        batch, raws, complete, claims = job.batch, job.raws, job.complete, job.claims
        results = dict(zip([r.key for r in job.runnable], self._results(job), strict=True))
        outcomes: list[tuple[RawMessage, Processed | None, str]] = [
            (raw, *results[raw.key]) if raw.key in results else (raw, None, job.given_up[raw.key]) for raw in raws]

        assessed: dict[str, Assessment] = {}
        if self.assessor is not None:
            outcomes = self._assess(mailbox_id, outcomes, assessed)

        finished: list[str] = []
        with self.store.begin() as s:
            seen = ledger.existing_by_digest(s, mailbox_id, [p.digest for _, p, _ in outcomes if p])
            originals: list[tuple[RawMessage, Processed]] = []
            repeats: list[tuple[RawMessage, Processed]] = []  # same message twice in this very batch
            rows = []
            for raw, processed, error in outcomes:
                attempts = claims.get(raw.key, ledger.Claim(1, "")).attempts
                if processed is not None:
                    original = _match(seen, processed)
                    if original is None and any(_same(processed, p) for _, p in originals):
                        repeats.append((raw, processed))
                        continue
                    if original is None:
                        originals.append((raw, processed))
                        out.recorded += 1
                    else:
                        out.duplicates += 1
                    rows.append(ledger.record_row(mailbox_id, raw, processed, self.crypto, original))
                    finished.append(raw.key)
                elif attempts >= st.max_attempts:
                    row = ledger.quarantine_message(s, mailbox_id, raw, error, self.crypto, st.quarantine_days,
                                                    digest(raw.raw))
                    s.flush()
                    error_class = error.split(":", 1)[0]
                    ledger.audit(s, "quarantined", mailbox_id=mailbox_id, message_record_id=row.id,
                                 attempts=attempts, error_class=error_class)
                    log.error("message quarantined after repeated failures",
                              extra={"mailbox_id": mailbox_id, "record": row.id, "attempts": attempts,
                                     "error_class": error_class})
                    out.quarantined += 1
                    finished.append(raw.key)
                else:
                    ledger.note_failure(s, mailbox_id, folder, uidvalidity, raw.key, error)
                    log.warning("message failed; will retry", extra={
                        "mailbox_id": mailbox_id, "attempt": attempts, "error_class": error.split(":", 1)[0]})
                    out.failed += 1
            ids = ledger.insert_records(s, rows)
            if self.assessor is not None:
                by_key = {raw.key: (raw, p) for raw, p in originals}
                for row, rid in zip(rows, ids, strict=True):
                    if row["status"] == "recorded" and row["key"] in assessed:
                        raw, p = by_key[row["key"]]
                        self.assessor.record(s, mailbox_id, rid, raw, p, assessed[row["key"]])
            if repeats:
                by_key = dict(zip([r["key"] for r in rows], ids, strict=True))
                first = {(p.digest, p.message.message_id): by_key[r.key] for r, p in originals}
                ledger.insert_records(s, [
                    ledger.record_row(mailbox_id, raw, p, self.crypto, first[(p.digest, p.message.message_id)])
                    for raw, p in repeats])
                out.duplicates += len(repeats)
                finished.extend(raw.key for raw, _ in repeats)
            if complete:
                # Keys the server no longer has (expunged since the search) will never come back.
                finished.extend(set(batch) - {r.key for r in raws})
            ledger.clear_attempts(s, mailbox_id, folder, uidvalidity, finished)
            done.update(finished)
            self._advance_in(s, folder_state_id, checkpoint, done)
            if outcomes:
                ledger.audit(s, "batch_recorded", mailbox_id=mailbox_id, folder_state=folder_state_id,
                             recorded=out.recorded, duplicates=out.duplicates, quarantined=out.quarantined,
                             failed=out.failed, size=len(batch))

    def _assess(self, mailbox_id: int, outcomes: list[tuple[RawMessage, Processed | None, str]],
                assessed: dict[str, Assessment]) -> list[tuple[RawMessage, Processed | None, str]]:
        """Assess the parsed messages of a batch; one that cannot be assessed fails like one that
        cannot be parsed (retried, then quarantined), and never takes the rest of the batch with it."""
        assert self.assessor is not None
        items = [(raw, p) for raw, p, _ in outcomes if p is not None]
        errors: dict[str, str] = {}
        try:
            assessed.update((raw.key, a) for (raw, _), a in
                            zip(items, self.assessor.assess_batch(mailbox_id, items), strict=True))
        except Exception:
            for raw, p in items:  # find the message at fault
                try:
                    [assessed[raw.key]] = self.assessor.assess_batch(mailbox_id, [(raw, p)])
                except Exception as exc:
                    errors[raw.key] = f"AssessmentError: {type(exc).__name__}: {_clip(str(exc))}"
                    log.error("message could not be assessed", extra={
                        "mailbox_id": mailbox_id, "error_class": type(exc).__name__})
        return [(raw, None, errors[raw.key]) if raw.key in errors else (raw, p, error)
                for raw, p, error in outcomes]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _advance(self, folder_state_id: int, checkpoint: _Checkpoint, done: set[str]) -> None:
        with self.store.begin() as s:
            self._advance_in(s, folder_state_id, checkpoint, done)

    @staticmethod
    def _advance_in(s: Session, folder_state_id: int, checkpoint: _Checkpoint, done: set[str]) -> None:
        last = checkpoint.advance(done)
        fs = s.get(FolderState, folder_state_id)
        if fs is not None and last > fs.last_uid:
            fs.last_uid = last


# --------------------------------------------------------------------------- helpers


class _Checkpoint:
    """The highest UID below which every key is done: the checkpoint only moves past
    a message once it is recorded or quarantined. Maildir keys are not numbers and
    leave it at 0 (their checkpoint is the ledger itself)."""

    def __init__(self, keys: Sequence[str], last_uid: int) -> None:
        self.order = [int(k) for k in keys if k.isdigit()]
        self.order.sort()
        self.pos = 0
        self.last = last_uid

    def advance(self, done: set[str]) -> int:
        while self.pos < len(self.order) and str(self.order[self.pos]) in done:
            self.last = self.order[self.pos]
            self.pos += 1
        return self.last


def _batches(todo: list[str], tried: dict[str, int], size: int) -> list[list[str]]:
    """Batches in key order; a key that failed before goes alone, so it cannot sink others."""
    out: list[list[str]] = []
    current: list[str] = []
    for key in todo:
        if tried.get(key):
            if current:
                out.append(current)
                current = []
            out.append([key])
            continue
        current.append(key)
        if len(current) >= size:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _match(seen: dict[str, list[tuple[int, str]]], processed: Processed) -> int | None:
    """The record this message duplicates: same bytes and same Message-ID in this mailbox."""
    for rid, mid in seen.get(processed.digest, ()):
        if mid == processed.message.message_id:
            return rid
    return None


@dataclass
class _Job:
    """A claimed batch on its way through processing."""

    batch: list[str]
    raws: list[RawMessage]
    complete: bool
    claims: dict[str, ledger.Claim]
    runnable: list[RawMessage] = field(default_factory=list)
    given_up: dict[str, str] = field(default_factory=dict)
    results: list[tuple[Processed | None, str]] | None = None
    futures: list[Future[list[tuple[Processed | None, str]]]] = field(default_factory=list)
    generation: int = 0  # the pool it was submitted to


def _safe_many(processor: Processor, raws: list[RawMessage]) -> list[tuple[Processed | None, str]]:
    return [_safe(processor, raw) for raw in raws]


def _safe(processor: Processor, raw: RawMessage) -> tuple[Processed | None, str]:
    """The processor's result, or the error it raised: a bug on odd mail must not stop the batch."""
    try:
        return processor(raw), ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {_clip(str(exc))}"


def _same(a: Processed, b: Processed) -> bool:
    return a.digest == b.digest and a.message.message_id == b.message.message_id


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _clip(text: str, n: int = 300) -> str:
    # Exception text from a parser may quote the message; keep it short, it stays in the store only.
    return text[:n]


class _Prefetcher:
    """Fetches batches in a thread while the caller parses the previous one.

    Yields (batch keys, raws, complete) where complete is False when the
    connection failed part way; the error is raised after that partial batch.
    Holds at most `budget` bytes of fetched mail at a time.
    """

    _END = object()

    def __init__(self, source: MailSource, folder: str, batches: list[list[str]], budget: int) -> None:
        self.source, self.folder, self.batches, self.budget = source, folder, batches, budget
        self.queue: deque[object] = deque()
        self.cond = threading.Condition()
        self.bytes = 0
        self.closed = False
        self.thread = threading.Thread(target=self._run, name=f"fetch-{source.name}", daemon=True)
        self.thread.start()

    def _put(self, item: object, size: int = 0) -> bool:
        with self.cond:
            while self.bytes > self.budget and not self.closed:
                self.cond.wait()
            if self.closed:
                return False
            self.queue.append(item)
            self.bytes += size
            self.cond.notify_all()
            return True

    def _run(self) -> None:
        try:
            for batch in self.batches:
                raws: list[RawMessage] = []
                size = 0
                try:
                    for raw in self.source.fetch(self.folder, batch):
                        raws.append(raw)
                        size += len(raw.raw)
                except BaseException as exc:
                    self._put((batch, raws, False), size)
                    self._put(exc)
                    return
                if not self._put((batch, raws, True), size):
                    return
        finally:
            self._put(self._END)

    def __iter__(self) -> Iterator[tuple[list[str], list[RawMessage], bool]]:
        while True:
            with self.cond:
                while not self.queue:
                    self.cond.wait()
                item = self.queue.popleft()
                if isinstance(item, tuple):
                    self.bytes -= sum(len(r.raw) for r in item[1])
                self.cond.notify_all()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.thread.join(timeout=30)
