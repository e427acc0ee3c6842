"""The `triage` command end to end on a Maildir: poll, status, check, run and stop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, write_config

TRIAGE = [sys.executable, "-m", "triage.cli"]


def triage(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIAGE_KEY": ""}
    return subprocess.run([*TRIAGE, "--config", str(config), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=config.parent)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """The shipped sample inbox, copied so tests never touch the repository's files."""
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "examples" / "inbox", inbox)
    return write_config(tmp_path, f"""
        [[mailboxes]]
        name = "alex-sample"
        clinician = "alex.morgan@dmh.example.org"
        kind = "maildir"
        path = "{inbox}"
    """)


def _sample_count() -> int:
    inbox = ROOT / "examples" / "inbox"
    return sum(1 for d in ("new", "cur") for p in (inbox / d).iterdir() if not p.name.startswith("."))


def test_poll_once_records_the_sample_inbox_once(sample: Path) -> None:
    n = _sample_count()
    first = triage(sample, "poll", "--once")
    assert first.returncode == 0, first.stderr
    header, _rule, row = first.stdout.strip().splitlines()[:3]
    assert header.split()[:4] == ["mailbox", "folders", "new", "recorded"]
    assert row.split()[:4] == ["alex-sample", "1", str(n), str(n)]
    second = triage(sample, "poll", "--once")
    assert second.stdout.strip().splitlines()[2].split()[:4] == ["alex-sample", "1", "0", "0"]


def test_logs_hold_no_address_subject_or_body(sample: Path) -> None:
    result = triage(sample, "poll", "--once")
    assert result.returncode == 0
    logs = result.stderr
    assert '"event": "poll done"' in logs
    inbox = ROOT / "examples" / "inbox"
    import email
    import email.policy

    for p in [*(inbox / "new").iterdir(), *(inbox / "cur").iterdir()]:
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        sender = str(msg.get("From", ""))
        subject = str(msg.get("Subject", ""))
        if "@" in sender:
            assert sender.split("<")[-1].strip(">").strip().lower() not in logs.lower()
        if len(subject) > 8:
            assert subject not in logs


