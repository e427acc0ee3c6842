"""The review queue (triage.review) over a store filled by the real pipeline: Maildir -> Ingestor ->
StoreAssessor (with a keyword stand-in detector) -> assessments and outbox. Ordering, filters,
overdue marking with a moved clock, the rights workflow, extensions, corrections as training data,
the audit trail, and the `queue` / `review` commands."""

from __future__ import annotations

import argparse
import json
import mailbox
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT, make_mail, write_config
from sqlalchemy import select
from stand_ins import Keywords

from triage import review
from triage.assess import StoreAssessor
from triage.clock import set_clock
from triage.config import Config, load_config
from triage.crypto import Crypto, load_crypto
from triage.ingest import Ingestor, IngestSettings
from triage.registry import parse_csv
from triage.review_cli import register
from triage.sources.maildir import MaildirSource
from triage.store import Store
from triage.store import consent as consent_store
from triage.store.models import AuditEvent, LabelCorrection, RightsRequest
from triage.store.org import sync_organisation

REGISTRY = """client_id,client_name,clinician_email,consented_email,client_email,date_of_birth,consent_basis,\
responsible_adult_name,clinician_determined,client_prefers_email,form_signed_on,revoked_on,phone,mailing_address,\
preferred_language
C-1,Pat Example,alex.morgan@dmh.example.org,client@example.com,,1990-01-01,self,,true,true,2026-01-05,,555-0101,\
1 Main St,en
C-2,Lee Example,alex.morgan@dmh.example.org,other@example.com,,1990-01-01,self,,true,false,2026-01-05,,555-0102,\
2 Main St,en
C-3,Kim Example,sam.lee@dmh.example.org,kim@example.net,,1990-01-01,self,,true,true,2026-01-05,,555-0103,\
3 Main St,en
C-4,Jo Example,robin.diaz@dmh.example.org,jo@example.org,,1990-01-01,self,,true,true,2026-01-05,,555-0104,\
4 Main St,en
"""
PHRASES = {"copy of my records": "access", "correct my record": "amendment", "who you shared": "accounting",
           "do not share": "restriction", "only call my cell": "confidential_communication"}
EXTRA = """
[[programs]]
id = "child"
name = "Children's Clinic"
email_approved = true
approved_by = "Jordan Avery"
approved_on = 2026-01-15
time_zone = "America/New_York"

[[clinicians]]
email = "robin.diaz@dmh.example.org"
name = "Robin Diaz"
program = "child"

[clocks]
holidays = ["2026-11-26", "2026-11-27", "2026-12-25"]
"""
ALEX, SAM, ROBIN = "alex.morgan@dmh.example.org", "sam.lee@dmh.example.org", "robin.diaz@dmh.example.org"
T0 = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)  # Monday 09:00 in Los Angeles
SUBJECT = "Private subject"


@dataclass
class Env:
    config: Config
    store: Store
    crypto: Crypto
    ids: dict[str, int]
    paths: dict[str, Path]
    n: int = 0

    def deliver(self, mailbox_name: str, body: str, *, sender: str, at: datetime) -> int:
        """Deliver one message and poll its mailbox at `at`; returns its item number."""
        self.n += 1
        # A Maildir file name starts with its delivery time: the message's receipt.
        name = f"{int(at.timestamp())}.M{self.n}P1.test.example.org"
        (self.paths[mailbox_name] / "new" / name).write_bytes(
            make_mail(self.n, sender=sender, body=body, subject=SUBJECT))
        set_clock(lambda: at)
        ingestor = Ingestor(self.store, self.crypto, IngestSettings(batch_size=10),
                            assessor=StoreAssessor(self.store, self.crypto, self.config, Keywords(PHRASES)))
        result = ingestor.poll(self.ids[mailbox_name], MaildirSource(mailbox_name, self.paths[mailbox_name]),
                               ("INBOX",))
        assert result.total("recorded") == 1, result
        from triage.store.models import MessageRecord
        with self.store.begin() as s:
            return s.scalar(select(MessageRecord.id).order_by(MessageRecord.id.desc()).limit(1))  # type: ignore[return-value]

    def queue(self, **kw: object) -> list[review.QueueItem]:
        with self.store.begin() as s:
            return review.queue(s, self.crypto, rules=self.config.clocks, **kw)  # type: ignore[arg-type]

    def item(self, item_id: int, **kw: object) -> review.QueueItem:
        with self.store.begin() as s:
            return review.item(s, self.crypto, item_id, who=kw.pop("who", ALEX), rules=self.config.clocks,  # type: ignore[arg-type]
                               **kw)  # type: ignore[arg-type]

    def audit(self, action: str) -> list[AuditEvent]:
        with self.store.begin() as s:
            return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    paths = {name: tmp_path / f"Maildir-{name}" for name in ("alex", "sam", "robin")}
    for p in paths.values():
        mailbox.Maildir(p, create=True)
    boxes = "".join(f"""
        [[mailboxes]]
        name = "{name}"
        clinician = "{who}"
        kind = "maildir"
        path = "{paths[name]}"
    """ for name, who in (("alex", ALEX), ("sam", SAM), ("robin", ROBIN)))
    config = load_config(write_config(tmp_path, boxes, extra=EXTRA))
    store = Store(config.store.url)
    store.ensure_schema()
    crypto = load_crypto("NO_SUCH_ENV_FOR_TESTS", config.store.key_file)
    with store.begin() as s:
        ids = sync_organisation(s, config)
        consent_store.save(s, crypto, parse_csv(REGISTRY))
    yield Env(config, store, crypto, ids, paths)
    store.dispose()


