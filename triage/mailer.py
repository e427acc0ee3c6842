"""Sending mail by SMTP: alerts, escalations, operator alerts and digests. Never to clients.

TLS (implicit) or STARTTLS with certificate verification by default; plain SMTP only
to a loopback host (the config refuses it elsewhere). A failure is a SourceError
that names the class of the problem and never the message.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from triage.config import SmtpConfig, read_secret
from triage.errors import ConfigError, SourceError
from triage.sources.imap import tls_context


class Mailer:
    def __init__(self, config: SmtpConfig, *, base_dir: Path | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.base_dir = base_dir
        self._ssl_context = ssl_context

    @property
    def configured(self) -> bool:
        return bool(self.config.host)

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or tls_context(self.config.verify_tls, self.config.ca_file)

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        """A connected, secured and logged-in session; SMTP errors become SourceError (class only)."""
        c = self.config
        if not c.host:
            raise ConfigError("no SMTP server is configured ([smtp] host)")
        try:
            if c.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            with smtp:
                smtp.ehlo()
                if c.security == "starttls":
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if c.username:
                    password = read_secret(c.password_env, c.password_file, what="SMTP password", base=self.base_dir)
                    smtp.login(c.username, password)
                yield smtp
        except smtplib.SMTPAuthenticationError as exc:
            raise SourceError(f"SMTP {c.host}: login refused ({exc.smtp_code})", transient=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise SourceError(f"SMTP {c.host}: every recipient was refused ({len(exc.recipients)})",
                              transient=True) from None
        except smtplib.SMTPResponseException as exc:
            raise SourceError(f"SMTP {c.host}: the server answered {exc.smtp_code}", transient=True) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise SourceError(f"SMTP {c.host}:{c.port}: {type(exc).__name__}", transient=True) from None

    def verify(self) -> None:
        """Connect, secure and log in, send nothing (`triage check`); raises like send()."""
        with self._session():
            pass

    def send(self, message: EmailMessage, recipients: list[str]) -> None:
        """Send one message to these envelope recipients; raises SourceError when it could not."""
        if "From" not in message:
            message["From"] = self.config.from_address
        with self._session() as smtp:
            refused = smtp.send_message(message, from_addr=self.config.from_address, to_addrs=recipients)
        if refused:
            raise SourceError(f"SMTP {self.config.host}: {len(refused)} recipient(s) refused", transient=True)
