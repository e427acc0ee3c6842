"""Standards 1–10 for one message: a consent check and a detection become an Assessment. Pure.

`assess()` is the only place where the standards meet. It takes what
`triage.consent.check` found (standards 1–5) and what a detector found
(emergent content, HIPAA rights, purpose, clinical question) and decides:

- the flags a clinician sees (`FLAGS`), and one priority: emergent first, then
  HIPAA rights requests (they carry legal clocks), then failing consent, then
  standards 5 and 8, then an unverified sender;
- the actions the standards require (`ACTION_KINDS`), each with the channel it
  must use and, where the standards fix it, the only address it may go to;
- the reasons, each citing a standard and holding its evidence (the phrase that
  matched, the failing consent condition).

Reason and action `text` are fixed sentences with no client data, so they can be
shown and counted anywhere; `evidence`, `to`, `phone` and `mailing_address` are
protected health information, kept encrypted in the store and never logged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from triage.consent import ConsentCheck
from triage.detect import Detection, Text
from triage.registry import ConsentRecord, normalise_email

FLAGS = ("emergent", "rights_request", "no_consent", "multiple_clients", "clinical_question", "unverified_sender")
PRIORITIES = {1: "emergent", 2: "rights request", 3: "no consent", 4: "review", 5: "low", 6: "none"}
RIGHT_STANDARD = {"access": "9a", "amendment": "9b", "accounting": "9c", "restriction": "9d",
                  "confidential_communication": "9e"}
RIGHT_NAMES = {"access": "access to (inspect and copy) their records",
               "amendment": "amendment of their records",
               "accounting": "an accounting of disclosures",
               "restriction": "restrictions on the use and disclosure of their information",
               "confidential_communication": "confidential communication"}
PURPOSE_STANDARD = {"scheduling": "7a", "reminder": "7b", "treatment_instructions": "7c", "information": "7d",
                    "clinical_question": "8", "other": ""}
ACTION_KINDS = ("respond_now", "alert_on_call", "send_rights_forms", "mail_rights_forms", "respond_by_phone_or_mail",
                "verify_identity", "answer_outside_email", "reply_to_each_client_separately")
STANDARD_10_STATEMENT = (
    "The attached forms must be completed and signed by the client or the client's personal representative, "
    "and delivered to the program in person or by mail, for the request to be processed.")
_CLIENT_STATUSES = ("ok", "failing", "unverified")  # the sender is (or may be) a client


@dataclass(frozen=True, slots=True)
class Reason:
    standard: str  # "1b", "4", "6", "9a", ...
    text: str  # a fixed sentence: no client data
    evidence: str = ""  # the phrase or field that shows it (PHI: stored encrypted, never logged)
    flag: str = ""  # the flag this reason supports, "" for a note


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # one of ACTION_KINDS
    standard: str
    text: str  # what to do: a fixed sentence, no client data
    channel: str  # "most_effective" | "secure_email" | "phone_or_mail" | "mail" | "outside_email" | "none"
    to: str = ""  # the only address an email for this action may go to (PHI)
    rights: tuple[str, ...] = ()  # the rights whose forms go with it
    phone: str = ""  # from the registry (PHI)
    mailing_address: str = ""  # from the registry (PHI)
    client_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    flags: tuple[str, ...]  # in FLAGS order
    priority: int  # 1 (emergent) .. 6 (nothing to do)
    actions: tuple[Action, ...]
    reasons: tuple[Reason, ...]
    standards: tuple[str, ...]  # every standard the message touches, e.g. ("3", "9a", "10")
    emergent: bool
    emergent_score: float
    emergent_kind: str
    hipaa_rights: tuple[str, ...]
    purpose: str
    clinical_question: bool
    multiple_clients: bool
    consent: str  # ok | failing | unknown | not_applicable | unverified (see triage.consent)
    consent_failures: tuple[str, ...]  # failing condition codes: 1a, 1b, 1c, 1e, revoked, 3, 4
    client_ids: tuple[str, ...]  # PHI-adjacent: stored encrypted
    reply_to: str = ""  # the only address an email reply may go to; "" when email may not be used (PHI)
    email_reply_allowed: bool = False  # a reply by secure email is allowed (consent ok, one client, not automated)
    automated: bool = False
    detector: str = ""
    minor_standard: str = ""  # "2" or "3" for a minor client

    @property
    def priority_name(self) -> str:
        return PRIORITIES[self.priority]

    @property
    def contract_consent(self) -> str:
        """The three-valued consent of the `triage classify` contract."""
        return self.consent if self.consent in ("ok", "failing") else "unknown"


@dataclass(frozen=True)
class _Builder:
    flags: set[str] = field(default_factory=set)
    reasons: list[Reason] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    standards: set[str] = field(default_factory=set)

    def reason(self, standard: str, text: str, evidence: str = "", flag: str = "") -> None:
        self.reasons.append(Reason(standard, text, evidence, flag))
        self.standards.add(standard)
        if flag:
            self.flags.add(flag)


def assess(check: ConsentCheck, detection: Detection, *, automated: Sequence[str] = (),
           text: Text | None = None, records: Sequence[ConsentRecord] = (), today: date | None = None,
           crisis_line: str = "", involved: Sequence[str] = ()) -> Assessment:
    """The decision for one message. `text` and `records` let a shared consented address (a parent of
    several clients) be settled by the client names the new text holds; `involved` are the registry's
    clients among From/To/Cc (`consent.participant_clients`), recorded with the sender's."""
    b = _Builder()
    check = _settle_shared_address(check, text, records)
    record = _record(check, records)
    phone = record.phone if record else ""
    mailing = record.mailing_address if record else ""
    ids = check.client_ids

    # Standard 6, second sentence: an emergent message is answered at once, whatever the consent.
    if detection.emergent:
        evidence = "; ".join(e.phrase for e in detection.evidence_for("emergent")) or detection.emergent_kind
        kind = detection.emergent_kind.replace("_", " ") or "emergent content"
        b.reason("6", f"Emergent message ({kind}): respond at once by the most effective means, "
                      "email included, whatever the consent (standard 6)", evidence, "emergent")
        b.actions.append(Action(
            "respond_now", "6",
            "Respond now by the most effective means: call the client first; if there is immediate danger call "
            "911, for a suicidal crisis 988" + (f", or the county's 24/7 line {crisis_line}" if crisis_line else "")
            + ". Email may be used for an emergent message whatever the consent.",
            "most_effective", to=check.reply_to or check.sender, phone=phone, client_ids=ids))
        b.actions.append(Action("alert_on_call", "6", "Alert the clinician and the program's on-call cover now.",
                                "none", client_ids=ids))

    # Standards 1-4: the consent for this sender and clinician.
    if check.status == "failing":
        for f in check.failures:
            standard = "1e" if f.code == "revoked" else f.code
            b.reason(standard, f.text, f.evidence, "no_consent")
        b.reason("6", "Consent to email fails: respond by telephone or mail, not by email (standard 6)",
                 ", ".join(check.codes), "no_consent")
        b.actions.append(Action(
            "respond_by_phone_or_mail", "6",
            "Respond by telephone or by letter, not by email: the conditions listed fail.",
            "phone_or_mail", phone=phone, mailing_address=mailing, client_ids=ids))
    elif check.status == "unverified":
        b.reason("1e", "The sender's address is on no signed Consent to Email form: there is no consent to "
                       "email this sender (standard 1e)", check.sender, "unverified_sender")
        b.reason("4", "Email may go only to the address on a client's Consent to Email form (standard 4)",
                 check.sender, "unverified_sender")
        b.reason("6", "Verify who the sender is before any reply; a client without consent is answered by "
                      "telephone or mail (standard 6)", check.note, "unverified_sender")
        b.actions.append(Action(
            "verify_identity", "6",
            "Verify the sender's identity (by telephone, using the number in the client's record, not one given "
            "in the message) before any reply; do not reply by email.", "phone_or_mail"))
    if check.minor and check.standard == "2":
        b.reason("2", "The client is a minor under their own consent to services: email is allowed when every "
                      "condition of standard 1 is met (standard 2)")
    elif check.minor and check.standard == "3":
        b.reason("3", "The client is a minor whose consent runs through a responsible adult: email may go only "
                      "to the responsible adult's address on the form (standard 3)")

    # Standard 5: several clients on one email, or an address that could be any of several clients.
    multiple = check.multiple_clients and not automated
    if multiple:
        b.reason("5", "More than one client is on this message, or the sender's address is on the forms of "
                      "several clients: never communicate with several clients on one email (standard 5)",
                 check.multiple_clients_evidence, "multiple_clients")
        b.actions.append(Action(
            "reply_to_each_client_separately", "5",
            "Reply to each client separately and never copy other clients; when the address is shared, "
            "confirm which client the message is about.", "none", client_ids=ids))

    # Standards 9-10: HIPAA privacy-rights requests, whoever sent them.
    rights = tuple(r for r in RIGHT_STANDARD if r in detection.rights)
    if rights:
        for right in rights:
            phrase = "; ".join(e.phrase for e in detection.evidence_for(right))
            b.reason(RIGHT_STANDARD[right], f"A HIPAA privacy-rights request: {RIGHT_NAMES[right]} "
                     f"(standard {RIGHT_STANDARD[right]}); it cannot be satisfied by email (standard 9)",
                     phrase, "rights_request")
        if check.status == "ok" and check.reply_to and not multiple:
            b.reason("10", "Reply by secure email to the address on the Consent to Email form, attaching the "
                           "approved request form for each right requested (standard 10)", "", "rights_request")
            b.actions.append(Action(
                "send_rights_forms", "10",
                "Reply by secure email with the approved request form for each right requested attached. "
                + STANDARD_10_STATEMENT, "secure_email", to=check.reply_to, rights=rights, client_ids=ids))
        else:
            b.reason("10", "Send the approved request form for each right requested by mail, not by email, "
                           "because email may not be used with this sender (standards 6 and 10)", "",
                     "rights_request")
            b.actions.append(Action(
                "mail_rights_forms", "10",
                ("Verify who is asking first. " if check.status in ("unverified", "not_applicable", "unknown")
                 else "") + "Send the approved request form for each right requested by letter. "
                + STANDARD_10_STATEMENT, "mail", rights=rights, mailing_address=mailing, client_ids=ids))

    # Standards 7-8: what the message is for, and any part asking for diagnosis or treatment.
    purpose = detection.purpose
    if detection.clinical_question or purpose == "clinical_question":
        phrase = "; ".join(e.phrase for e in detection.evidence_for("clinical_question"))
        b.reason("8", "Part of this message asks for a diagnosis, treatment advice or a medication change: "
                      "answer that part outside email, by telephone or in session (standard 8)", phrase,
                 "clinical_question")
        b.actions.append(Action(
            "answer_outside_email", "8",
            "Answer the clinical question by telephone or in a session, never by email; an email reply may "
            "only schedule, remind, or relay information already discussed.", "outside_email",
            phone=phone, client_ids=ids))
    if purpose in _PURPOSE_TEXT:
        phrase = "; ".join(e.phrase for e in detection.evidence_for(purpose))
        b.reason(PURPOSE_STANDARD[purpose], _PURPOSE_TEXT[purpose], phrase)

    email_ok = (check.status == "ok" and bool(check.reply_to) and not multiple and not automated)
    if email_ok:
        b.reason("7", "An email reply may only schedule appointments, remind of appointments or of treatment "
                      "instructions, or relay factual information already discussed and documented (standard 7); "
                      "never diagnosis or treatment (standard 8)")
    if automated:
        b.reason("", "Automated mail (" + "; ".join(automated) + "): never answered by a draft")

    flags = tuple(f for f in FLAGS if f in b.flags)
    return Assessment(
        flags=flags, priority=_priority(flags), actions=tuple(b.actions), reasons=tuple(b.reasons),
        standards=_sorted_standards(b.standards - {"", "7"}),
        emergent=detection.emergent, emergent_score=round(detection.emergent_score, 4),
        emergent_kind=detection.emergent_kind if detection.emergent else "", hipaa_rights=rights,
        purpose=purpose, clinical_question=detection.clinical_question or purpose == "clinical_question",
        multiple_clients=multiple, consent=check.status,
        consent_failures=tuple(dict.fromkeys(check.codes)), client_ids=_client_ids(check, involved, records),
        reply_to=check.reply_to or "" if check.status == "ok" else "",
        email_reply_allowed=email_ok, automated=bool(automated), detector=detection.detector,
        minor_standard=check.standard if check.minor else "")


