"""`triage keys rotate`: every stored text re-encrypted under a new key, resumably; the old key refused."""

from __future__ import annotations

import mailbox
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import make_mail
from sqlalchemy import select
from test_assess_store import REGISTRY, KeywordDetector

from triage import cli
from triage.assess import StoreAssessor
from triage.config import Config
from triage.crypto import Crypto, load_crypto
from triage.errors import SecretError
from triage.ingest import Ingestor, IngestSettings
from triage.keys import encrypted_columns, read_keys, rotate
from triage.registry import parse_csv
from triage.sources.maildir import MaildirSource
from triage.store import Store, assessments
from triage.store import consent as consent_store
from triage.store.models import MessageRecord


def filled(maildir_config: Callable[..., Config]) -> tuple[Config, Store]:
    config = maildir_config(6)
    store = Store(config.store.url)
    store.ensure_schema()
    crypto = load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file)
    with store.begin() as s:
        consent_store.save(s, crypto, parse_csv(REGISTRY))
    from triage.store.org import sync_organisation

    with store.begin() as s:
        mailbox_id = sync_organisation(s, config)["alex"]
    path = Path(config.mailboxes[0].path)
    mailbox.Maildir(path, create=False).add(make_mail(99, body="i have the pills tonight"))
    ingestor = Ingestor(store, crypto, IngestSettings(batch_size=3),
                        assessor=StoreAssessor(store, crypto, config, KeywordDetector()))
    ingestor.poll(mailbox_id, MaildirSource("alex", path), ("INBOX",))
    return config, store


def readable(store: Store, crypto: Crypto) -> int:
    with store.begin() as s:
        n = len(consent_store.load(s, crypto))
        for record in s.scalars(select(MessageRecord)):
            crypto.decrypt_json(record.facts_enc)  # type: ignore[arg-type]
            assert assessments.load(s, crypto, record.id) is not None
            n += 1
    return n


def test_rotation_reencrypts_everything_and_the_old_key_is_refused(maildir_config: Callable[..., Config]) -> None:
    config, store = filled(maildir_config)
    old = read_keys(config.store.key_file)
    old_crypto = Crypto(old)
    before = readable(store, old_crypto)
    result = rotate(store, config.store.key_file)
    assert result.started and result.finished
    assert result.reencrypted["messages.facts_enc"] == 7 and result.reencrypted["consent_records.data_enc"] == 2
    new = read_keys(config.store.key_file)
    assert len(new) == 1 and new != old
    assert config.store.key_file.stat().st_mode & 0o777 == 0o600
    assert readable(store, load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file)) == before
    with pytest.raises(SecretError):
        readable(store, old_crypto)
    store.dispose()


def test_an_interrupted_rotation_goes_on_where_it_stopped(maildir_config: Callable[..., Config]) -> None:
    config, store = filled(maildir_config)
    first = rotate(store, config.store.key_file, stop_after=5)  # as if the process died here
    assert first.started and not first.finished
    keys = read_keys(config.store.key_file)
    assert len(keys) == 2  # new first, old still there: everything stays readable meanwhile
    readable(store, Crypto(keys))
    second = rotate(store, config.store.key_file)
    assert not second.started and second.finished
    assert read_keys(config.store.key_file) == keys[:1]
    # Each text was re-encrypted once: 5 before the interruption, the rest after it.
    assert sum(second.reencrypted.values()) + 5 == encrypted_rows(store)
    readable(store, Crypto(keys[:1]))
    store.dispose()


def encrypted_rows(store: Store) -> int:
    from sqlalchemy import func

    with store.begin() as s:
        return sum(s.scalar(select(func.count()).select_from(t).where(t.c[c].is_not(None))) or 0
                   for t, c in encrypted_columns())


def test_every_encrypted_column_is_covered() -> None:
    names = {f"{t.name}.{c}" for t, c in encrypted_columns()}
    assert {"messages.facts_enc", "quarantine.raw_enc", "consent_records.data_enc", "assessments.detail_enc",
            "outbox.payload_enc"} <= names


def test_the_command_refuses_while_a_worker_is_alive(maildir_config: Callable[..., Config],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from triage.store import ledger

    config, store = filled(maildir_config)
    with store.begin() as s:
        ledger.heartbeat(s, "host-a:1", started=True, polled=True)
    assert config.path is not None
    assert cli.main(["--config", str(config.path), "keys", "rotate"]) == 2
    assert "look alive" in capsys.readouterr().err
    assert cli.main(["--config", str(config.path), "keys", "rotate", "--force"]) == 0
    assert len(read_keys(config.store.key_file)) == 1
    store.dispose()


def test_a_key_from_the_environment_is_rotated_by_the_administrator(
        maildir_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    config, store = filled(maildir_config)
    old = read_keys(config.store.key_file)[0]
    new = Fernet.generate_key()
    result = rotate(store, None, env_keys=[new, old])
    assert result.finished
    readable(store, Crypto([new]))
    with pytest.raises(SecretError, match="NEW OLD"):
        rotate(store, None, env_keys=[new])
    monkeypatch.setenv("TRIAGE_TEST_KEYS", f"{new.decode()} {old.decode()}")
    assert len(os.environ["TRIAGE_TEST_KEYS"].split()) == 2
    readable(store, load_crypto("TRIAGE_TEST_KEYS", config.store.key_file))
    store.dispose()
