"""Log lines hold events and ids: never an address, and never a database statement's parameters."""

from __future__ import annotations

import io
import json
import logging

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from triage.logs import setup_logging


def test_addresses_are_masked_and_statement_parameters_never_logged() -> None:
    stream = io.StringIO()
    setup_logging("INFO", "json", stream)
    log = logging.getLogger("triage.test")
    log.info("poll done", extra={"mailbox": "alex", "note": "from client@example.com"})
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM nowhere WHERE x = :x"), {"x": "secret-subject-line"})
    except SQLAlchemyError:
        log.exception("poll crashed")
    engine.dispose()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["note"] == "from <address>" and lines[0]["mailbox"] == "alex"
    assert lines[1]["error"].startswith("OperationalError: OperationalError: no such table")
    assert "secret-subject-line" not in stream.getvalue()
    setup_logging("WARNING", "text")