def test_status_shows_health_and_last_poll(sample: Path) -> None:
    before = triage(sample, "status")
    assert "triage db upgrade" in before.stderr or "never" in before.stdout
    triage(sample, "poll", "--once")
    status = triage(sample, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Last completed poll:" in status.stdout and "never" not in status.stdout.splitlines()[0]
    assert "alex-sample" in status.stdout and "Quarantined messages: 0" in status.stdout


def test_check_passes_and_fails_with_reasons(sample: Path, tmp_path: Path) -> None:
    ok = triage(sample, "check")
    assert ok.returncode == 0, ok.stdout
    assert all(line.startswith(("PASS", "WARN")) for line in ok.stdout.strip().splitlines())
    assert "WARN  smtp: no server configured" in ok.stdout
    sample.chmod(0o644)
    assert "WARN  config: " in triage(sample, "check").stdout and "readable by anyone" in triage(sample, "check").stdout
    sample.chmod(0o600)
    assert "readable by anyone" not in triage(sample, "check").stdout
    assert "mailbox alex-sample: folder 'INBOX' opens" in ok.stdout
    broken = write_config(tmp_path, f"""
        [[mailboxes]]
        name = "gone"
        clinician = "alex.morgan@dmh.example.org"
        kind = "maildir"
        path = "{tmp_path / 'nowhere'}"
    """)
    bad = triage(broken, "check")
    assert bad.returncode == 1
    assert "FAIL  mailbox gone: cannot log in:" in bad.stdout and "is not a Maildir" in bad.stdout


def test_bad_config_key_fails_at_start_naming_it(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "", extra="\n[worker2]\nx = 1\n")
    result = triage(cfg, "poll", "--once")
    assert result.returncode == 1
    assert "`worker2` is not a known section" in result.stderr and "config.toml, line" in result.stderr


def test_run_stops_cleanly_on_sigterm(sample: Path) -> None:
    env = {**os.environ, "TRIAGE_KEY": ""}
    proc = subprocess.Popen([*TRIAGE, "--config", str(sample), "run"], stderr=subprocess.PIPE, text=True,
                            env=env, cwd=sample.parent)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            first = (triage(sample, "status").stdout.splitlines() or [""])[0]
            if first.startswith("Last completed poll:") and "never" not in first:
                break
            time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        logs = proc.stderr.read() if proc.stderr else ""
    finally:
        proc.kill()
        if proc.stderr:
            proc.stderr.close()
    assert "worker stopped" in logs
    status = triage(sample, "status").stdout
    assert "alex-sample" in status


def test_poll_once_prints_the_flags_per_mailbox(tmp_path: Path) -> None:
    """The sample inbox with its registry: every message assessed, the flags counted per mailbox."""
    cfg = tmp_path / "config.toml"
    text = (ROOT / "config.toml").read_text()
    text = text.replace('url = "sqlite:///triage.db"', f'url = "sqlite:///{tmp_path / "t.db"}"')
    text = text.replace('data_dir = "data"', f'data_dir = "{tmp_path / "data"}"')
    text = text.replace('path = "examples/inbox"', f'path = "{ROOT / "examples" / "inbox"}"')
    cfg.write_text(text)
    assert triage(cfg, "consent", "import", str(ROOT / "examples" / "registry.csv")).returncode == 0
    out = triage(cfg, "poll", "--once")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("mailbox      assessed"))
    row = lines[header + 2].split()
    assert row[0] == "alex-sample" and row[1] == "50"
    counts = dict(zip(["emergent", "rights", "no_consent", "multiple", "clinical", "unverified"],
                      map(int, row[2:]), strict=True))
    # The registry's consent problems are exact (they do not depend on the detectors).
    assert counts["no_consent"] == 6 and counts["unverified"] == 1 and counts["multiple"] == 3
    assert counts["emergent"] >= 8 and counts["rights"] >= 9
    # Nothing of a message reaches the output.
    assert "@example" not in out.stdout and "@example" not in out.stderr


def test_logs_at_debug_hold_no_message_text_address_or_client_name(sample: Path) -> None:
    """The whole pipeline (registry, parse, assess, outbox, actions) at DEBUG: no line holds a body line,
    a subject, an address of a sender or client, or a client's name."""
    import csv
    import email
    import email.policy

    text = sample.read_text().replace('log_format = "json"', 'log_format = "json"\nlog_level = "DEBUG"')
    sample.write_text(text)
    assert triage(sample, "consent", "import", str(ROOT / "examples" / "registry.csv")).returncode == 0
    result = triage(sample, "poll", "--once")
    assert result.returncode == 0, result.stderr
    logs = result.stderr.lower()
    assert '"level": "debug"' in logs  # DEBUG lines were written, and are searched too
    secrets: set[str] = set()
    for row in csv.DictReader((ROOT / "examples" / "registry.csv").read_text().splitlines()):
        secrets.update(v.lower() for k, v in row.items()
                       if k in ("client_name", "consented_email", "client_email", "phone", "mailing_address") and v)
    inbox = ROOT / "examples" / "inbox"
    for p in [*(inbox / "new").iterdir(), *(inbox / "cur").iterdir()]:
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for header in ("From", "To", "Cc"):
            for address in getattr(msg.get(header), "addresses", ()):
                if address.addr_spec:
                    secrets.add(address.addr_spec.lower())
        if len(str(msg.get("Subject", ""))) > 8:
            secrets.add(str(msg["Subject"]).lower())
        body = msg.get_body(("plain", "html"))
        if body is not None:
            secrets.update(line.strip().lower() for line in body.get_content().splitlines() if len(line.strip()) > 25)
    own = {"alex.morgan@dmh.example.org"}  # the clinician's own address may name the mailbox's owner
    leaked = sorted(s for s in secrets - own if s in logs)
    assert not leaked, leaked[:5]
