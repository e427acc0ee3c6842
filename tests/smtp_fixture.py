"""A real SMTP server for tests: aiosmtpd on a loopback port, keeping what it receives."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest


class SmtpSink:
    """aiosmtpd's Controller with a handler that keeps every message; `stop()`/`start()` take it down and up."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[tuple[list[str], EmailMessage]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                sink.received.append((list(envelope.rcpt_tos),
                                      message_from_bytes(envelope.content, policy=policy.default)))  # type: ignore[arg-type]
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._controller_class = Controller
        self._handler = Handler()
        self.controller = None
        self.start()

    def start(self) -> None:
        self.controller = self._controller_class(self._handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        from conftest import require

        require("aiosmtpd (pip install aiosmtpd)", False)
    sink = SmtpSink()
    yield sink
    sink.stop()
