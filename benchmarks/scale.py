"""Several workers on one PostgreSQL store (issue 7): messages per second with 1 and 2 `triage run`
processes over MAILBOXES Maildir mailboxes x MESSAGES messages, and the idle-poll cost per mailbox.

    python benchmarks/scale.py [--mailboxes 200] [--messages 500] [--workers 1 2]

Needs PostgreSQL at 127.0.0.1:5432 (trust auth; a throwaway database is made and dropped). Maildir
stands in for IMAP (fetching is cheap beside parsing and assessing: about 25,000 msg/s from a local
Dovecot, RESEARCH.md), so the figure is what the store, the parse and the assessment allow.
"""

from __future__ import annotations

import argparse
import mailbox
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def make_mail(n: int, box: int) -> bytes:
    from conftest import make_mail as mm

    body = ("i have the pills saved for tonight" if n % 50 == 0 else
            "hi, can we move my appointment to thursday afternoon? thanks, see you then. " * (1 + n % 4))
    return mm(n, body=body).replace(b"<msg-", f"<b{box}-".encode())


def run(mailboxes: int, messages: int, workers: int, work: Path) -> dict[str, float]:
    name = f"triage_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        boxes = []
        for b in range(mailboxes):
            path = work / f"box{b}"
            md = mailbox.Maildir(path, create=True)
            for n in range(messages):
                md.add(make_mail(n, b))
            boxes.append(path)
        cfg = work / "config.toml"
        cfg.write_text(f"""
[store]
url = "{url}"
data_dir = "{work / 'data'}"
[worker]
poll_interval_seconds = 5
batch_size = 100
log_level = "WARNING"
[department]
domains = ["dmh.example.org"]
[[programs]]
id = "p"
name = "P"
email_approved = true
approved_by = "M"
approved_on = 2026-01-01
[[clinicians]]
email = "alex.morgan@dmh.example.org"
name = "Alex"
program = "p"
""" + "".join(f"""
[[mailboxes]]
name = "b{b}"
clinician = "alex.morgan@dmh.example.org"
kind = "maildir"
path = "{p}"
""" for b, p in enumerate(boxes)))
        from triage.crypto import load_crypto
        from triage.store import Store
        from triage.store.models import MessageRecord

        load_crypto("NO_SUCH_ENV", work / "data" / "triage.key")
        store = Store(url)
        store.ensure_schema()
        total = mailboxes * messages
        env = {**os.environ, "TRIAGE_KEY": "", "TRIAGE_CONFIG": str(cfg)}
        started = time.monotonic()
        procs = [subprocess.Popen([sys.executable, "-m", "triage.cli", "run"], env=env, cwd=work,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
        try:
            while True:
                with store.begin() as s:
                    done = s.scalar(select(func.count()).select_from(MessageRecord)) or 0
                if done >= total:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=60)
        # The idle poll: one pass over every mailbox with nothing new, in this process.
        from triage.config import load_config
        from triage.worker import Worker

        w = Worker(load_config(cfg), store, load_crypto("NO_SUCH_ENV", work / "data" / "triage.key"))
        w.poll_all()  # warm: checkpoints cached, as in a running worker
        t = time.monotonic()
        w.poll_all()
        idle = (time.monotonic() - t) / mailboxes
        w.close()
        store.dispose()
        return {"messages": total, "seconds": elapsed, "per_second": total / elapsed,
                "per_worker": total / elapsed / workers, "idle_ms_per_mailbox": idle * 1000}
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mailboxes", type=int, default=200)
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()
    print(f"{args.mailboxes} mailboxes x {args.messages} messages on PostgreSQL; {os.cpu_count()} cores shared "
          "with PostgreSQL")
    for n in args.workers:
        with tempfile.TemporaryDirectory() as d:
            r = run(args.mailboxes, args.messages, n, Path(d))
        print(f"{n} worker(s): {r['messages']:,} messages in {r['seconds']:.1f} s = {r['per_second']:.0f} msg/s "
              f"({r['per_worker']:.0f} per worker); idle poll {r['idle_ms_per_mailbox']:.2f} ms per mailbox")


if __name__ == "__main__":
    main()
