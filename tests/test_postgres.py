"""The same store on PostgreSQL (127.0.0.1:5432, trust auth): migrations, UTC times, ingestion."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import require
from sqlalchemy import create_engine, func, select, text

from triage.config import Config
from triage.crypto import load_crypto
from triage.ingest import Ingestor, IngestSettings
from triage.sources.maildir import MaildirSource
from triage.store import Store
from triage.store.models import MessageRecord
from triage.store.org import sync_organisation

pytestmark = pytest.mark.postgres
ADMIN_URL = os.environ.get("TRIAGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _reachable() -> bool:
    engine = create_engine(ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    require(f"PostgreSQL at {ADMIN_URL.split('@')[-1]}", _reachable())
    name = f"triage_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_ingestion_on_postgresql(pg_url: str, maildir_config: Callable[..., Config]) -> None:
    config = maildir_config(12)
    path = Path(config.mailboxes[0].path)
    store = Store(pg_url)
    store.ensure_schema()
    store.check_schema()
    crypto = load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file)
    with store.begin() as s:
        mailbox_id = sync_organisation(s, config)["alex"]
    with store.begin() as s:
        sync_organisation(s, config)  # idempotent on a second start
    ingest = Ingestor(store, crypto, IngestSettings(batch_size=5))
    r = ingest.poll(mailbox_id, MaildirSource("alex", path), ["INBOX"])
    assert (r.total("recorded"), r.error) == (12, "")
    assert ingest.poll(mailbox_id, MaildirSource("alex", path), ["INBOX"]).total("new") == 0
    with store.begin() as s:
        assert s.scalar(select(func.count()).select_from(MessageRecord)) == 12
        row = s.scalars(select(MessageRecord).limit(1)).one()
        assert row.recorded_at.utcoffset() is not None and row.received_at is not None
    store.dispose()


def test_the_audit_chain_holds_with_several_writers_at_once(pg_url: str) -> None:
    """Eight threads (as several workers would) append to the trail at once: the advisory lock keeps
    ids committed in order, so the chain verifies."""
    import threading

    from triage.store import ledger
    from triage.store.audit import verify

    store = Store(pg_url)
    store.ensure_schema()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(25):
                with store.begin() as s:
                    ledger.audit(s, "concurrent", actor=f"worker-{n}", i=i)
                    ledger.audit(s, "concurrent_second", actor=f"worker-{n}", i=i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.begin() as s:
        result = verify(s)
    store.dispose()
    assert result.broken_at is None and result.entries == 8 * 25 * 2


def test_the_database_unreachable_for_a_while_then_back(pg_url: str, tmp_path: Path,
                                                        maildir: Callable[..., tuple[Path, list[str]]]) -> None:
    """PostgreSQL behind a proxy that goes down: polls report the store error and the worker keeps
    going; when it is back, every message is recorded once. (A minute is stood for by a few polls.)"""
    from conftest import write_config
    from dovecot_fixture import DroppingProxy

    from triage.config import load_config
    from triage.worker import Worker

    store = Store(pg_url)
    store.ensure_schema()
    store.dispose()
    proxy = DroppingProxy(5432, limit=10**12)
    url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    path, _ = maildir(5)
    cfg = write_config(tmp_path, f"""
        [[mailboxes]]
        name = "alex"
        clinician = "alex.morgan@dmh.example.org"
        kind = "maildir"
        path = "{path}"
    """)
    cfg.write_text(cfg.read_text().replace(f'url = "sqlite:///{tmp_path / "triage.db"}"', f'url = "{url}"'))
    config = load_config(cfg)
    store = Store(config.store.url)
    w = Worker(config, store, load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file))
    try:
        assert w.poll_all()[0].total("recorded") == 5
        proxy.down()
        import mailbox as mb

        box = mb.Maildir(path, create=False)
        for i in range(5, 12):
            box.add(make_mail_for(i))
        for _ in range(3):
            result = w.poll_all()[0]
            assert result.store_error and result.error.startswith("store: OperationalError")
        proxy.up()
        result = w.poll_all()[0]
        assert not result.error and result.total("recorded") == 7
    finally:
        w.close()
        proxy.close()
        store.dispose()
    check = Store(pg_url)
    with check.begin() as s:
        assert s.scalar(select(func.count()).select_from(MessageRecord)) == 12
        assert s.scalar(select(func.count(func.distinct(MessageRecord.message_id)))) == 12
    check.dispose()


def make_mail_for(i: int) -> bytes:
    from conftest import make_mail

    return make_mail(100 + i)
