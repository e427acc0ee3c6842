"""Ingestion on a Maildir (no server needed): exactly once, poison mail, duplicates, checkpoints."""

from __future__ import annotations

import mailbox
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import make_mail
from sqlalchemy import func, select

from triage.clock import now, set_clock
from triage.config import Config
from triage.crypto import load_crypto
from triage.ingest import Ingestor, IngestSettings
from triage.pipeline import process
from triage.sources.maildir import MaildirSource
from triage.store import Store, ledger
from triage.store.models import Attempt, AuditEvent, FolderState, MessageRecord, Quarantine
from triage.store.org import sync_organisation
from triage.values import RawMessage


class Env:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.store.url)
        self.store.ensure_schema()
        self.crypto = load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file)
        with self.store.begin() as s:
            self.mailbox_id = sync_organisation(s, config)["alex"]
        self.path = Path(config.mailboxes[0].path)

    def ingestor(self, processor: Callable[[RawMessage], object] = process, **settings: object) -> Ingestor:
        return Ingestor(self.store, self.crypto, IngestSettings(**{"batch_size": 4, **settings}),  # type: ignore[arg-type]
                        processor=processor)  # type: ignore[arg-type]

    def poll(self, ingestor: Ingestor | None = None, folders: tuple[str, ...] = ("INBOX",)):  # type: ignore[no-untyped-def]
        return (ingestor or self.ingestor()).poll(self.mailbox_id, MaildirSource("alex", self.path), folders)

    def count(self, status: str = "recorded") -> int:
        with self.store.begin() as s:
            return s.scalar(select(func.count()).select_from(MessageRecord).where(MessageRecord.status == status))


@pytest.fixture
def env(maildir_config: Callable[..., Config]) -> Callable[[int], Env]:
    return lambda n=5: Env(maildir_config(n))


def _snapshot(path: Path) -> dict[str, float]:
    return {str(p.relative_to(path)): p.stat().st_mtime for p in path.rglob("*") if p.is_file()}


def test_new_mail_is_recorded_once_and_files_are_untouched(env: Callable[[int], Env]) -> None:
    e = env(9)
    before = _snapshot(e.path)
    r = e.poll()
    assert (r.total("new"), r.total("recorded"), r.error) == (9, 9, "")
    assert e.count() == 9
    r2 = e.poll()
    assert (r2.total("new"), r2.total("recorded")) == (0, 0)
    assert _snapshot(e.path) == before  # never moves, renames or flags a file


def test_a_file_moved_to_cur_with_new_flags_is_not_recorded_again(env: Callable[[int], Env]) -> None:
    e = env(3)
    e.poll()
    md = mailbox.Maildir(e.path, create=False)
    for key in list(md.iterkeys()):  # what a mail client does when the clinician reads the mail
        msg = md.get_message(key)
        msg.set_subdir("cur")
        msg.add_flag("S")
        md[key] = msg
    assert len(list((e.path / "cur").iterdir())) == 3
    r = e.poll()
    assert r.total("new") == 0 and e.count() == 3


def test_facts_are_encrypted_and_no_body_is_stored(env: Callable[[int], Env]) -> None:
    e = env(1)
    e.poll()
    with e.store.begin() as s:
        row = s.scalars(select(MessageRecord)).one()
        facts = e.crypto.decrypt_json(row.facts_enc)
        assert facts["from"][1] == "client@example.com"
        assert row.message_id == "<msg-0@example.com>" and len(row.digest) == 64
    db = Path(e.config.store.url.split("///", 1)[1]).read_bytes()
    for word in (b"client@example.com", b"thursday", b"appointment 0"):
        assert word not in db


def test_a_failing_message_is_retried_then_quarantined_and_the_rest_go_on(env: Callable[[int], Env]) -> None:
    e = env(6)
    poison = sorted(MaildirSource("alex", e.path).search_after("INBOX", 0))[2]

    def processor(raw: RawMessage):  # type: ignore[no-untyped-def]
        if raw.key == poison:
            raise ValueError("parser exploded")
        return process(raw)

    ing = e.ingestor(processor, max_attempts=3)
    r1 = e.poll(ing)
    assert (r1.total("recorded"), r1.total("failed"), r1.total("quarantined")) == (5, 1, 0)
    with e.store.begin() as s:
        a = s.scalars(select(Attempt)).one()
        assert (a.key, a.attempts) == (poison, 1) and "ValueError: parser exploded" in a.last_error
    r2 = e.poll(ing)
    assert (r2.total("new"), r2.total("failed")) == (1, 1)
    r3 = e.poll(ing)
    assert r3.total("quarantined") == 1
    assert e.count() == 5 and e.count("quarantined") == 1
    with e.store.begin() as s:
        assert s.scalar(select(func.count()).select_from(Attempt)) == 0
        q = s.scalars(select(Quarantine)).one()
        assert e.crypto.decrypt(q.raw_enc) == (e.path / "new" / poison).read_bytes()
        assert q.purge_after - now() > timedelta(days=29)
        rec = s.get(MessageRecord, q.message_record_id)
        assert "ValueError" in rec.error
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "quarantined")) == 1
    assert e.poll(ing).total("new") == 0  # quarantined is done: never read again


