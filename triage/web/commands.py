"""`triage serve` and `triage user ...`; cli.py adds them with `register(subparsers)`.

`triage serve` runs the review pages under waitress (a production WSGI server, pure Python) on
`[web] host` and `port`; put a TLS-terminating proxy in front of it. `triage user add` makes a
local account: the password is asked twice (or read from --password-file) and stored as an
Argon2 hash.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from triage.errors import TriageError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = subparsers.add_parser("serve", help="the review pages (sign-in, the queue, items, help) on [web] host:port")
    s.add_argument("--host", help="listen on this address instead of [web] host")
    s.add_argument("--port", type=int, help="listen on this port instead of [web] port (0: any free port, printed)")
    s.set_defaults(func=cmd_serve)

    u = subparsers.add_parser("user", help="accounts of the review pages")
    usub = u.add_subparsers(metavar="ACTION")
    add = usub.add_parser("add", help="add an account: clinician (their mailboxes), supervisor (their program's), "
                          "administrator (all)")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=("clinician", "supervisor", "administrator"))
    add.add_argument("--program", metavar="ID", help="the program (required for a supervisor)")
    add.add_argument("--name", default="", help="display name (a clinician's defaults to [[clinicians]] name)")
    add.add_argument("--time-zone", default="", help="time zone for the times shown (default: the program's)")
    add.add_argument("--password-file", metavar="FILE", help="read the password from the first line of FILE "
                     "instead of asking twice")
    add.add_argument("--no-password", action="store_true", help="no local password: signs in only through the "
                     "trusted single-sign-on proxy ([web] trusted_proxies)")
    add.set_defaults(func=cmd_user_add)
    lst = usub.add_parser("list", help="every account with its role, program and state")
    lst.set_defaults(func=cmd_user_list)
    dis = usub.add_parser("disable", help="disable an account and end its sessions")
    dis.add_argument("email")
    dis.set_defaults(func=cmd_user_disable)
    ena = usub.add_parser("enable", help="enable a disabled account")
    ena.add_argument("email")
    ena.set_defaults(func=cmd_user_enable)
    pw = usub.add_parser("password", help="set a new password (unlocks the account, ends its sessions)")
    pw.add_argument("email")
    pw.add_argument("--password-file", metavar="FILE", help="read it from the first line of FILE")
    pw.set_defaults(func=cmd_user_password)


# --------------------------------------------------------------------------- helpers


def _open(args: argparse.Namespace, *, create_schema: bool = False):  # type: ignore[no-untyped-def]
    """The config and the store (accounts need no encryption key; `serve` loads it itself)."""
    from triage.config import load_config
    from triage.store import Store

    config = load_config(args.config)
    store = Store(config.store.url)
    try:
        if create_schema:
            store.ensure_schema()
        else:
            store.check_schema()
    except BaseException:
        store.dispose()
        raise
    return config, store


def _password(args: argparse.Namespace) -> str:
    from triage.web.accounts import check_password_strength

    if args.password_file:
        try:
            lines = Path(args.password_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise TriageError(f"cannot read {args.password_file}: {exc.strerror}") from None
        password = lines[0] if lines else ""
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise TriageError("the two passwords differ; nothing was changed")
    check_password_strength(password)
    return password


def _who() -> str:
    import os

    return f"cli:{os.environ.get('USER', '?')}"


# --------------------------------------------------------------------------- user


def cmd_user_add(args: argparse.Namespace) -> int:
    from triage.web import accounts

    password = "" if args.no_password else _password(args)
    config, store = _open(args, create_schema=True)
    try:
        with store.begin() as s:
            user = accounts.add_user(s, config, args.email, args.role, password=password, name=args.name,
                                     program=args.program, time_zone=args.time_zone, who=_who())
            line = f"added {user.email} ({user.role}{', program ' + user.program_id if user.program_id else ''})"
    finally:
        store.dispose()
    print(line)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from triage.web import accounts

    _, store = _open(args)
    try:
        with store.begin() as s:
            rows = [(u.email, u.name, u.role, u.program_id or "-", _state(u), _when(u.last_login_at))
                    for u in accounts.list_users(s)]
    finally:
        store.dispose()
    if not rows:
        print("no users (add one with `triage user add EMAIL --role ...`)")
        return 0
    header = ("EMAIL", "NAME", "ROLE", "PROGRAM", "STATE", "LAST SIGN-IN")
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _state(user: Any) -> str:
    from triage.clock import now

    if user.disabled:
        return "disabled"
    if user.locked_until is not None and user.locked_until > now():
        return "locked"
    return "active" if user.password_hash else "active (proxy only)"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    from triage.web import accounts

    _, store = _open(args)
    try:
        with store.begin() as s:
            accounts.set_disabled(s, args.email, disabled, who=_who())
    finally:
        store.dispose()
    print(f"{'disabled' if disabled else 'enabled'} {args.email.strip().lower()}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def cmd_user_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def cmd_user_password(args: argparse.Namespace) -> int:
    from triage.web import accounts

    password = _password(args)
    _, store = _open(args)
    try:
        with store.begin() as s:
            accounts.set_password(s, args.email, password, who=_who())
    finally:
        store.dispose()
    print(f"password set for {args.email.strip().lower()}")
    return 0


# --------------------------------------------------------------------------- serve


def cmd_serve(args: argparse.Namespace) -> int:
    from waitress import create_server

    from triage.crypto import load_crypto
    from triage.logs import setup_logging
    from triage.web import accounts
    from triage.web.app import create_app, load_secret_key

    config, store = _open(args, create_schema=True)
    setup_logging(config.worker.log_level, config.worker.log_format)
    host = args.host or config.web.host
    port = config.web.port if args.port is None else args.port
    try:
        # The worker's key: never a new one here, or notes written by the pages could not be read back.
        crypto = load_crypto(config.store.key_env, config.store.key_file, create=False)
        assert config.web.secret_key_file is not None
        app = create_app(config, store, crypto, secret_key=load_secret_key(config.web.secret_key_file))
        server = create_server(app, host=host, port=port, threads=config.web.threads, ident="triage",
                               clear_untrusted_proxy_headers=False, expose_tracebacks=False)

        def stop(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        bound = getattr(server, "effective_port", port)
        print(f"triage: serving the review pages on http://{host}:{bound}", flush=True)
        if not config.web.secure_cookies:
            print("triage: secure_cookies = false: for tests on localhost only", file=sys.stderr, flush=True)
        with store.begin() as s:
            if not accounts.list_users(s):
                print("triage: no one can sign in yet: add an account with `triage user add EMAIL --role ...`",
                      file=sys.stderr, flush=True)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
    finally:
        store.dispose()
    return 0
