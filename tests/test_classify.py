"""`triage classify`: the JSON-lines contract, every kind of input, unreadable mail, the registry."""

from __future__ import annotations

import io
import json
import mailbox
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, make_mail
from test_assess_store import REGISTRY, KeywordDetector

from triage import cli
from triage.detect import PURPOSES, RIGHTS

CONTRACT = {"source": str, "message_id": str, "emergent": bool, "emergent_score": float, "hipaa_rights": list,
            "purpose": str, "clinical_question": bool, "multiple_clients": bool, "consent": str, "flags": list,
            "actions": list, "reasons": list}


@pytest.fixture(autouse=True)
def _keyword_detector(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import triage.detect

    monkeypatch.setattr(triage.detect, "default_detector", lambda: KeywordDetector())
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./config.toml: no organisation unless --config is given


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: bytes | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, list[dict[str, Any]], str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    rc = cli.main(["classify", *args])
    out, err = capsys.readouterr()
    return rc, [json.loads(line) for line in out.splitlines()], err


def assert_contract(obj: dict[str, Any]) -> None:
    for name, kind in CONTRACT.items():
        assert isinstance(obj[name], kind), (name, obj[name])
    assert set(obj["hipaa_rights"]) <= set(RIGHTS) and obj["purpose"] in PURPOSES
    assert obj["consent"] in ("ok", "failing", "unknown") and 0.0 <= obj["emergent_score"] <= 1.0
    for r in obj["reasons"]:
        assert set(r) == {"standard", "text", "evidence"}


def test_one_eml_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.eml"
    f.write_bytes(make_mail(1, body="please send me a copy of my records"))
    rc, [obj], _ = run(capsys, str(f))
    assert rc == 0
    assert_contract(obj)
    assert obj["source"] == str(f) and obj["message_id"] == "<msg-1@example.com>"
    assert obj["hipaa_rights"] == ["access"] and obj["consent"] == "unknown" and "rights_request" in obj["flags"]
    assert any(r["standard"] == "9a" and r["evidence"] == "copy of my records" for r in obj["reasons"])


def test_directories_maildirs_and_mbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree" / "deeper"
    tree.mkdir(parents=True)
    (tree / "x.eml").write_bytes(make_mail(2))
    (tmp_path / "tree" / "y.eml").write_bytes(make_mail(3))
    md = mailbox.Maildir(tmp_path / "md", create=True)
    md.add(make_mail(4))
    md.add(make_mail(5))
    box = mailbox.mbox(tmp_path / "box.mbox")
    for n in (6, 7, 8):
        box.add(make_mail(n, body="From the start: a line that mbox escapes"))
    box.flush()
    box.close()
    rc, objs, _ = run(capsys, str(tmp_path / "tree"), str(tmp_path / "md"), str(tmp_path / "box.mbox"))
    assert rc == 0 and len(objs) == 7
    ids = [o["message_id"] for o in objs]
    assert sorted(ids[:2]) == ["<msg-2@example.com>", "<msg-3@example.com>"]
    assert sorted(ids[2:4]) == ["<msg-4@example.com>", "<msg-5@example.com>"]
    assert ids[4:] == ["<msg-6@example.com>", "<msg-7@example.com>", "<msg-8@example.com>"]
    assert [o["source"] for o in objs[4:]] == [f"{tmp_path / 'box.mbox'}#{i}" for i in (1, 2, 3)]
    for o in objs:
        assert_contract(o)


def test_standard_input_one_message_or_an_mbox(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    rc, [obj], _ = run(capsys, "-", stdin=make_mail(9), monkeypatch=monkeypatch)
    assert rc == 0 and obj["source"] == "-" and obj["message_id"] == "<msg-9@example.com>"
    mbox = b"".join(b"From someone@example.com Mon Nov 16 09:00:00 2026\n" + make_mail(n) + b"\n" for n in (10, 11))
    rc, objs, _ = run(capsys, "-", stdin=mbox, monkeypatch=monkeypatch)
    assert [o["source"] for o in objs] == ["-#1", "-#2"]


def test_unreadable_input_yields_an_error_line_and_the_run_goes_on(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "noise.eml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "good.eml").write_bytes(make_mail(12))
    (tmp_path / "odd.eml").write_bytes(b"Content-Type: multipart/mixed; boundary=\"zz\"\n\n--zz\nbroken")
    rc, objs, _ = run(capsys, str(tmp_path / "missing.eml"), str(tmp_path / "empty.eml"),
                      str(tmp_path / "noise.eml"), str(tmp_path / "odd.eml"), str(tmp_path / "good.eml"))
    assert rc == 0 and len(objs) == 5
    assert "cannot read" in objs[0]["error"]
    assert "empty" in objs[1]["error"] and "not an email message" in objs[2]["error"]
    assert "error" not in objs[3] and objs[3]["defects"]  # bad MIME is read as far as it goes
    assert "error" not in objs[4]
    assert_contract(objs[4])


def test_with_a_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reg = tmp_path / "registry.csv"
    reg.write_text(REGISTRY)
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "1.eml").write_bytes(make_mail(1, sender="client@example.com"))
    (tmp_path / "mail" / "2.eml").write_bytes(make_mail(2, sender="other@example.com"))  # 1c fails
    (tmp_path / "mail" / "3.eml").write_bytes(make_mail(3, sender="nobody@example.net"))
    rc, objs, _ = run(capsys, "--registry", str(reg), str(tmp_path / "mail"))
    assert rc == 0
    assert [o["consent"] for o in objs] == ["ok", "failing", "unknown"]
    assert objs[0]["flags"] == [] and objs[1]["flags"] == ["no_consent"]
    assert objs[1]["consent_failures"] == ["1c"] and "respond_by_phone_or_mail" in objs[1]["actions"]
    assert objs[2]["flags"] == ["unverified_sender"] and objs[2]["consent_detail"] == "unverified"
    # No organisation config: standard 1a is taken as met.
    assert "1a" not in objs[0]["standards"]


def test_without_a_registry_multiple_clients_counts_outside_recipients(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    one = make_mail(1, to="alex.morgan@dmh.example.org, colleague@dmh.example.org")
    many = make_mail(2, to="alex.morgan@dmh.example.org, a@example.com, b@example.net")
    (tmp_path / "1.eml").write_bytes(one)
    (tmp_path / "2.eml").write_bytes(many)
    cfg = ROOT / "config.toml"
    rc, objs, _ = run(capsys, "--config", str(cfg), str(tmp_path / "1.eml"), str(tmp_path / "2.eml"))
    assert rc == 0 and [o["multiple_clients"] for o in objs] == [False, True]
    assert objs[1]["flags"] == ["multiple_clients"]


def test_misuse_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("client_id,clinician_email\nx,not-an-address\n")
    (tmp_path / "a.eml").write_bytes(make_mail(1))
    rc = cli.main(["classify", "--registry", str(bad), str(tmp_path / "a.eml")])
    assert rc == 2 and "bad.csv" in capsys.readouterr().err
    assert cli.main(["classify", "--on", "yesterday", str(tmp_path / "a.eml")]) == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["classify"])
    assert exc.value.code == 2
