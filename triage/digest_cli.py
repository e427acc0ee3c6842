"""The `digest` subcommand; cli.py adds it with `register(subparsers)`.

`triage digest --print` writes the plain-text digest to stdout, `--preview FILE.html` writes the
HTML with its chart and records nothing, `--send` mails it now to the program's recipients who
do not have it for that period yet (and records it, so the worker will not send it again). The
period is the local day (or the seven days) before `--end`, default today, in the program's zone.
A digest holds item numbers, flags, mailbox names and staff addresses: no message text.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from triage import digest
from triage.clock import now
from triage.clocks import local_date
from triage.errors import TriageError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    d = subparsers.add_parser("digest", help="a program's supervisor digest: print it, preview it as HTML, or mail "
                              "it now (item numbers and counts; no message text)")
    d.add_argument("--program", metavar="ID", help="one program (default: every program)")
    d.add_argument("--period", choices=digest.PERIODS, default="day",
                   help="the day before --end, or the seven days before it (default day)")
    d.add_argument("--end", metavar="YYYY-MM-DD", type=date.fromisoformat,
                   help="the period ends at the start of this local day (default today)")
    how = d.add_mutually_exclusive_group()
    how.add_argument("--print", dest="print_", action="store_true", help="write the text digest to stdout (default)")
    how.add_argument("--preview", metavar="FILE.html", type=Path,
                     help="write the HTML digest with its chart to a file; sends and records nothing")
    how.add_argument("--send", action="store_true",
                     help="mail it now to the program's supervisors and [digests] extra_recipients who do not "
                          "have it for this period yet")
    d.set_defaults(func=cmd_digest)


def cmd_digest(args: argparse.Namespace) -> int:
    from triage.config import load_config
    from triage.crypto import load_crypto
    from triage.mailer import Mailer
    from triage.store import Store

    config = load_config(args.config)
    programs = [p for p in config.programs if args.program in (None, p.id)]
    if not programs:
        raise TriageError(f"no program {args.program!r}; expected one of "
                          f"{', '.join(p.id for p in config.programs) or '(none)'}")
    store = Store(config.store.url)
    try:
        store.check_schema()
        crypto = load_crypto(config.store.key_env, config.store.key_file, create=False)
        t = now()
        failed = 0
        previews: list[digest.Digest] = []
        for p in programs:
            period = digest.period_ending(args.period, args.end or local_date(t, p.time_zone), p.time_zone)
            if args.send:
                if not digest.recipients(config, p):
                    print(f"{p.id}: no supervisors or extra_recipients; nothing to send")
                    continue
                mailer = Mailer(config.smtp, base_dir=config.path.resolve().parent if config.path else None)
                for r in digest.send_digest(store, crypto, config, mailer, p.id, period, t):
                    failed += r.status == "failed"
                    why = f": {r.error}" if r.error else ""
                    words = {"sent": "sent", "already": "already sent, skipped", "failed": "NOT SENT"}[r.status]
                    print(f"{p.id} {period.label}: {r.recipient}: {words}{why}")
                continue
            with store.begin() as s:
                built = digest.build_digest(s, crypto, config, p.id, period.start, period.end, t, kind=period.kind)
            if args.preview:
                previews.append(built)
            else:
                sys.stdout.write(digest.render_text(built))
                if len(programs) > 1:
                    sys.stdout.write("\n")
        if args.preview:
            _write(args.preview, digest.preview_html(previews))
            print(f"wrote {args.preview} ({len(previews)} digest{'' if len(previews) == 1 else 's'}); nothing sent "
                  "or recorded")
    finally:
        store.dispose()
    return 1 if failed else 0


def _write(path: Path, text: str) -> None:
    # Staff addresses and item numbers only, but still the department's business: not world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
