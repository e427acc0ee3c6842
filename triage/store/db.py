"""Engine, sessions and the schema's version.

The caller owns transactions: `with store.begin() as session:`. A SQLite store
uses WAL and a busy timeout so the worker's threads and `triage status` can
share it; PostgreSQL is chosen by URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import now
from triage.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


class Store:
    """The database: sessions and schema checks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def session(self) -> Session:
        return self._sessions()

    def check_schema(self) -> None:
        """Refuse a schema this version does not know; say what to run for an old one."""
        try:
            current = current_revision(self.engine)
            tables = set(inspect(self.engine).get_table_names())
        except OperationalError as exc:
            raise StoreError(f"the store at {_safe_url(self.url)} cannot be opened: {exc.orig}") from None
        head = head_revision()
        if current == head:
            return
        if current is None:
            if tables - {"alembic_version"}:
                raise StoreError("the store holds tables but no schema version; it was not made by triage")
            raise StoreError("the store is empty: run `triage db upgrade` first")
        script = ScriptDirectory.from_config(_alembic_config(self.url))
        if current not in {r.revision for r in script.walk_revisions()}:
            raise StoreError(f"the store's schema {current} is unknown to this version of triage "
                             f"(newest known: {head}); upgrade triage, do not start on it")
        raise StoreError(f"the store's schema {current} is older than {head}: run `triage db upgrade`")

    def upgrade(self, *, backup_dir: Path | None = None) -> Path | None:
        """Migrate to the newest schema, backing up a SQLite file first. Returns the backup path."""
        backup = None
        current = current_revision(self.engine)
        if self.is_sqlite and current is not None and current != head_revision():
            src = Path(self.url.split("///", 1)[-1])
            if src.exists():
                folder = backup_dir or src.parent
                folder.mkdir(parents=True, exist_ok=True)
                backup = folder / f"{src.name}.{now():%Y%m%dT%H%M%SZ}.{current}.bak"
                with self.engine.connect() as conn:  # a consistent copy even in WAL mode
                    conn.exec_driver_sql(f"VACUUM INTO '{backup}'")
        with self.engine.begin() as conn:
            cfg = _alembic_config(self.url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return backup

    def ensure_schema(self) -> None:
        """Create the schema on an empty store; otherwise demand a known one."""
        if current_revision(self.engine) is None and not set(inspect(self.engine).get_table_names()):
            self.upgrade()
        self.check_schema()

    def dispose(self) -> None:
        self.engine.dispose()


def _safe_url(url: str) -> str:
    """The URL without a password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


