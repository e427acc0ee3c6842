"""Ingestion benchmark (issue 2): first ingest, the bare floor, idle polls, peak memory.

Fills a throwaway Dovecot (the test fixture's) with MAILBOXES x PER_MAILBOX
messages, then prints:
  (a) messages per second for a first ingest by triage (fetch, parse, record),
  (b) the floor: a bare imapclient BODY.PEEK[] fetch that parses each message
      with mail-parser and does nothing else,
  (c) the ratio a/b,
  (d) milliseconds per mailbox for a poll with no new mail on a kept connection,
  (e) peak memory (RSS high-water mark) of the triage run.
Run: .venv/bin/python benchmarks/ingest.py [--mailboxes 20] [--per-mailbox 1000] [--parse-processes N]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

WORDS = ("appointment", "thursday", "morning", "sorry", "running", "late", "meds", "sleep", "therapist", "group",
         "session", "paperwork", "insurance", "bus", "pharmacy", "refill", "anxious", "better", "worse", "week",
         "tomorrow", "call", "please", "thanks", "daughter", "school", "work", "letter", "form", "schedule",
         "reschedule", "cancel", "doctor")


def message(i: int, rng: random.Random) -> bytes:
    """A typical client message of 2-10 KB: plain or multipart, sometimes a quoted chain."""
    msg = EmailMessage()
    msg["From"] = f"client{i % 500}@example.com"
    msg["To"] = "clinician@dmh.example.org"
    msg["Subject"] = " ".join(rng.choices(WORDS, k=5))
    msg["Message-ID"] = f"<bench-{i}-{rng.random()}@example.com>"
    msg["Date"] = "Mon, 16 Nov 2026 09:00:00 -0800"
    paras = ["\n".join(textwrap.wrap(" ".join(rng.choices(WORDS, k=rng.randint(20, 120))), 72))
             for _ in range(rng.randint(1, 6))]
    body = "\n\n".join(paras)
    if rng.random() < 0.4:
        body += "\n\nOn Fri, Nov 13, 2026 at 4:02 PM Clinician wrote:\n" + "\n".join(
            "> " + line for line in paras[0].splitlines())
    msg.set_content(body)
    if rng.random() < 0.3:
        msg.add_alternative(f"<html><body><p>{body}</p></body></html>", subtype="html")
    return bytes(msg)


def bare_floor(host: str, port: int, users: list[str], password: str) -> float:
    """Messages per second for fetch + mail-parser only."""
    import mailparser
    from imapclient import IMAPClient

    n = 0
    start = time.perf_counter()
    for user in users:
        with IMAPClient(host, port=port, ssl=False) as c:
            c.login(user, password)
            c.select_folder("INBOX", readonly=True)
            uids = c.search(["ALL"])
            for i in range(0, len(uids), 100):
                for data in c.fetch(uids[i:i + 100], ["BODY.PEEK[]"]).values():
                    mailparser.parse_from_bytes(data[b"BODY[]"])
                    n += 1
    return n / (time.perf_counter() - start)


def run_triage(config: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(Path(__file__).parent / "_child.py"), str(config), *args],
                         capture_output=True, text=True, check=True)
    return time.perf_counter() - start, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailboxes", type=int, default=20)
    ap.add_argument("--per-mailbox", type=int, default=1000)
    ap.add_argument("--parse-processes", type=int, default=0)
    args = ap.parse_args()
    from dovecot_fixture import Dovecot

    rng = random.Random(0)
    tmp = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    dovecot = Dovecot()  # its own world-readable root: the mail user must reach it
    dovecot.start()
    try:
        from dovecot_fixture import USER_PASSWORD

        password = USER_PASSWORD
        users = [f"bench{i}" for i in range(args.mailboxes)]
        t = time.perf_counter()
        total = 0
        for u in users:
            dovecot.add_user(u)
            for _ in range(args.per_mailbox):
                dovecot.deliver(u, message(total, rng))
                total += 1
        print(f"filled {args.mailboxes} mailboxes x {args.per_mailbox} messages in {time.perf_counter() - t:.1f} s")
        floor = bare_floor("127.0.0.1", dovecot.port, users, password)
        config = tmp / "config.toml"
        mailboxes = "".join(f"""
[[mailboxes]]
name = "{u}"
clinician = "clinician@dmh.example.org"
kind = "imap"
server = "bench"
user = "{u}"
password_env = "BENCH_PASSWORD"
""" for u in users)
        config.write_text(f"""
[store]
url = "sqlite:///{tmp / 'triage.db'}"
data_dir = "{tmp / 'data'}"
[worker]
batch_size = 100
parse_processes = {args.parse_processes}
log_level = "WARNING"
[[programs]]
id = "p"
name = "P"
[[clinicians]]
email = "clinician@dmh.example.org"
name = "C"
program = "p"
[servers.bench]
host = "127.0.0.1"
port = {dovecot.port}
security = "plain"
{mailboxes}""")
        os.environ["BENCH_PASSWORD"] = password
        _, out = run_triage(config, "first")
        # The ingest's own time, measured inside the child: interpreter start-up is not ingestion.
        seconds = float(out.split(" recorded in ", 1)[1].split(" s", 1)[0])
        rate = total / seconds
        _, idle = run_triage(config, "idle")
        print(out.strip())
        print(idle.strip())
        print(f"(a) triage first ingest:   {rate:8.0f} msg/s  ({total} messages in {seconds:.1f} s, "
              f"parse_processes={args.parse_processes})")
        print(f"(b) bare fetch + parse:    {floor:8.0f} msg/s")
        print(f"(c) ratio a/b:             {rate / floor:8.2f}")
    finally:
        dovecot.stop()
        shutil.rmtree(dovecot.root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
