"""`triage check`: everything an administrator should see pass before the first start.

Each check yields (ok, line); the line says what was tested and, on failure, why. ok is None for a
warning: something a pilot can run without (no SMTP server yet) but production cannot.
Later stages add their own checks here (SMTP, drafts folders, models).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from triage.config import Config, load_config
from triage.errors import TriageError


def run_checks(config_path: str) -> Iterator[tuple[bool | None, str]]:
    try:
        config = load_config(config_path)
    except TriageError as exc:
        yield False, f"config: {exc}"
        return
    yield True, f"config: {config_path} is valid ({len(config.mailboxes)} mailboxes, {len(config.programs)} programs)"
    yield from _config_file_mode(config_path)
    yield from _store(config)
    yield from _key(config)
    yield from _forms(config)
    yield from _smtp(config)
    for mailbox in config.mailboxes:
        if mailbox.enabled:
            yield from _mailbox(config, mailbox.name)


def _config_file_mode(path: str) -> Iterator[tuple[bool | None, str]]:
    mode = os.stat(path).st_mode
    if mode & 0o002:
        yield False, f"config: {path} is writable by anyone; run chmod o-w {path}"
    elif mode & 0o004:
        # It holds no secret by design, but it names mailboxes, servers and where secrets live.
        yield None, f"config: {path} is readable by anyone; run chmod o-r {path}"


def _store(config: Config) -> Iterator[tuple[bool, str]]:
    from triage.store import Store
    from triage.store.db import _safe_url

    try:
        store = Store(config.store.url)
        store.ensure_schema()
    except TriageError as exc:
        yield False, f"store: {exc}"
        return
    except Exception as exc:  # a driver error: name it, it is about the database, not mail
        yield False, f"store: {_safe_url(config.store.url)} cannot be used: {type(exc).__name__}: {exc}"
        return
    yield True, f"store: {_safe_url(config.store.url)} opens and has the current schema"
    store.dispose()


def _key(config: Config) -> Iterator[tuple[bool, str]]:
    from triage.crypto import load_crypto

    try:
        crypto = load_crypto(config.store.key_env, config.store.key_file)
        assert crypto.decrypt(crypto.encrypt(b"check")) == b"check"
    except TriageError as exc:
        yield False, f"encryption key: {exc}"
        return
    where = f"${config.store.key_env}" if os.environ.get(config.store.key_env) else str(config.store.key_file)
    yield True, f"encryption key: from {where}"


def _mailbox(config: Config, name: str) -> Iterator[tuple[bool, str]]:
    from triage.worker import make_source

    mailbox = config.mailbox(name)
    label = f"mailbox {name}"
    source = make_source(config, mailbox)
    try:
        source.connect()
    except TriageError as exc:
        yield False, f"{label}: cannot log in: {exc}"
        return
    yield True, f"{label}: logged in ({mailbox.kind})"
    try:
        for folder in mailbox.folders:
            try:
                status = source.select(folder)
            except TriageError as exc:
                yield False, f"{label}: folder {folder!r}: {exc}"
                continue
            yield True, f"{label}: folder {folder!r} opens ({status.exists} messages)"
            keywords = getattr(source, "supports_keywords", None)
            if keywords is not None:
                try:
                    ok = keywords(folder)
                except TriageError as exc:
                    yield False, f"{label}: folder {folder!r}: cannot read PERMANENTFLAGS: {exc}"
                    continue
                yield True, (f"{label}: folder {folder!r} keeps custom keywords" if ok else
                             f"{label}: folder {folder!r} refuses custom keywords; flags will be shown by "
                             f"copying to a folder and \\Flagged")
    finally:
        source.close()


def _forms(config: Config) -> Iterator[tuple[bool | None, str]]:
    """Standard 10: a rights reply attaches the approved form for each right."""
    for right in ("access", "amendment", "accounting", "restriction", "confidential_communication"):
        path = config.forms.get(right)
        if path is None:
            yield None, f"forms: no form is configured for {right} ([forms] {right}): no rights reply can be drafted"
        elif not path.is_file():
            yield None, f"forms: {right}: {path} does not exist: no rights reply can be drafted for it"
        else:
            yield True, f"forms: {right}: {path.name}"


def _smtp(config: Config) -> Iterator[tuple[bool | None, str]]:
    """Emergent alerts go by SMTP: the server must answer (and accept the login, when one is set)."""
    from triage.mailer import Mailer

    c = config.smtp
    if not c.host:
        yield None, "smtp: no server configured ([smtp] host): emergent alerts are recorded but cannot be sent"
        return
    try:
        Mailer(c, base_dir=config.path.resolve().parent if config.path else None).verify()
    except TriageError as exc:
        yield False, f"smtp: {c.host}:{c.port} ({c.security}): {exc}"
        return
    yield True, f"smtp: {c.host}:{c.port} answers ({c.security}{', login accepted' if c.username else ''})"