@dataclass
class Items:
    access: int  # alex, consent ok: the forms go by a draft
    unverified: int  # alex, a stranger
    plain: int  # alex, nothing flagged
    emergent: int  # alex
    amendment: int  # alex, consent failing: forms by mail
    confidential: int  # sam
    child_emergent: int  # robin, another program


@pytest.fixture
def items(env: Env) -> Items:
    h = timedelta(hours=1)
    return Items(
        access=env.deliver("alex", "please send me a copy of my records", sender="client@example.com", at=T0),
        unverified=env.deliver("alex", "can i book an appointment", sender="stranger@example.net", at=T0 + h),
        plain=env.deliver("alex", "can we move my appointment?", sender="client@example.com", at=T0 + 1.5 * h),
        emergent=env.deliver("alex", "i have the pills tonight", sender="client@example.com", at=T0 + 2 * h),
        amendment=env.deliver("alex", "i want you to correct my record", sender="other@example.com", at=T0 + 3 * h),
        confidential=env.deliver("sam", "please only call my cell", sender="kim@example.net", at=T0 + 4 * h),
        child_emergent=env.deliver("robin", "i have the pills tonight", sender="jo@example.org", at=T0 + 5 * h),
    )


def at(when: datetime) -> None:
    set_clock(lambda: when)


# --------------------------------------------------------------------------- the queue


def test_the_queue_is_sorted_by_priority_then_age_with_emergent_on_top(env: Env, items: Items) -> None:
    at(T0 + timedelta(hours=6))
    q = env.queue()
    assert [i.item for i in q] == [items.emergent, items.child_emergent, items.access, items.amendment,
                                   items.confidential, items.unverified]
    assert items.plain not in [i.item for i in q]  # nothing flagged, not an item
    first = q[0]
    assert (first.priority, first.priority_name, first.flags, first.state) == (1, "emergent", ("emergent",), "new")
    assert first.received_local.strftime("%Y-%m-%d %H:%M %Z") == "2026-11-16 11:00 PST"
    assert first.next_step.startswith("respond now")
    assert q[2].flags == ("rights_request",) and q[2].hipaa_rights == ("access",)
    assert q[3].flags == ("rights_request", "no_consent")
    # An acknowledged emergent item yields the top to one nobody has seen yet.
    with env.store.begin() as s:
        review.acknowledge(s, items.emergent, ALEX)
    assert [i.item for i in env.queue()][:2] == [items.child_emergent, items.emergent]


