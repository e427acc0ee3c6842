"""The store: SQLAlchemy models, sessions, migrations and the queries that use them."""

from triage.store.db import Store

__all__ = ["Store"]
