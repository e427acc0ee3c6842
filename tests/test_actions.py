"""Acting on a decision (issue 5) against a real Dovecot and a real SMTP server (aiosmtpd): flags on the
original, one draft with the forms, notes in their folder, emergent alerts and escalation, retries when
SMTP is down, refusals. The detector is a keyword stand-in, so these tests are about the actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from conftest import ROOT, make_mail
from dovecot_fixture import Dovecot
from smtp_fixture import SmtpSink
from sqlalchemy import select
from stand_ins import Keywords
from test_imap import imap_config

from triage.clock import set_clock
from triage.config import load_config
from triage.crypto import load_crypto
from triage.registry import parse_csv
from triage.sources.imap import ImapSource
from triage.store import Store
from triage.store import consent as consent_store
from triage.store.models import AssessmentRow, AuditEvent, OutboxRow
from triage.worker import Worker

pytestmark = pytest.mark.imap

REGISTRY = """client_id,client_name,clinician_email,consented_email,client_email,date_of_birth,consent_basis,\
responsible_adult_name,clinician_determined,client_prefers_email,form_signed_on,revoked_on,phone,mailing_address,\
preferred_language
C-1,Pat Example,alex.morgan@dmh.example.org,client@example.com,,1990-01-01,self,,true,true,2026-01-05,,555-0101,\
1 Main St,en
C-2,Lee Example,alex.morgan@dmh.example.org,other@example.com,,1990-01-01,self,,true,false,2026-01-05,,555-0102,\
2 Main St,en
"""
PHRASES = {"copy of my records": "access", "correct my record": "amendment"}


def setup(tmp_path: Path, dovecot: Dovecot, user: str, smtp: SmtpSink, *, extra: str = "") -> Worker:
    cfg = imap_config(tmp_path, dovecot, [user])
    text = cfg.read_text().replace('name = "Adult Outpatient"',
                                   'name = "Adult Outpatient"\nmailing_address = "100 Main St; Springfield"\n'
                                   'phone = "(555) 010-0000"')
    text += f"""