def test_filters_a_clinician_sees_only_their_mailboxes_and_a_program_its_own(env: Env, items: Items) -> None:
    alex = [i.item for i in env.queue(clinician=ALEX)]
    assert alex == [items.emergent, items.access, items.amendment, items.unverified]
    assert [i.item for i in env.queue(clinician="AMorgan@dmh.example.org")] == alex  # an alias is the same person
    assert [i.item for i in env.queue(clinician=SAM)] == [items.confidential]
    assert [i.item for i in env.queue(program="child")] == [items.child_emergent]
    assert len(env.queue(program="adult-op")) == 5
    assert env.queue(clinician="nobody@dmh.example.org") == []
    with env.store.begin() as s:
        assert review.visible(s, items.access, clinician=ALEX)
        assert not review.visible(s, items.access, clinician=SAM)
        assert not review.visible(s, items.access, program="child")
        assert review.visible(s, items.child_emergent, program="child")
        with pytest.raises(review.ItemError, match="no item"):  # a web page's 404
            review.item(s, env.crypto, items.access, who=SAM, clinician=SAM)
        with pytest.raises(review.ItemError, match="no item"):
            review.item(s, env.crypto, 999_999, who=ALEX)


def test_overdue_rights_requests_are_marked_as_the_clock_moves(env: Env, items: Items) -> None:
    # Access received Monday 16 Nov: California inspection within 5 working days (Mon 23),
    # copies within 15 days (1 Dec), HIPAA 30 days (16 Dec).
    at(datetime(2026, 11, 23, 20, 0, tzinfo=UTC))  # Monday, the last day, still in time
    access = env.item(items.access)
    [right] = access.rights
    assert [(d.what, d.due.isoformat()) for d in right.deadlines] == [
        ("inspect", "2026-11-23"), ("copies", "2026-12-01"), ("act", "2026-12-16")]
    assert not access.overdue and access.due_soon and access.next_due == date(2026, 11, 23)
    assert env.queue(overdue=True) == []
    at(datetime(2026, 11, 24, 17, 0, tzinfo=UTC))
    q = env.queue()
    assert [i.item for i in env.queue(overdue=True)] == [items.access]
    assert next(i for i in q if i.item == items.access).overdue
    # Sam's confidential-communication request: 10 business days without the 26th and 27th: 2 Dec.
    conf = next(i for i in q if i.item == items.confidential)
    assert conf.rights[0].deadlines[0].due == date(2026, 12, 2) and not conf.overdue and not conf.due_soon
    at(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    assert next(i for i in env.queue() if i.item == items.confidential).due_soon
    at(datetime(2026, 12, 3, 17, 0, tzinfo=UTC))
    assert {i.item for i in env.queue(overdue=True)} == {items.access, items.confidential}
    # Without California's clocks only HIPAA's 30 days count.
    with env.store.begin() as s:
        federal = review.queue(s, env.crypto, rules=replace(env.config.clocks, california=False), overdue=True)
    assert [i.item for i in federal] == [items.confidential]
    # A closed request is never overdue.
    for step in ("signed_form_received", "denied"):
        with env.store.begin() as s:
            review.record_request_step(s, items.confidential, "confidential_communication", step, SAM)
    assert [i.item for i in env.queue(overdue=True)] == [items.access]


def test_the_signed_form_start_rule_waits_for_the_form(env: Env, items: Items) -> None:
    rules = replace(env.config.clocks, start="signed_form")
    at(datetime(2026, 12, 20, 17, 0, tzinfo=UTC))
    with env.store.begin() as s:
        [right] = review.item(s, env.crypto, items.access, who=ALEX, rules=rules).rights
        assert (right.clock_started, right.deadlines, right.overdue, right.can_extend) == (False, (), False, False)
        with pytest.raises(review.ItemError, match="has not started"):
            review.extend(s, env.crypto, items.access, "access", ALEX, "records offsite", rules=rules)
        review.record_request_step(s, items.access, "access", "forms_sent", ALEX,
                                   at=datetime(2026, 11, 17, 18, 0, tzinfo=UTC))
        review.record_request_step(s, items.access, "access", "signed_form_received", ALEX,
                                   at=datetime(2026, 12, 1, 18, 0, tzinfo=UTC))
    with env.store.begin() as s:
        [right] = review.item(s, env.crypto, items.access, who=ALEX, rules=rules).rights
        # Started on 1 Dec: inspect 8 Dec, copies 16 Dec (passed), HIPAA 31 Dec.
        assert [d.due.isoformat() for d in right.deadlines] == ["2026-12-08", "2026-12-16", "2026-12-31"]
        assert right.clock_started and right.overdue
        # Under the receipt rule the same request was due on 16 Dec.
        [by_receipt] = review.item(s, env.crypto, items.access, who=ALEX, rules=env.config.clocks).rights
        assert by_receipt.deadlines[-1].due == date(2026, 12, 16)


# --------------------------------------------------------------------------- the rights workflow


def test_a_request_moves_forms_sent_signed_form_then_fulfilled(env: Env, items: Items) -> None:
    at(T0 + timedelta(days=1))
    with env.store.begin() as s:
        review.record_request_step(s, items.access, "access", "forms_sent", ALEX)
    assert env.item(items.access).rights[0].state == "forms_sent"
    with env.store.begin() as s, pytest.raises(review.ItemError, match="open rights requests"):
        review.resolve(s, env.crypto, items.access, ALEX, "forms sent")  # standard 10: not done yet
    with env.store.begin() as s, pytest.raises(review.ItemError, match="before its signed form"):
        review.record_request_step(s, items.access, "access", "fulfilled", ALEX)
    with env.store.begin() as s:
        review.record_request_step(s, items.access, "access", "signed-form-received", ALEX)
    with env.store.begin() as s, pytest.raises(review.ItemError, match="only go forward"):
        review.record_request_step(s, items.access, "access", "forms_sent", ALEX)
    with env.store.begin() as s:
        for bad, words in ((("restriction", "forms_sent"), "holds no restriction request"),
                           (("access", "mailed"), "unknown step"),
                           (("copies", "forms_sent"), "unknown right")):
            with pytest.raises(review.ItemError, match=words):
                review.record_request_step(s, items.access, bad[0], bad[1], ALEX)
        with pytest.raises(review.ItemError, match="future"):
            review.record_request_step(s, items.access, "access", "fulfilled", ALEX, at=T0 + timedelta(days=3))
    item = env.item(items.access)
    assert item.next_step.startswith("fulfil or deny the access request by 2026-11-23")
    with env.store.begin() as s:
        review.record_request_step(s, items.access, "access", "fulfilled", ALEX)
    with env.store.begin() as s, pytest.raises(review.ItemError, match="already fulfilled"):
        review.record_request_step(s, items.access, "access", "denied", ALEX)
    [right] = env.item(items.access).rights
    assert right.done and [st.step for st in right.steps] == ["forms_sent", "signed_form_received", "fulfilled"]
    assert right.next_due is None and not right.overdue
    with env.store.begin() as s:
        review.resolve(s, env.crypto, items.access, ALEX, "records mailed to Pat")
        with pytest.raises(review.ItemError, match="already resolved"):
            review.resolve(s, env.crypto, items.access, ALEX, "again")
    assert items.access not in [i.item for i in env.queue()]
    resolved = next(i for i in env.queue(include_resolved=True) if i.item == items.access)
    assert resolved.state == "resolved" and resolved.acknowledged_by == ALEX  # resolving acknowledges
    assert env.item(items.access).resolution_note == "records mailed to Pat"
    assert env.item(items.access, evidence=False).resolution_note == ""
    # A request may be denied before a signed form comes back; a note is needed to resolve.
    with env.store.begin() as s:
        review.record_request_step(s, items.amendment, "amendment", "forms_sent", ALEX)
        review.record_request_step(s, items.amendment, "amendment", "denied", ALEX)
        with pytest.raises(review.ItemError, match="note is required"):
            review.resolve(s, env.crypto, items.amendment, ALEX, "  ")
    with env.store.begin() as s:
        rows = {r.right: r for r in s.scalars(select(RightsRequest))}
    assert rows["access"].state == "fulfilled" and rows["amendment"].state == "denied"
    assert rows["access"].signed_form_by == ALEX


def test_extensions_once_with_a_reason_only_where_the_law_allows(env: Env, items: Items) -> None:
    at(T0 + timedelta(days=5))
    rules = env.config.clocks
    with env.store.begin() as s:
        with pytest.raises(review.ItemError, match="reason is required"):
            review.extend(s, env.crypto, items.access, "access", ALEX, " ", rules=rules)
        with pytest.raises(review.ItemError, match="no extension exists for a confidential communication"):
            review.extend(s, env.crypto, items.confidential, "confidential_communication", SAM, "busy", rules=rules)
        with pytest.raises(review.ItemError, match="no extension exists for a restriction"):
            review.extend(s, env.crypto, items.access, "restriction", ALEX, "busy", rules=rules)
        with pytest.raises(review.ItemError, match="holds no amendment request"):
            review.extend(s, env.crypto, items.access, "amendment", ALEX, "busy", rules=rules)
        assert review.extend(s, env.crypto, items.access, "access", ALEX, "records in offsite storage",
                             rules=rules) == date(2027, 1, 15)
    with env.store.begin() as s, pytest.raises(review.ItemError, match="already extended"):
        review.extend(s, env.crypto, items.access, "access", ALEX, "again", rules=rules)
    [right] = env.item(items.access).rights
    act = right.deadlines[-1]
    assert (act.what, act.due, act.original, act.extended) == ("act", date(2027, 1, 15), date(2026, 12, 16), True)
    assert right.deadlines[0].due == date(2026, 11, 23)  # California's clocks do not move
    assert right.extended and not right.can_extend and right.extension_reason == "records in offsite storage"
    assert env.item(items.access, evidence=False).rights[0].extension_reason == ""
    # After the first deadline it is too late to extend (amendment: 60 days from 16 Nov = 15 Jan).
    at(datetime(2027, 1, 16, 20, 0, tzinfo=UTC))
    assert not env.item(items.amendment).rights[0].can_extend
    with env.store.begin() as s, pytest.raises(review.ItemError, match="before the first deadline"):
        review.extend(s, env.crypto, items.amendment, "amendment", ALEX, "late", rules=rules)
    with env.store.begin() as s:
        blob = s.scalar(select(RightsRequest.extension_reason_enc).where(RightsRequest.right == "access"))
    assert blob is not None and b"offsite" not in blob


# --------------------------------------------------------------------------- the item


def test_an_item_shows_reasons_evidence_required_actions_and_their_outbox_state(env: Env, items: Items) -> None:
    item = env.item(items.access)
    assert [(r.standard, r.evidence) for r in item.reasons if r.flag == "rights_request"] == [
        ("9a", "copy of my records"), ("10", "")]
    [send] = [a for a in item.actions if a.action.kind == "send_rights_forms"]
    assert send.state == "pending" and send.action.to == "client@example.com"  # the draft is not yet written
    assert {o.kind for o in item.outbox} == {"flag", "draft"}
    hidden = env.item(items.access, evidence=False)
    assert all(r.evidence == "" for r in hidden.reasons) and hidden.actions[0].action.to == ""
    emergent = env.item(items.emergent)
    assert {a.action.kind: a.state for a in emergent.actions} == {"respond_now": "pending",
                                                                  "alert_on_call": "pending"}
    assert [o.kind for o in emergent.outbox].count("alert") >= 1
    amendment = env.item(items.amendment)
    assert {a.action.kind for a in amendment.actions} == {"respond_by_phone_or_mail", "mail_rights_forms"}
    assert {a.state for a in amendment.actions} == {"pending"}  # the note
    phone = next(a for a in amendment.actions if a.action.kind == "respond_by_phone_or_mail").action.phone
    assert phone == "555-0102"


# --------------------------------------------------------------------------- corrections


def test_corrections_change_the_item_and_are_kept_as_training_data(env: Env, items: Items) -> None:
    at(T0 + timedelta(hours=8))
    with env.store.begin() as s:
        review.correct(s, env.crypto, items.emergent, ALEX, emergent=False, purpose="other")
        review.correct(s, env.crypto, items.plain, ALEX, emergent=True)  # a message the detector missed
        review.correct(s, env.crypto, items.access, ALEX, rights=())
        review.correct(s, env.crypto, items.amendment, ALEX, rights=["amendment", "accounting"],
                       clinical_question=True)
        for kw, words in (({}, "nothing to correct"), ({"rights": ["copies"]}, "unknown right"),
                          ({"purpose": "chat"}, "unknown purpose"),
                          ({"purpose": "clinical_question", "clinical_question": False}, "asks one")):
            with pytest.raises(review.ItemError, match=words):
                review.correct(s, env.crypto, items.unverified, ALEX, **kw)  # type: ignore[arg-type]
    q = {i.item: i for i in env.queue()}
    assert q[items.plain].flags == ("emergent",) and q[items.plain].priority == 1 and q[items.plain].corrected
    assert q[items.emergent].flags == () and q[items.emergent].priority == 6  # stays until resolved
    assert q[items.emergent].assessed_flags == ("emergent",)
    assert q[items.access].rights == () and q[items.access].flags == ()
    assert q[items.amendment].hipaa_rights == ("amendment", "accounting")
    assert q[items.amendment].flags == ("rights_request", "no_consent", "clinical_question")
    assert [r.right for r in q[items.amendment].rights] == ["amendment", "accounting"]
    with env.store.begin() as s:  # no rights left: it can be resolved without steps
        review.resolve(s, env.crypto, items.access, ALEX, "no request after all")
    # A later correction of the same label wins.
    with env.store.begin() as s:
        review.correct(s, env.crypto, items.emergent, ALEX, emergent=True)
    assert next(i for i in env.queue() if i.item == items.emergent).emergent
    assert len(env.item(items.emergent).corrections) == 2

    with env.store.begin() as s:
        rows = {r["item"]: r for r in review.corrections_for_training(s, env.crypto)}
        stored = list(s.scalars(select(LabelCorrection)))
    assert set(rows) == {items.emergent, items.plain, items.access, items.amendment}
    fields = {"id", "lang", "emergent", "emergent_kind", "hipaa_rights", "purpose", "clinical_question",
              "hard_negative"}
    with (ROOT / "models/data/train-a.jsonl").open(encoding="utf-8") as fh:
        training = set(json.loads(fh.readline()))  # the fields of a labelled training row
    assert fields <= training and training - {"subject", "body", "writer"} <= set(rows[items.plain])
    plain = rows[items.plain]
    assert (plain["emergent"], plain["emergent_kind"], plain["evidence"], plain["corrected"]) == (
        True, "", [], ["emergent"])
    emergent = rows[items.emergent]
    assert (emergent["emergent"], emergent["emergent_kind"], emergent["purpose"]) == (True, "intent_or_plan", "other")
    assert emergent["evidence"] == ["pills tonight"] and emergent["corrected"] == ["emergent", "purpose"]
    assert rows[items.access]["hipaa_rights"] == [] and rows[items.access]["evidence"] == ["copy of my records"]
    amendment = rows[items.amendment]
    assert (amendment["hipaa_rights"], amendment["clinical_question"]) == (["amendment", "accounting"], True)
    assert all("subject" not in r and "body" not in r for r in rows.values())
    # What the detector said is kept beside the correction; the evidence only encrypted.
    first = next(c for c in stored if c.message_record_id == items.emergent)
    assert first.before["emergent"] is True and first.before["detector"] == "keywords-test"
    db = Path(env.config.store.url.removeprefix("sqlite:///")).read_bytes()
    assert b"pills tonight" not in db and b"copy of my records" not in db


def test_a_falsely_emergent_item_is_a_hard_negative(env: Env, items: Items) -> None:
    with env.store.begin() as s:
        review.correct(s, env.crypto, items.child_emergent, ROBIN, emergent=False)
        [row] = review.corrections_for_training(s, env.crypto)
    assert (row["emergent"], row["emergent_kind"], row["hard_negative"]) == (False, "", "corrected")


# --------------------------------------------------------------------------- the audit trail


def test_every_view_and_action_is_audited_without_message_text(env: Env, items: Items) -> None:
    at(T0 + timedelta(days=1))
    env.item(items.access, who="alex.morgan@dmh.example.org")
    env.item(items.access, who="casey.nguyen@dmh.example.org", evidence=False)
    with env.store.begin() as s:
        review.queue(s, env.crypto, who=ALEX, clinician=ALEX)
        review.acknowledge(s, items.emergent, ALEX)
        review.record_request_step(s, items.access, "access", "forms_sent", ALEX)
        review.extend(s, env.crypto, items.access, "access", ALEX, "Pat's chart is offsite")
        review.correct(s, env.crypto, items.emergent, ALEX, emergent=False)
        review.resolve(s, env.crypto, items.emergent, ALEX, "called Pat, safe with family")
    viewed = env.audit("item_viewed")
    assert [(e.actor, e.message_record_id, e.detail["evidence"]) for e in viewed] == [
        (ALEX, items.access, True), ("casey.nguyen@dmh.example.org", items.access, False)]
    expected = {"queue_viewed": None, "item_acknowledged": items.emergent, "rights_step": items.access,
                "rights_extended": items.access, "labels_corrected": items.emergent, "item_resolved": items.emergent}
    for action, item_id in expected.items():
        [event] = env.audit(action)
        assert event.actor == ALEX and event.message_record_id == item_id and event.at is not None
    assert env.audit("rights_step")[0].detail["step"] == "forms_sent"
    assert env.audit("labels_corrected")[0].detail == {"correction_id": 1, "emergent": False}
    with env.store.begin() as s:
        text = json.dumps([e.detail for e in s.scalars(select(AuditEvent))])
    for secret in ("pills", "copy of my records", "offsite", "called Pat", "client@example.com", SUBJECT):
        assert secret not in text


# --------------------------------------------------------------------------- the commands


@pytest.fixture
def cli(env: Env, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    assert env.config.path is not None
    parser = argparse.ArgumentParser(prog="triage")
    parser.add_argument("-c", "--config", default=str(env.config.path))
    register(parser.add_subparsers())

    def run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args(list(argv))
        code = args.func(args)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_the_queue_command_prints_numbers_flags_and_dates_only(cli: Callable[..., tuple[int, str, str]],
                                                               items: Items) -> None:
    at(datetime(2026, 11, 24, 17, 0, tzinfo=UTC))
    code, out, _ = cli("queue", "--clinician", ALEX, "--by", ALEX)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ITEM", "PRIORITY", "FLAGS", "MAILBOX", "RECEIVED", "DUE", "STATE"]
    assert [int(line.split()[0]) for line in lines[1:]] == [items.emergent, items.access, items.amendment,
                                                             items.unverified]
    access = next(line for line in lines if line.startswith(str(items.access)))
    assert "2026-11-16 09:00 PST" in access and "2026-11-23 OVERDUE" in access and "access: open" in access
    for secret in (SUBJECT, "records", "Pat", "client@example.com", "stranger", "555-01"):
        assert secret not in out
    _, overdue, _ = cli("queue", "--overdue")
    assert [line.split()[0] for line in overdue.splitlines()[1:]] == [str(items.access)]
    _, child, _ = cli("queue", "--program", "child")
    assert len(child.splitlines()) == 2
    assert cli("queue", "--clinician", "nobody@example.org")[1].strip() == "no items"


def test_the_review_command_shows_and_acts(cli: Callable[..., tuple[int, str, str]], env: Env,
                                           items: Items) -> None:
    at(T0 + timedelta(days=2))
    code, out, _ = cli("review", str(items.access), "--by", ALEX)
    assert code == 0 and "rights requests:" in out and "due 2026-12-16" in out
    assert "copy of my records" not in out and "client@example.com" not in out  # no evidence without --show
    code, out, _ = cli("review", str(items.access), "--show", "--by", ALEX)
    assert "[evidence: copy of my records]" in out and "to: client@example.com" in out
    code, out, _ = cli("review", str(items.access), "--step", "access", "forms-sent", "--at", "2026-11-17",
                       "--by", ALEX)
    assert code == 0 and f"item {items.access}: access: forms_sent recorded by {ALEX}" in out
    assert env.item(items.access).rights[0].steps[0].at == datetime(2026, 11, 17, 8, 0, tzinfo=UTC)  # PST midnight
    code, out, _ = cli("review", str(items.access), "--extend", "access", "--reason", "records offsite")
    assert code == 0 and "now due 2027-01-15" in out
    code, _, err = cli("review", str(items.access), "--extend", "access")
    assert code == 2 and "--reason" in err
    code, _, err = cli("review", str(items.confidential), "--extend", "confidential-communication",
                       "--reason", "busy")
    assert code == 1 and "no extension exists" in err
    # All or nothing: the refused resolve leaves the acknowledgement undone too.
    code, _, err = cli("review", str(items.access), "--ack", "--resolve", "done")
    assert code == 1 and "open rights requests" in err
    assert env.item(items.access).acknowledged_at is None
    code, out, _ = cli("review", str(items.emergent), "--correct-emergent", "no", "--correct-rights", "none",
                       "--correct-purpose", "other", "--correct-clinical", "no", "--resolve", "false alarm",
                       "--by", ALEX)
    assert code == 0 and "labels corrected" in out and "resolved" in out
    code, out, _ = cli("review", str(items.unverified), "--correct-rights", "access,amendment", "--ack", "--show")
    assert code == 0 and "acknowledged by cli:" in out and "amendment (standard 9b): open" in out
    assert "corrections:" in out and "rights=access,amendment" in out
    code, _, err = cli("review", "999999")
    assert code == 1 and "no item 999999" in err
