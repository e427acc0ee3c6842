"""The audit trail is append-only and tamper-evident: a hash chain, `triage audit verify`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from triage import cli
from triage.config import Config
from triage.store import Store, ledger
from triage.store.audit import GENESIS, verify


@pytest.fixture
def store(maildir_config: Callable[..., Config]) -> Store:
    config = maildir_config(1)
    s = Store(config.store.url)
    s.ensure_schema()
    yield s  # type: ignore[misc]
    s.dispose()


def fill(store: Store, n: int) -> None:
    for i in range(n):
        with store.begin() as s:
            ledger.audit(s, "test_event", actor="tester", number=i, nested={"b": [1, 2], "a": "x"})
            if i % 3 == 0:
                ledger.audit(s, "second_in_same_transaction", number=i)


def test_a_fresh_trail_verifies_and_links_each_entry_to_the_last(store: Store) -> None:
    fill(store, 10)
    with store.begin() as s:
        result = verify(s)
        first = s.execute(text("SELECT prev_hash FROM audit ORDER BY id LIMIT 1")).scalar()
    assert result.broken_at is None and result.entries == 14 and len(result.head) == 64
    assert first == GENESIS


@pytest.mark.parametrize("tamper, why", [
    ("UPDATE audit SET detail = '{\"number\": 99}' WHERE id = 5", "changed"),
    ("UPDATE audit SET actor = 'someone else' WHERE id = 5", "changed"),
    ("DELETE FROM audit WHERE id = 5", "removed or inserted"),
    ("UPDATE audit SET at = '2020-01-01 00:00:00' WHERE id = 5", "changed"),
])
def test_a_changed_or_removed_entry_is_found(store: Store, tamper: str, why: str) -> None:
    fill(store, 8)
    with store.engine.begin() as conn:
        conn.execute(text(tamper))
    with store.begin() as s:
        result = verify(s)
    assert result.broken_at in (5, 6) and why in result.why


def test_the_command(maildir_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]) -> None:
    config = maildir_config(1)
    store = Store(config.store.url)
    store.ensure_schema()
    fill(store, 3)
    assert config.path is not None
    assert cli.main(["--config", str(config.path), "audit", "verify"]) == 0
    assert "PASS" in capsys.readouterr().out
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit SET action = 'nothing_to_see' WHERE id = 2"))
    assert cli.main(["--config", str(config.path), "audit", "verify"]) == 1
    assert "FAIL  audit entry 2" in capsys.readouterr().out
    store.dispose()


def test_the_migration_seals_entries_written_before_it(tmp_path: Path) -> None:
    from alembic import command

    from triage.store.db import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(_alembic_config(url), "0004")
    store = Store(url)
    with store.engine.begin() as conn:
        for i in range(4):
            conn.execute(text("INSERT INTO audit (at, actor, action, detail) VALUES "
                              "('2026-11-20 10:00:00.000000', 'worker', 'old_event', :d)"), {"d": f'{{"n": {i}}}'})
    store.upgrade(backup_dir=tmp_path / "backup")
    fill(store, 2)
    with store.begin() as s:
        result = verify(s)
    assert result.broken_at is None and result.entries == 4 + 2 + 1
    store.dispose()