[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "plain"
from_address = "triage@dmh.example.org"

[forms]
access = "{ROOT / 'examples/forms/access-request-SAMPLE.pdf'}"
amendment = "{ROOT / 'examples/forms/amendment-request-SAMPLE.pdf'}"

[alerts]
ack_minutes = 1
second_escalation_minutes = 2
admin_address = "it-admin@dmh.example.org"
{extra}
"""
    cfg.write_text(text)
    config = load_config(cfg)
    store = Store(config.store.url)
    store.ensure_schema()
    crypto = load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file)
    with store.begin() as s:
        consent_store.save(s, crypto, parse_csv(REGISTRY))
    return Worker(config, store, crypto, detector=Keywords(PHRASES))


def deliver(dovecot: Dovecot, user: str, n: int, body: str, sender: str = "client@example.com", **kw: str) -> None:
    dovecot.deliver(user, make_mail(n, sender=sender, body=body, **kw).replace(b"\n", b"\r\n"))


def folder_messages(dovecot: Dovecot, user: str, folder: str) -> list[tuple[tuple[str, ...], object]]:
    c = dovecot.client(user)
    try:
        if not c.folder_exists(folder):
            return []
        c.select_folder(folder, readonly=True)
        uids = c.search("ALL")
        data = c.fetch(uids, ["FLAGS", "BODY.PEEK[]"]) if uids else {}
    finally:
        c.logout()
    return [(tuple(f.decode() for f in d[b"FLAGS"] if f != b"\\Recent"),
             message_from_bytes(d[b"BODY[]"], policy=policy.default)) for _, d in sorted(data.items())]


def ahead(delta: timedelta) -> None:
    set_clock(lambda: datetime.now(UTC) + delta)


def outbox(worker: Worker, kind: str) -> list[OutboxRow]:
    with worker.store.begin() as s:
        rows = list(s.scalars(select(OutboxRow).where(OutboxRow.kind == kind).order_by(OutboxRow.id)))
        s.expunge_all()
    return rows


def test_rights_request_yields_one_draft_with_both_forms_and_the_original_is_flagged(
        tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp_sink: SmtpSink) -> None:
    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    deliver(dovecot, imap_user, 1, "Please send me a copy of my records and correct my record from March.")
    try:
        w.poll_all()
        w.poll_all()  # a second pass adds nothing
    finally:
        w.close()
    assert [(r.kind, r.state, r.last_error) for r in outbox(w, "draft")] == [("draft", "done", "")]
    [(flags, draft)] = folder_messages(dovecot, imap_user, "Drafts")
    assert flags == ("\\Draft",)
    assert draft["To"] == "client@example.com" and "Cc" not in draft
    assert draft["In-Reply-To"] == "<msg-1@example.com>" and draft["X-Triage-Item"]
    assert draft["Subject"].startswith("[secure]")
    attachments = [p for p in draft.iter_attachments()]
    assert len(attachments) == 2 and all(p.get_content_type() == "application/pdf" for p in attachments)
    body = draft.get_body(("plain",)).get_content()
    assert "signed by the client or" in body and "in person or by mail" in body
    # The original: its keyword, and \Seen untouched (it was unread and stays unread).
    assert dovecot.flags(imap_user) == {1: ("$TriageRightsRequest",)}
    [row] = outbox(w, "draft")
    assert row.state == "done"


def test_a_retry_after_the_append_but_before_the_commit_leaves_one_draft(
        tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp_sink: SmtpSink) -> None:
    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    deliver(dovecot, imap_user, 1, "could you send me a copy of my records please")
    try:
        w.poll_all()
        # The worker was killed after the APPEND, before the store recorded it: the row is still pending.
        with w.store.begin() as s:
            row = s.scalar(select(OutboxRow).where(OutboxRow.kind == "draft"))
            assert row is not None
            row.state, row.done_at = "pending", None
        w.close()
        w = Worker(w.config, w.store, w.actions.crypto, detector=Keywords(PHRASES))  # the restarted worker
        w.poll_all()
    finally:
        w.close()
    assert len(folder_messages(dovecot, imap_user, "Drafts")) == 1
    [row] = outbox(w, "draft")
    assert row.state == "done"
    with w.store.begin() as s:
        outcomes = [e.detail.get("outcome") for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "action_done"))]
    assert any("already in the mailbox" in (o or "") for o in outcomes)


def test_failing_consent_gets_a_note_in_its_folder_never_a_draft(
        tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp_sink: SmtpSink) -> None:
    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    deliver(dovecot, imap_user, 1, "can you send me a copy of my records", sender="other@example.com")
    try:
        w.poll_all()
    finally:
        w.close()
    assert folder_messages(dovecot, imap_user, "Drafts") == []
    assert [(r.state, r.last_error) for r in outbox(w, "note")] == [("done", "")]
    [(flags, note)] = folder_messages(dovecot, imap_user, "Triage Notes")
    assert "\\Draft" not in flags and note["To"].addresses[0].addr_spec == "alex.morgan@dmh.example.org"
    assert note["Subject"].startswith("[triage note]")
    text = note.get_body(("plain",)).get_content()
    assert "555-0102" in text and "standard 1c" in text
    names = [p.get_filename() for p in note.iter_attachments()]
    assert any(n.startswith("letter") for n in names) and len(names) == 2  # the letter and the access form
    assert dovecot.flags(imap_user) == {1: ("$TriageNoConsent", "$TriageRightsRequest")}


def test_emergent_alert_in_the_same_poll_then_escalation_without_acknowledgement(
        tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp_sink: SmtpSink) -> None:
    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    deliver(dovecot, imap_user, 1, "i have the pills tonight and i am done, zebrafish lanterns")
    try:
        w.poll_all()
        [(rcpt, alert)] = smtp_sink.received
        assert rcpt == ["alex.morgan@dmh.example.org"]
        raw = alert.as_string().lower()
        for word in ("pills", "zebrafish", "lanterns", "client@example.com", "pat example"):
            assert word not in raw
        assert "standard 6" in raw and "988" in raw
        assert dovecot.flags(imap_user) == {1: ("$TriageEmergent", "\\Flagged")}
        # Not acknowledged: escalated to the supervisor after ack_minutes, again after the second limit.
        ahead(timedelta(minutes=1, seconds=5))
        w.actions.run_mail()
        assert [r for r, _ in smtp_sink.received[1:]] == [["casey.nguyen@dmh.example.org"]]
        w.actions.run_mail()
        assert len(smtp_sink.received) == 2  # once per level
    finally:
        set_clock(None)
        w.close()


def test_an_acknowledged_alert_is_not_escalated(tmp_path: Path, dovecot: Dovecot, imap_user: str,
                                                smtp_sink: SmtpSink) -> None:
    from triage.review import acknowledge

    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    deliver(dovecot, imap_user, 1, "i have the pills tonight")
    try:
        w.poll_all()
        with w.store.begin() as s:
            item = s.scalar(select(AssessmentRow.message_record_id))
            assert item is not None
            acknowledge(s, item, "alex.morgan@dmh.example.org")
        ahead(timedelta(minutes=5))
        w.actions.run_mail()
    finally:
        set_clock(None)
        w.close()
    assert len(smtp_sink.received) == 1


def test_smtp_down_the_alert_is_retried_and_sent_when_it_is_back(
        tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp_sink: SmtpSink) -> None:
    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    smtp_sink.stop()
    deliver(dovecot, imap_user, 1, "i have the pills tonight")
    try:
        w.poll_all()
        [row] = outbox(w, "alert")
        assert row.state == "pending" and row.attempts == 1 and row.last_error.startswith("SourceError")
        smtp_sink.start()
        ahead(timedelta(seconds=30))
        w.actions.run_mail()
    finally:
        set_clock(None)
        w.close()
    assert [r for r, _ in smtp_sink.received][:1] == [["alex.morgan@dmh.example.org"]]
    [row] = outbox(w, "alert")
    assert row.state == "done" and row.attempts == 2
    with w.store.begin() as s:
        done = s.scalar(select(AuditEvent).where(AuditEvent.action == "action_done",
                                                 AuditEvent.detail["kind"].as_string() == "alert"))
        assert done is not None and done.detail["seconds_after_planned"] >= 30
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "action_retry")) is not None


def test_a_draft_to_an_unconsented_address_is_refused_with_the_reason(
        tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp_sink: SmtpSink) -> None:
    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    deliver(dovecot, imap_user, 1, "please send a copy of my records")
    run_mailbox = w.actions.run_mailbox
    w.actions.run_mailbox = lambda *a, **k: None  # type: ignore[method-assign,assignment]
    try:
        w.poll_all()
        # The registry changes before the draft is made: the form now names another address.
        changed = REGISTRY.replace("C-1,Pat Example,alex.morgan@dmh.example.org,client@example.com",
                                   "C-1,Pat Example,alex.morgan@dmh.example.org,new.address@example.com")
        with w.store.begin() as s:
            consent_store.save(s, w.actions.crypto, parse_csv(changed))
        w.actions.run_mailbox = run_mailbox  # type: ignore[method-assign]
        w.poll_all()
    finally:
        w.close()
    [row] = outbox(w, "draft")
    assert row.state == "refused"
    assert folder_messages(dovecot, imap_user, "Drafts") == []
    with w.store.begin() as s:
        refused = s.scalar(select(AuditEvent).where(AuditEvent.action == "action_refused"))
        assert refused is not None and "standard 4" in refused.detail["outcome"]


def test_without_keywords_the_flagged_mail_is_copied_to_folders(
        tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp_sink: SmtpSink,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(ImapSource, "supports_keywords", lambda self, folder: False)  # as Exchange Online
    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    deliver(dovecot, imap_user, 1, "i have the pills tonight")
    deliver(dovecot, imap_user, 2, "and a copy of my records")
    try:
        w.poll_all()
    finally:
        w.close()
    assert dovecot.flags(imap_user) == {1: ("\\Flagged",), 2: ()}
    assert len(folder_messages(dovecot, imap_user, "Triage/Emergent")) == 1
    assert len(folder_messages(dovecot, imap_user, "Triage/Rights requests")) == 1
    assert sum("keeps no custom keywords" in r.getMessage() for r in caplog.records) == 1


def test_shadow_mode_changes_no_mailbox_and_alerts_only_the_test_address(
        tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp_sink: SmtpSink) -> None:
    w = setup(tmp_path, dovecot, imap_user, smtp_sink, extra='shadow_address = "pilot@dmh.example.org"\n'
              '[actions]\nshadow_mode = true\n')
    deliver(dovecot, imap_user, 1, "i have the pills tonight, and send a copy of my records")
    try:
        w.poll_all()
    finally:
        w.close()
    assert dovecot.flags(imap_user) == {1: ()}
    assert folder_messages(dovecot, imap_user, "Drafts") == []
    assert [r for r, _ in smtp_sink.received] == [["pilot@dmh.example.org"]]
    assert {r.state for r in outbox(w, "flag") + outbox(w, "draft")} == {"skipped"}


def test_operator_alerts_a_failing_mailbox_and_a_silent_worker_once(
        tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp_sink: SmtpSink) -> None:
    from triage.store.models import WorkerHeartbeat

    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    (tmp_path / f"{imap_user}.pw").write_text("wrong-password")  # the mailbox starts failing
    try:
        w.poll_all()
        ahead(timedelta(minutes=31))  # past worker.failure_report_minutes (30)
        w.poll_all()
        w.poll_all()
        with w.store.begin() as s:  # another worker that stopped polling without stopping
            s.add(WorkerHeartbeat(name="host-b:42", started_at=datetime.now(UTC) - timedelta(hours=2),
                                  last_poll_at=datetime.now(UTC) - timedelta(hours=1)))
        w.actions.run_mail()
        w.actions.run_mail()
    finally:
        set_clock(None)
        w.close()
    sent = [(r, m["Subject"].removeprefix("[triage] operator: ")) for r, m in smtp_sink.received]
    admin = ["it-admin@dmh.example.org"]
    assert sent.count((admin, "a mailbox has been failing past its limit")) == 1
    assert sent.count((admin, "a worker has not completed a poll in time")) == 1
    body = smtp_sink.received[0][1].get_content()
    assert "wrong-password" not in body and "user-secret" not in body


def test_check_reaches_the_smtp_server(tmp_path: Path, dovecot: Dovecot, imap_user: str,
                                       smtp_sink: SmtpSink) -> None:
    from triage.checks import run_checks

    w = setup(tmp_path, dovecot, imap_user, smtp_sink)
    w.close()
    lines = list(run_checks(str(tmp_path / "config.toml")))
    assert (True, f"smtp: 127.0.0.1:{smtp_sink.port} answers (plain)") in lines
    smtp_sink.stop()
    assert any(ok is False and line.startswith("smtp:") for ok, line in run_checks(str(tmp_path / "config.toml")))


def test_a_maildir_mailbox_records_its_actions_in_the_store_only(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    import shutil

    from conftest import write_config

    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "examples" / "inbox", inbox)
    before = sorted(p.name for p in inbox.rglob("*"))
    cfg = write_config(tmp_path, f"""
        [[mailboxes]]
        name = "alex-sample"
        clinician = "alex.morgan@dmh.example.org"
        kind = "maildir"
        path = "{inbox}"
    """, extra=f"""
        [smtp]
        host = "127.0.0.1"
        port = {smtp_sink.port}
        security = "plain"
    """)
    config = load_config(cfg)
    store = Store(config.store.url)
    store.ensure_schema()
    w = Worker(config, store, load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file), detector=Keywords(PHRASES))
    try:
        w.poll_all()
    finally:
        w.close()
    flags = outbox(w, "flag")
    assert flags and {r.state for r in flags} == {"done"}
    assert sorted(p.name for p in inbox.rglob("*")) == before  # nothing written to the Maildir
    store.dispose()
