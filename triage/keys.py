"""Rotating the encryption key of the store: every stored text re-encrypted, resumably.

The key file holds one key per line; the first encrypts, all decrypt. `rotate`:

1. puts a new key first (the old one stays second), unless a rotation is already under
   way (the file holds more than one key): then it goes on with that one;
2. re-encrypts every `*_enc` column of every table under the new key, in batches that
   each commit, skipping what the new key already reads (so a rerun after a crash
   starts where it stopped);
3. when nothing is left under an old key, rewrites the file with the new key alone: the
   old key is refused from then on.

Workers hold the key they started with, so rotation refuses to run while a worker
looks alive (a heartbeat newer than the stale limit and not stopped) unless forced.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import LargeBinary, Table, select, update

from triage.clock import now
from triage.errors import SecretError
from triage.store import Store
from triage.store.ledger import audit
from triage.store.models import Base, WorkerHeartbeat

BATCH = 500


@dataclass
class RotationResult:
    started: bool  # a new key was made (False: an earlier rotation was continued)
    reencrypted: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows
    finished: bool = False


def read_keys(key_file: Path) -> list[bytes]:
    return [k.encode() for k in key_file.read_text().split() if k]


def write_keys(key_file: Path, keys: list[bytes]) -> None:
    """Replace the key file atomically, mode 0600 from its first byte."""
    tmp = key_file.with_name(key_file.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(b"".join(k + b"\n" for k in keys))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, key_file)


def encrypted_columns() -> list[tuple[Table, str]]:
    """Every column that holds encrypted text: by convention a LargeBinary named *_enc."""
    out = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_enc") and isinstance(column.type, LargeBinary):
                out.append((table, column.name))
    return out


def live_workers(store: Store, stale_minutes: int) -> list[str]:
    limit = now() - timedelta(minutes=stale_minutes)
    with store.begin() as s:
        return [hb.name for hb in s.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.stopped_at.is_(None)))
                if (hb.last_poll_at or hb.started_at) >= limit]


def rotate(store: Store, key_file: Path | None, *, env_keys: list[bytes] | None = None, actor: str = "cli",
           progress: Callable[[str, int], None] | None = None, stop_after: int | None = None) -> RotationResult:
    """Rotate the key in `key_file` (see the module docstring). With `env_keys` (the key comes from the
    environment, "NEW OLD"), only re-encrypt under the first: the administrator then drops OLD from the
    variable. `stop_after` ends early after that many rows (tests use it to stand for a crash); the next
    call goes on from there."""
    if env_keys is not None:
        keys = env_keys
        if len(keys) < 2:
            raise SecretError("the key comes from the environment: put 'NEW OLD' in it first (see README, keys)")
    elif key_file is None or not key_file.exists():
        raise SecretError(f"no key file {key_file}: nothing to rotate")
    else:
        keys = read_keys(key_file)
    started = env_keys is None and len(keys) == 1
    if started:
        assert key_file is not None
        keys = [Fernet.generate_key(), *keys]
        write_keys(key_file, keys)
        with store.begin() as s:
            audit(s, "key_rotation_started", actor=actor)
    new, every = Fernet(keys[0]), MultiFernet([Fernet(k) for k in keys])
    result = RotationResult(started)
    budget = stop_after
    for table, name in encrypted_columns():
        column, pk = table.c[name], next(iter(table.primary_key.columns))
        done = 0
        last = None
        while True:
            with store.begin() as s:
                query = select(pk, column).where(column.is_not(None)).order_by(pk).limit(BATCH)
                if last is not None:
                    query = query.where(pk > last)
                rows = s.execute(query).all()
                if not rows:
                    break
                for key, token in rows:
                    last = key
                    try:
                        new.decrypt(token)
                        continue  # already under the new key
                    except InvalidToken:
                        pass
                    try:
                        fresh = every.rotate(token)
                    except InvalidToken:
                        raise SecretError(f"{table.name}.{name} row {key} cannot be decrypted with any of the "
                                          "keys; rotation stopped, nothing was lost") from None
                    s.execute(update(table).where(pk == key).values({name: fresh}))
                    done += 1
                    if budget is not None:
                        budget -= 1
                        if budget <= 0:
                            result.reencrypted[f"{table.name}.{name}"] = done
                            return result
        result.reencrypted[f"{table.name}.{name}"] = done
        if progress:
            progress(f"{table.name}.{name}", done)
    if key_file is not None and env_keys is None:
        write_keys(key_file, keys[:1])  # nothing is left under the old key: it is refused from now on
    with store.begin() as s:
        audit(s, "key_rotation_finished", actor=actor, rows=sum(result.reencrypted.values()))
    result.finished = True
    return result
