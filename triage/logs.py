"""Structured logs with no message content.

Code logs events and ids (`log.info("poll done", extra={"mailbox": ..., "new": 3})`),
never a body, subject or address. As a second line of defence every line passes
through a filter that masks anything shaped like an email address.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str) -> str:
    return _EMAIL.sub("<address>", text)


def describe(exc: BaseException | None) -> str:
    """An exception for a log line: its class and message, but never a database statement's
    parameters (SQLAlchemy puts them in the message, and they can hold message data)."""
    if exc is None:
        return ""
    orig = getattr(exc, "orig", None)
    if orig is not None and hasattr(exc, "statement"):
        return f"{type(exc).__name__}: {type(orig).__name__}: {str(orig).splitlines()[0][:200] if str(orig) else ''}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update(_fields(record))
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type and message only: a traceback's locals never reach the log.
            out["error"] = describe(record.exc_info[1])
        return redact(json.dumps(out, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{stamp} {record.levelname:<7} {record.getMessage()}" + (f"  {extra}" if extra else "")
        if record.exc_info and record.exc_info[0] is not None:
            line += f"  error={describe(record.exc_info[1])}"
        return redact(line)


def setup_logging(level: str = "INFO", fmt: str = "json", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that could echo protocol traffic stay quiet below WARNING.
    for noisy in ("imapclient", "imapclient.imaplib", "apscheduler", "alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # mail-parser logs about the mail it reads (content types, sometimes names): never into our logs.
    logging.getLogger("mailparser").setLevel(logging.CRITICAL + 1)
