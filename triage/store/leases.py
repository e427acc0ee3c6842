"""Who may poll a mailbox now, when several workers share one PostgreSQL store.

A lease is a PostgreSQL session-level advisory lock on the mailbox, held on one connection the
worker keeps for the purpose while it polls that mailbox and works its outbox. The issue asked for
rows claimed with `SELECT ... FOR UPDATE SKIP LOCKED` and an expiry renewed while working; an
advisory lock gives the same guarantee (no mailbox polled by two workers at once) with a better
failure mode: when a worker dies, even by SIGKILL, the server drops its connection and the lock
with it, so another worker takes the mailbox over on its next tick instead of after an expiry, and
no clock (a jump, a skew between hosts) can let two workers hold it at once. Work that belongs to
no mailbox (alerts, escalations) is taken the same way under one lock for the whole department.

SQLite has a single worker (`Worker.claim_sqlite`): every lease is granted there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

from triage.store import Store

MAILBOX_SPACE = 0x7472  # the advisory lock key is (space, id): "tr"
MAIL_ACTIONS_KEY = 1  # in space 0x7473: the department's alerts and escalations


class Leases:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: Connection | None = None
        self._lock = threading.Lock()  # one connection, used by every poll thread of this worker

    @property
    def shared(self) -> bool:
        return self.store.engine.dialect.name == "postgresql"

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _try(self, space: int, key: int) -> bool:
        with self._lock:
            try:
                return bool(self._connection().execute(text("SELECT pg_try_advisory_lock(:s, :k)"),
                                                       {"s": space, "k": key}).scalar())
            except Exception:
                self._drop()
                raise

    def _release(self, space: int, key: int) -> None:
        with self._lock:
            if self._conn is None:
                return
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:s, :k)"), {"s": space, "k": key})
            except Exception:
                self._drop()  # the connection is gone, and every lock it held with it

    @contextmanager
    def mailbox(self, mailbox_id: int) -> Iterator[bool]:
        """Yields True when this worker holds the mailbox for the block, False when another one does."""
        if not self.shared:
            yield True
            return
        held = self._try(MAILBOX_SPACE, mailbox_id)
        try:
            yield held
        finally:
            if held:
                self._release(MAILBOX_SPACE, mailbox_id)

    @contextmanager
    def mail_actions(self) -> Iterator[bool]:
        if not self.shared:
            yield True
            return
        held = self._try(MAILBOX_SPACE + 1, MAIL_ACTIONS_KEY)
        try:
            yield held
        finally:
            if held:
                self._release(MAILBOX_SPACE + 1, MAIL_ACTIONS_KEY)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                conn.invalidate()

    def close(self) -> None:
        with self._lock:
            self._drop()
