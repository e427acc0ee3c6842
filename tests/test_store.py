"""The store: schema versions, backups before migrating, UTC times, the unique key."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from triage.crypto import load_crypto
from triage.errors import SecretError, StoreError
from triage.store import Store
from triage.store.db import head_revision
from triage.store.models import Clinician, Mailbox, MessageRecord, Program


def test_empty_store_is_created_then_accepted(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    with pytest.raises(StoreError, match="triage db upgrade"):
        store.check_schema()
    store.ensure_schema()
    store.check_schema()


def test_unknown_schema_is_refused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    store.ensure_schema()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="unknown to this version"):
        store.check_schema()


def test_foreign_tables_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("CREATE TABLE stuff (x int)").connection.commit()
    with pytest.raises(StoreError, match="not made by triage"):
        Store(f"sqlite:///{db}").ensure_schema()


def test_upgrade_backs_up_sqlite_before_migrating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    assert store.upgrade(backup_dir=tmp_path / "b") is None  # an empty store has nothing to back up
    _org(store)
    assert store.upgrade(backup_dir=tmp_path / "b") is None  # already current: no backup, no change
    # A newer triage with a migration to run: the backup is taken first and holds the data.
    import triage.store.db as db

    migrated: list[str] = []
    monkeypatch.setattr(db, "head_revision", lambda: "9999")
    monkeypatch.setattr(db.command, "upgrade", lambda cfg, rev: migrated.append(rev))
    backup = store.upgrade(backup_dir=tmp_path / "b")
    assert backup is not None and backup.exists() and migrated == ["head"]
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT name FROM mailboxes").fetchall() == [("m",)]
    assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]


def _org(store: Store) -> int:
    with store.begin() as s:
        s.add(Program(id="p", name="P", email_approved=True, approved_by="x", time_zone="UTC"))
        s.flush()
        s.add(Clinician(email="c@dmh.example.org", name="C", program_id="p", time_zone="UTC"))
        s.flush()
        mb = Mailbox(name="m", clinician_email="c@dmh.example.org", kind="maildir", settings={})
        s.add(mb)
        s.flush()
        return mb.id


def test_times_are_stored_utc_and_come_back_aware(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    store.ensure_schema()
    mb = _org(store)
    local = datetime(2026, 11, 16, 9, 0, tzinfo=timezone(timedelta(hours=-8)))
    with store.begin() as s:
        s.add(MessageRecord(mailbox_id=mb, folder="INBOX", uidvalidity=1, key="1", status="recorded",
                            digest="d", received_at=local))
    with store.begin() as s:
        row = s.query(MessageRecord).one()
        assert row.received_at == local and row.received_at.tzinfo == UTC
    with pytest.raises(Exception, match="naive datetime"), store.begin() as s:
        s.add(MessageRecord(mailbox_id=mb, folder="INBOX", uidvalidity=1, key="2", status="recorded",
                            digest="d", received_at=datetime(2026, 1, 1)))


def test_source_key_is_unique(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    store.ensure_schema()
    mb = _org(store)
    row = {"mailbox_id": mb, "folder": "INBOX", "uidvalidity": 7, "key": "42", "status": "recorded", "digest": "d"}
    with store.begin() as s:
        s.add(MessageRecord(**row))
    with pytest.raises(IntegrityError), store.begin() as s:
        s.add(MessageRecord(**row))


def test_key_file_is_created_private_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_KEY", raising=False)
    key = tmp_path / "data" / "triage.key"
    c1 = load_crypto("TRIAGE_KEY", key)
    assert key.stat().st_mode & 0o777 == 0o600
    token = c1.encrypt(b"evidence")
    assert b"evidence" not in token
    assert load_crypto("TRIAGE_KEY", key).decrypt(token) == b"evidence"
    monkeypatch.setenv("TRIAGE_KEY", "not-a-key")
    with pytest.raises(SecretError, match="not a valid Fernet key"):
        load_crypto("TRIAGE_KEY", key)


def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    """Every table and column of models.py comes from a migration (a missing migration fails here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from triage.store.models import Base

    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    store.ensure_schema()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.dispose()
    assert diff == []