_PURPOSE_TEXT = {
    "scheduling": "Scheduling an appointment: an allowed purpose for email (standard 7a)",
    "reminder": "About an appointment already set: an allowed purpose for email (standard 7b)",
    "treatment_instructions": "About treatment instructions already given: an allowed purpose for email "
                              "(standard 7c)",
    "information": "Factual information already discussed and documented: an allowed purpose for email "
                   "(standard 7d)",
}


def _client_ids(check: ConsentCheck, involved: Sequence[str], records: Sequence[ConsentRecord]) -> tuple[str, ...]:
    """The sender's clients first, then the other clients on the message. Clients on it only through
    the sender's own address were already weighed by the consent check (a shared address settled
    by the text to one child leaves that child's siblings out)."""
    weighed = check.sender if check.client_ids else ""
    via_sender = {r.client_id for r in records
                  if weighed and weighed in (normalise_email(r.consented_email), normalise_email(r.client_email))}
    return (*check.client_ids, *(c for c in involved if c not in check.client_ids and c not in via_sender))


def _priority(flags: tuple[str, ...]) -> int:
    if "emergent" in flags:
        return 1
    if "rights_request" in flags:
        return 2
    if "no_consent" in flags:
        return 3
    if "multiple_clients" in flags or "clinical_question" in flags:
        return 4
    if "unverified_sender" in flags:
        return 5
    return 6