def test_a_message_that_kills_the_worker_ends_in_quarantine(env: Callable[[int], Env]) -> None:
    """A crash is not an exception: the claim committed before the try is what counts it."""
    e = env(3)
    keys = sorted(MaildirSource("alex", e.path).search_after("INBOX", 0))

    class Crash(BaseException):
        pass

    def dies(raw: RawMessage):  # type: ignore[no-untyped-def]
        if raw.key == keys[1]:
            raise Crash  # stands in for SIGKILL / OOM: nothing after the claim is committed
        return process(raw)

    ing = e.ingestor(dies, max_attempts=2, batch_size=10)
    for _ in range(2):
        with pytest.raises(Crash):
            e.poll(ing)
    assert e.count() == 1  # the key before the killer went alone on the retry and was recorded
    # Third time: claimed more often than allowed, so it is quarantined without being processed.
    r = e.poll(ing)
    assert r.total("quarantined") == 1 and e.count() == 2 and e.count("quarantined") == 1
    with e.store.begin() as s:
        rec = s.scalars(select(MessageRecord).where(MessageRecord.status == "quarantined")).one()
        assert "worker stopped while processing it 2 times" in rec.error


def test_the_same_message_in_two_folders_is_recorded_once(env: Callable[[int], Env]) -> None:
    e = env(2)
    root = mailbox.Maildir(e.path, create=False)
    junk = root.add_folder("Junk")
    junk.add(make_mail(0))  # the clinician moved/copied it: same bytes, same Message-ID
    junk.add(make_mail(99))
    r = e.poll(folders=("INBOX", "Junk"))
    assert r.total("recorded") == 3 and r.total("duplicates") == 1
    with e.store.begin() as s:
        dup = s.scalars(select(MessageRecord).where(MessageRecord.status == "duplicate")).one()
        assert dup.duplicate_of_id is not None and dup.facts_enc is None


def test_missing_folder_is_reported_and_others_still_read(env: Callable[[int], Env]) -> None:
    e = env(2)
    r = e.poll(folders=("Nope", "INBOX"))
    assert "no folder 'Nope'" in r.error and r.total("recorded") == 2


def test_quarantined_bytes_are_purged_after_their_time(env: Callable[[int], Env]) -> None:
    e = env(1)

    def boom(raw: RawMessage):  # type: ignore[no-untyped-def]
        raise RuntimeError("x")

    e.poll(e.ingestor(boom, max_attempts=1, quarantine_days=30))
    with e.store.begin() as s:
        assert ledger.purge_quarantine(s) == 0
    later = now() + timedelta(days=31)
    set_clock(lambda: later)
    with e.store.begin() as s:
        assert ledger.purge_quarantine(s) == 1
    with e.store.begin() as s:
        q = s.scalars(select(Quarantine)).one()
        assert q.raw_enc is None and q.purged_at == later
        assert s.scalars(select(MessageRecord)).one().status == "quarantined"


def test_checkpoint_for_imap_keys_only_moves_past_done_messages(env: Callable[[int], Env]) -> None:
    """An in-memory source with UIDs: a failure at UID 3 holds the checkpoint at 2."""
    e = env(0)

    class Uids:
        name = "alex"

        def __init__(self) -> None:
            self.msgs = {uid: make_mail(uid) for uid in range(1, 7)}

        def connect(self) -> None: ...
        def close(self) -> None: ...

        def select(self, folder: str):  # type: ignore[no-untyped-def]
            from triage.sources import FolderStatus
            return FolderStatus(uidvalidity=77, exists=len(self.msgs))

        def search_after(self, folder: str, last_uid: int) -> list[str]:
            return [str(u) for u in sorted(self.msgs) if u > last_uid] or [str(max(self.msgs))]

        def fetch(self, folder: str, keys):  # type: ignore[no-untyped-def]
            for k in keys:
                if int(k) in self.msgs and k not in vanished:
                    yield RawMessage("alex", folder, 77, k, self.msgs[int(k)], uid=int(k))

    src = Uids()
    fail_on = {"3"}
    vanished = {"5"}  # expunged between SEARCH and FETCH: it will never come back

    def processor(raw: RawMessage):  # type: ignore[no-untyped-def]
        if raw.key in fail_on:
            raise ValueError("once")
        return process(raw)

    ing = e.ingestor(processor, batch_size=2, max_attempts=5)
    ing.poll(e.mailbox_id, src, ["INBOX"])
    with e.store.begin() as s:
        assert s.scalars(select(FolderState)).one().last_uid == 2
    fail_on.clear()
    r = ing.poll(e.mailbox_id, src, ["INBOX"])
    assert r.total("recorded") == 1
    with e.store.begin() as s:
        assert s.scalars(select(FolderState)).one().last_uid == 6
    assert e.count() == 5


def test_maildir_that_is_not_a_maildir_fails_clearly(tmp_path: Path) -> None:
    from triage.errors import SourceError

    with pytest.raises(SourceError, match="is not a Maildir"):
        MaildirSource("x", tmp_path).connect()


def poison_in_pool(raw: RawMessage):  # type: ignore[no-untyped-def]
    """Module level so a parser process can import it."""
    if b"message 2)" in raw.raw:
        raise ValueError("bad")
    if b"message 4)" in raw.raw:
        os._exit(9)  # the parser process dies, as on a segfault
    return process(raw)


def test_parser_processes_give_the_same_result_and_survive_a_dying_parser(env: Callable[[int], Env]) -> None:
    e = env(8)
    ing = e.ingestor(poison_in_pool, parse_processes=2, max_attempts=2, batch_size=8)
    try:
        r1 = e.poll(ing)
        # The pool broke on message 4: nothing of that batch was trusted; each key retries alone.
        assert r1.total("failed") == 8 and e.count() == 0
        r2 = e.poll(ing)
        assert e.count() == 6 and r2.total("quarantined") == 2
    finally:
        ing.close()
    with e.store.begin() as s:
        errors = sorted(s.scalars(select(MessageRecord.error).where(MessageRecord.status == "quarantined")))
    assert errors[0].startswith("ParserProcessDied") and errors[1].startswith("ValueError")
