"""The SMTP mailer against aiosmtpd with STARTTLS, certificate verification and a login."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from dovecot_fixture import _certificate

from triage.config import SmtpConfig
from triage.errors import SourceError
from triage.mailer import Mailer


class TlsSink:
    def __init__(self, folder: Path) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        cert, key = _certificate(folder)
        self.ca_file = str(cert)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.received: list[tuple[list[str], bytes]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                sink.received.append((list(envelope.rcpt_tos), envelope.content))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, data):  # type: ignore[no-untyped-def]
            ok = isinstance(data, LoginPassword) and data.login == b"triage" and data.password == b"s3cret"
            return AuthResult(success=ok, handled=False)

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, authenticator=authenticator, auth_require_tls=True)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def tls_sink(tmp_path: Path) -> Iterator[TlsSink]:
    sink = TlsSink(tmp_path)
    yield sink
    sink.stop()


def config(sink: TlsSink, tmp_path: Path, **kw: object) -> SmtpConfig:
    (tmp_path / "smtp.pw").write_text("s3cret\n")
    base: dict[str, object] = {
        "host": "127.0.0.1", "port": sink.port, "security": "starttls", "verify_tls": True, "ca_file": sink.ca_file,
        "username": "triage", "password_file": str(tmp_path / "smtp.pw"), "from_address": "triage@dmh.example.org",
        "timeout": 5.0}
    return SmtpConfig(**{**base, **kw})  # type: ignore[arg-type]


def alert() -> EmailMessage:
    m = EmailMessage()
    m["To"] = "oncall@dmh.example.org"
    m["Subject"] = "[triage] EMERGENT item 7"
    m.set_content("item 7")
    return m


def test_starttls_verified_and_authenticated(tls_sink: TlsSink, tmp_path: Path) -> None:
    Mailer(config(tls_sink, tmp_path)).send(alert(), ["oncall@dmh.example.org"])
    [(rcpt, content)] = tls_sink.received
    assert rcpt == ["oncall@dmh.example.org"] and b"item 7" in content


def test_a_certificate_that_is_not_trusted_is_refused(tls_sink: TlsSink, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="SSL"):
        Mailer(config(tls_sink, tmp_path, ca_file="")).send(alert(), ["oncall@dmh.example.org"])
    assert tls_sink.received == []


def test_a_wrong_password_is_a_clear_error(tls_sink: TlsSink, tmp_path: Path) -> None:
    cfg = config(tls_sink, tmp_path)
    (tmp_path / "smtp.pw").write_text("wrong\n")
    with pytest.raises(SourceError, match="login refused"):
        Mailer(cfg).send(alert(), ["oncall@dmh.example.org"])


def test_the_server_down_is_transient(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cfg = SmtpConfig(host="127.0.0.1", port=port, security="plain", timeout=2.0)
    with pytest.raises(SourceError) as exc:
        Mailer(cfg).send(alert(), ["oncall@dmh.example.org"])
    assert exc.value.transient
