"""`triage consent import|export|list|add|revoke` on the sample registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, write_config
from test_cli import triage

SAMPLE = ROOT / "examples" / "registry.csv"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return write_config(tmp_path, "")


def test_import_list_export_round_trip(cfg: Path, tmp_path: Path) -> None:
    out = triage(cfg, "consent", "import", str(SAMPLE))
    assert out.returncode == 0, out.stderr
    assert "imported 23 records: 23 added, 0 updated" in out.stdout
    listing = triage(cfg, "consent", "list", "--clinician", "alex.morgan@dmh.example.org").stdout
    rows = {line.split()[0]: line for line in listing.splitlines()[2:]}
    assert len(rows) == 21
    assert "revoked (revoked_on=2026-10-01)" in rows["A-1010"] and "1e (form_signed_on is empty)" in rows["A-1011"]
    assert "1b (clinician_determined=false)" in rows["A-1005"] and "1c (client_prefers_email=false)" in rows["A-1004"]
    assert rows["A-1001"].rstrip().endswith("ok")
    exported = tmp_path / "out.csv"
    assert triage(cfg, "consent", "export", str(exported)).returncode == 0
    assert exported.stat().st_mode & 0o777 == 0o600
    again = triage(cfg, "consent", "import", str(exported))
    assert "0 added, 23 updated" in again.stdout
    db = (tmp_path / "triage.db").read_bytes()
    assert b"Kevin Tran" not in db and b"555-0101" not in db and b"kevin.tran@example.com" not in db


def test_a_bad_file_imports_nothing(cfg: Path, tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines()
    lines[6] = lines[6].replace(",true,true,", ",true,perhaps,")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    out = triage(cfg, "consent", "import", str(bad))
    assert out.returncode == 1 and f"{bad}, line 7: client_prefers_email 'perhaps'" in out.stderr
    assert len(triage(cfg, "consent", "list").stdout.splitlines()) == 2  # header and rule only


def test_add_revoke_and_replace(cfg: Path, tmp_path: Path) -> None:
    added = triage(cfg, "consent", "add", "--client-id", "Z-1", "--client-name", "Test Client",
                   "--clinician-email", "sam.lee@dmh.example.org", "--consented-email", "Test@Example.com",
                   "--signed-on", "2026-01-01")
    assert added.returncode == 0 and "added Z-1 with sam.lee@dmh.example.org: ok" in added.stdout
    revoked = triage(cfg, "consent", "revoke", "Z-1", "--clinician", "sam.lee@dmh.example.org", "--on", "2026-02-01")
    assert revoked.returncode == 0
    assert "revoked (revoked_on=2026-02-01)" in triage(cfg, "consent", "list").stdout
    triage(cfg, "consent", "import", str(SAMPLE), "--replace")
    assert "Z-1" not in triage(cfg, "consent", "list").stdout
    missing = triage(cfg, "consent", "revoke", "Z-1", "--clinician", "sam.lee@dmh.example.org")
    assert missing.returncode == 2 and "no record of client Z-1" in missing.stderr