def _sorted_standards(standards: set[str]) -> tuple[str, ...]:
    def key(s: str) -> tuple[int, str]:
        digits = re.match(r"\d+", s)
        return (int(digits.group()) if digits else 99, s)

    return tuple(sorted(standards, key=key))


def _record(check: ConsentCheck, records: Sequence[ConsentRecord]) -> ConsentRecord | None:
    if check.record is not None and (not check.client_ids or check.record.client_id in check.client_ids):
        return check.record
    wanted = set(check.client_ids)
    return next((r for r in records if r.client_id in wanted), None)


# --------------------------------------------------------------------------- shared consented address


def _settle_shared_address(check: ConsentCheck, text: Text | None, records: Sequence[ConsentRecord]) -> ConsentCheck:
    """A parent whose address is on the forms of several children: when the new text names exactly
    one of them, the mail is about that one (standard 5 is then decided by From/To/Cc alone).
    When it names none or several, which client it is about stays ambiguous and stays flagged."""
    if text is None or len(check.client_ids) < 2 or check.record is None:
        return check
    sender = check.sender
    candidates = [r for r in records if r.client_id in check.client_ids
                  and sender in (normalise_email(r.consented_email), normalise_email(r.client_email))]
    if not candidates:
        return check
    words = _words(f"{text.subject}\n{text.new_text}")
    named = sorted({r.client_id for r in candidates if _names_in(r.client_name, words)})
    if len(named) != 1:
        return check
    chosen = next(r for r in candidates if r.client_id == named[0])
    failures = tuple(f for f in check.failures
                     if not f.evidence.startswith("client ") or f.evidence.startswith(f"client {chosen.client_id}:"))
    return replace(check, record=chosen, client_ids=(chosen.client_id,), failures=failures,
                   status="failing" if failures else "ok",
                   multiple_clients=check.participants_multiple,
                   multiple_clients_evidence=check.participants_evidence,
                   reply_to=check.reply_to or (normalise_email(chosen.consented_email) if not failures else None))


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", _fold(text)))


def _names_in(client_name: str, words: set[str]) -> bool:
    """The client's first name (or any given name of two letters or more) appears as a word."""
    parts = [p for p in re.findall(r"\w+", _fold(client_name)) if len(p) >= 2]
    return bool(parts) and parts[0] in words
