"""Drafts, clinician notes, letters and alerts, rendered from an Assessment. Pure: no network, no store, no logs.

Everything here turns a decision (`triage.policy.Assessment`) into something a
person reads; nothing here sends or stores it (the worker APPENDs and mails).

- `rights_reply`: the standard 10 reply draft to the client (the only kind of
  draft that ever goes to a client), To the consented address only, with the
  approved form for each right attached and the department's secure-send
  marker (standard 1d).
- `clinician_note`: an internal note to the clinician (failing consent,
  unverified sender, clinical question, forms by letter, several clients),
  with the printable letter when one applies.
- `letter_pdf` / `letter_text`: the letter to the mailing address on file.
- `alert_text` / `alert_message`: the emergent alert and its escalations,
  holding no message content, no client name and no address.
- `check_draft`: the last check before an APPEND; it refuses a draft to a
  client that would break standard 4, 5 or 8 (or 1d, 6, 10) and says why in
  fixed sentences.

Templates live in `triage/templates/` (flat, so the `templates/*` package-data
glob covers them): `<kind>.<language>.txt`. What a client reads exists in
English and Spanish; what staff read is English.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from triage.config import Clinician
from triage.errors import TriageError
from triage.policy import RIGHT_NAMES, RIGHT_STANDARD, STANDARD_10_STATEMENT, Action, Assessment
from triage.registry import ConsentRecord, normalise_email
from triage.values import Message

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("en", "es")
ITEM_HEADER = "X-Triage-Item"
KIND_HEADER = "X-Triage-Kind"
RIGHTS_REPLY = "rights_reply"  # the only kind of draft that may go to a client
NOTE = "note"
ALERT = "alert"
NOTE_MARKER = "[triage note]"

# Notes, one section per action kind that a person must carry out outside email, in this order.
NOTE_KINDS = ("respond_by_phone_or_mail", "verify_identity", "mail_rights_forms", "answer_outside_email",
              "reply_to_each_client_separately")
_NOTE_LABELS = {
    "respond_by_phone_or_mail": "consent to email fails: respond by phone or letter",
    "verify_identity": "unverified sender: verify identity first",
    "mail_rights_forms": "rights request: send the forms by letter",
    "answer_outside_email": "clinical question: answer outside email",
    "reply_to_each_client_separately": "several clients: reply to each separately",
}

# Plain-language names of the rights, addressed to the reader ("your"), and the form titles.
RIGHT_LABELS = {
    "en": {"access": "to see and get a copy of your health records",
           "amendment": "to ask for a change (amendment) to your health records",
           "accounting": "to get a list (accounting) of who your health information was shared with",
           "restriction": "to ask us to limit how your health information is used or shared",
           "confidential_communication": "to ask us to contact you in a different, confidential way"},
    "es": {"access": "ver y obtener una copia de sus expedientes de salud",
           "amendment": "pedir un cambio (enmienda) en sus expedientes de salud",
           "accounting": "obtener una lista de con quién se compartió su información de salud",
           "restriction": "pedir que limitemos cómo se usa o se comparte su información de salud",
           "confidential_communication": "pedir que nos comuniquemos con usted de otra manera confidencial"},
}
FORM_TITLES = {
    "en": {"access": "Request for Access to Protected Health Information",
           "amendment": "Request for Amendment of Protected Health Information",
           "accounting": "Request for an Accounting of Disclosures of Protected Health Information",
           "restriction": "Request for Restrictions on the Use and Disclosure of Protected Health Information",
           "confidential_communication": "Request for Confidential Communication of Protected Health Information"},
    "es": {"access": "Solicitud de acceso a la información de salud protegida",
           "amendment": "Solicitud de enmienda de la información de salud protegida",
           "accounting": "Solicitud de un informe de divulgaciones de la información de salud protegida",
           "restriction": "Solicitud de restricciones al uso y la divulgación de la información de salud protegida",
           "confidential_communication": "Solicitud de comunicación confidencial de la información de salud "
                                         "protegida"},
}
# The standard 10 statement as the client reads it; the English reply uses the policy's own sentence verbatim.
STATEMENT = {
    "en": STANDARD_10_STATEMENT,
    "es": "Los formularios adjuntos deben ser completados y firmados por el cliente o por su representante "
          "personal, y entregados al programa en persona o por correo postal, para que la solicitud pueda "
          "tramitarse.",
}
_LETTER_STATEMENT = {
    "en": STANDARD_10_STATEMENT.replace("The attached forms", "The enclosed forms"),
    "es": STATEMENT["es"].replace("Los formularios adjuntos", "Los formularios incluidos"),
}
# A subject with no clinical content. "Re: <original subject>" is never used: a subject shows in
# notifications, lock screens and mail lists, and the client's own subject may hold PHI
# ("my diagnosis", a medication). Threading comes from In-Reply-To/References instead.
REPLY_SUBJECT = {"en": "Your request about your health information",
                 "es": "Su solicitud sobre su información de salud"}
_MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field name: printable ASCII except ":"


class DraftError(TriageError):
    """A draft cannot be built (a missing form, no action to build it from); the message holds no PHI."""


@dataclass(frozen=True)
class SecureMarker:
    """How the department's gateway recognises mail to encrypt (standard 1d): a subject tag, a header, or both."""

    subject_tag: str = ""  # e.g. "[secure]"
    header_name: str = ""  # e.g. "X-Secure-Send"
    header_value: str = ""  # e.g. "yes"

    def __post_init__(self) -> None:
        if not self.subject_tag.strip() and not self.header_name:
            raise ValueError("a secure-send marker needs a subject tag or a header (standard 1d)")
        if self.header_name and (not _HEADER_NAME.match(self.header_name) or not self.header_value.strip()):
            raise ValueError(f"secure-send header {self.header_name!r} needs a valid name and a value")
        for text in (self.subject_tag, self.header_value):
            if "\n" in text or "\r" in text:
                raise ValueError("a secure-send marker may not hold a line break")

    def apply(self, message: EmailMessage, subject: str) -> None:
        message["Subject"] = f"{self.subject_tag.strip()} {subject}" if self.subject_tag.strip() else subject
        if self.header_name:
            message[self.header_name] = self.header_value

    def present(self, message: EmailMessage) -> bool:
        subject = str(message.get("Subject", ""))
        if self.subject_tag.strip() and self.subject_tag.strip().lower() not in subject.lower():
            return False
        return not self.header_name or str(message.get(self.header_name, "")).strip() == self.header_value.strip()


@dataclass(frozen=True)
class ProgramContact:
    """Where clients deliver forms and whom letters come from (config: the program's name, address and phone)."""

    name: str
    mailing_address: str  # lines separated by newlines (or "; ")
    phone: str = ""


# --------------------------------------------------------------------------- shared helpers


@cache
def _env() -> Environment:
    # Plain text only: no HTML autoescape; StrictUndefined so a missing variable fails instead of printing "".
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(name: str, **values: object) -> str:
    """One template of `triage/templates/` with its values; blank-line runs folded to one."""
    text = _env().get_template(name).render(**values)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def choose_language(record: ConsentRecord | None, message: Message | None = None) -> str:
    """The registry's preferred language, else the message's, else English."""
    for candidate in (record.preferred_language if record else "", message.language if message else ""):
        if candidate in LANGUAGES:
            return candidate
    return "en"


def to_bytes(message: EmailMessage) -> bytes:
    """The wire form for IMAP APPEND or SMTP: CRLF line ends, long lines folded."""
    return message.as_bytes(policy=email_policy.SMTP)


def item_link(base_url: str, item_id: int | str) -> str:
    return f"{base_url.rstrip('/')}/items/{item_id}" if base_url else ""


def _lines(address: str) -> list[str]:
    parts = re.split(r"\r?\n|;\s*", address.strip())
    return [p.strip() for p in parts if p.strip()]


def _recipient_name(record: ConsentRecord | None) -> str:
    """Standard 3: the responsible adult is the one written to; otherwise the client."""
    if record is None:
        return ""
    if record.consent_basis == "responsible_adult" and record.responsible_adult_name:
        return record.responsible_adult_name
    return record.client_name


def _about_client(record: ConsentRecord | None) -> str:
    """The client's name when writing to a responsible adult (a parent may have several children)."""
    if record is not None and record.consent_basis == "responsible_adult":
        return record.client_name
    return ""


def _long_date(day: date, language: str) -> str:
    if language == "es":
        return f"{day.day} de {_MONTHS_ES[day.month - 1]} de {day.year}"
    return f"{day:%B} {day.day}, {day.year}"


def _local(moment: datetime, time_zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(time_zone)) if moment.tzinfo else moment


def _when(moment: datetime | None, time_zone: str) -> str:
    return _local(moment, time_zone).strftime("%Y-%m-%d %H:%M %Z").strip() if moment else "unknown"


def _action(assessment: Assessment, kind: str) -> Action | None:
    return next((a for a in assessment.actions if a.kind == kind), None)


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1] if "@" in address else "triage.invalid"


def _stamp(message: EmailMessage, item_id: int | str, kind: str, now: datetime, domain: str) -> None:
    message["Date"] = format_datetime(now if now.tzinfo else now.astimezone())
    message["Message-ID"] = make_msgid("triage", domain=domain)
    message[ITEM_HEADER] = str(item_id)
    message[KIND_HEADER] = kind


def _thread(message: EmailMessage, original: Message | None) -> None:
    if original is None or not original.message_id:
        return
    message["In-Reply-To"] = original.message_id
    references = [r for r in original.references if r != original.message_id]
    message["References"] = " ".join([*references, original.message_id])


@dataclass(frozen=True)
class _File:
    filename: str
    data: bytes
    maintype: str
    subtype: str


def _form_files(rights: Sequence[str], forms: Mapping[str, Path | str]) -> list[_File]:
    """The configured form for each right, read from disk; a missing one is an error, never a silent skip."""
    files = []
    for right in rights:
        if right not in forms:
            raise DraftError(f"no form is configured for the right {right!r} (standard {RIGHT_STANDARD.get(right)})")
        path = Path(forms[right])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DraftError(f"the form for the right {right!r} cannot be read: {path}: {exc.strerror}") from None
        guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = guessed.split("/", 1)
        files.append(_File(path.name, data, maintype, subtype))
    return files


def _attach(message: EmailMessage, files: Sequence[_File]) -> None:
    for f in files:
        message.add_attachment(f.data, maintype=f.maintype, subtype=f.subtype, filename=f.filename)


# --------------------------------------------------------------------------- the rights reply (standard 10)


def rights_reply(*, item_id: int | str, assessment: Assessment, original: Message, clinician: Clinician,
                 record: ConsentRecord | None, program: ProgramContact, forms: Mapping[str, Path | str],
                 marker: SecureMarker, now: datetime, language: str | None = None) -> EmailMessage:
    """The standard 10 reply draft: To the consented address only (the assessment's `send_rights_forms`
    action, which is the responsible adult's under standard 3), one form attached per right requested.

    Raises DraftError when the assessment has no `send_rights_forms` action: a draft to a client is
    never made for anything else (standards 6 and 8)."""
    action = _action(assessment, "send_rights_forms")
    if action is None or not action.to or not action.rights:
        raise DraftError("the assessment allows no secure-email reply with forms (standards 6 and 10)")
    language = language if language in LANGUAGES else choose_language(record, original)
    files = _form_files(action.rights, forms)
    body = render(f"rights_reply.{language}.txt",
                  recipient_name=_recipient_name(record), about_client=_about_client(record),
                  rights=[RIGHT_LABELS[language][r] for r in action.rights],
                  forms=[(FORM_TITLES[language][r], f.filename) for r, f in zip(action.rights, files, strict=True)],
                  statement=STATEMENT[language], program_name=program.name,
                  program_address=_lines(program.mailing_address), program_phone=program.phone,
                  clinician_name=clinician.name)
    message = EmailMessage()
    message["From"] = formataddr((clinician.name, clinician.email))
    message["To"] = action.to  # the one address on the Consent to Email form (standard 4), nobody else
    marker.apply(message, REPLY_SUBJECT[language])
    _thread(message, original)
    _stamp(message, item_id, RIGHTS_REPLY, now, _domain(clinician.email))
    message.set_content(body)
    _attach(message, files)
    message["Content-Language"] = language  # after set_content/add_attachment, which replace Content-* headers
    return message


# --------------------------------------------------------------------------- letters


def letter_applies(assessment: Assessment) -> bool:
    """A letter is prepared when email may not be used: failing consent, or forms to be sent by mail."""
    return any(a.kind in ("respond_by_phone_or_mail", "mail_rights_forms") for a in assessment.actions)


def letter_text(*, record: ConsentRecord, program: ProgramContact, clinician: Clinician, today: date,
                rights: Sequence[str] = (), received: datetime | date | None = None, language: str | None = None,
                crisis_line: str = "", mailing_address: str = "") -> str:
    """The letter as text (what `letter_pdf` prints). `mailing_address` overrides the record's."""
    language = language if language in LANGUAGES else choose_language(record)
    received_day = received.date() if isinstance(received, datetime) else received
    return render(f"letter.{language}.txt",
                  program_name=program.name, program_address=_lines(program.mailing_address),
                  program_phone=program.phone, date_text=_long_date(today, language),
                  recipient_name=_recipient_name(record),
                  recipient_address=_lines(mailing_address or record.mailing_address),
                  about_client=_about_client(record),
                  received_text=_long_date(received_day, language) if received_day else "",
                  rights=[RIGHT_LABELS[language][r] for r in rights],
                  forms=[FORM_TITLES[language][r] for r in rights],
                  statement=_LETTER_STATEMENT[language], clinician_name=clinician.name, crisis_line=crisis_line)


def letter_pdf(*, record: ConsentRecord, program: ProgramContact, clinician: Clinician, today: date,
               rights: Sequence[str] = (), received: datetime | date | None = None, language: str | None = None,
               crisis_line: str = "", mailing_address: str = "") -> bytes:
    """The printable letter (US Letter, Helvetica core font, latin-1). Same arguments as `letter_text`."""
    text = letter_text(record=record, program=program, clinician=clinician, today=today, rights=rights,
                       received=received, language=language, crisis_line=crisis_line,
                       mailing_address=mailing_address)
    language = language if language in LANGUAGES else choose_language(record)
    return text_pdf(text, title=program.name, language=language,
                    created=datetime(today.year, today.month, today.day, 12, 0, tzinfo=ZoneInfo("UTC")))


def latin1(text: str) -> str:
    """Text the PDF core fonts can print: typographic marks to ASCII, accents kept, anything else "?"."""
    table = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
             "\u2026": "...", "\u2022": "-", "\u00a0": " ", "\u2212": "-", "\u200b": ""}
    text = "".join(table.get(c, c) for c in text)
    text = unicodedata.normalize("NFC", text)
    return text.encode("latin-1", errors="replace").decode("latin-1")


def text_pdf(text: str, *, title: str, language: str = "en", created: datetime | None = None) -> bytes:
    """A plain PDF of `text`: a line "# X" is a bold heading, other lines are wrapped paragraphs.

    `created` fixes the creation date (and so the file id): the same text gives the same bytes."""
    pdf = FPDF(format="letter")
    pdf.set_margins(25, 22, 25)
    pdf.set_auto_page_break(True, margin=22)
    pdf.set_title(latin1(title))  # metadata: the program's name only, never the client's
    pdf.set_lang(language)
    pdf.set_creator("triage")
    pdf.set_producer("triage")
    pdf.set_creation_date(created or datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC")))
    pdf.add_page()
    for line in text.splitlines():
        if line.startswith("# "):
            pdf.set_font("Helvetica", "B", 12)
            pdf.multi_cell(0, 6, latin1(line[2:]), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif line.strip():
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(0, 5.5, latin1(line), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            pdf.ln(4)
    return bytes(pdf.output())


def pdf_text(data: bytes) -> str:
    """The text shown by a PDF this module (or fpdf2's core fonts) wrote: for tests and previews, not a parser."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            content = stream
        for literal in re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", content, re.S):
            chunks.append(re.sub(rb"\\([()\\])", rb"\1", literal).decode("latin-1"))
    return "\n".join(chunks)


# --------------------------------------------------------------------------- the clinician's note


def _failing_texts(assessment: Assessment) -> list[str]:
    """The failing conditions' fixed sentences (standard 1-4 reasons), without the standard 6 summary."""
    reasons = [r for r in assessment.reasons if r.flag == "no_consent"]
    return [r.text for r in reasons if r.standard != "6"] or [r.text for r in reasons]


def note_kinds(assessment: Assessment) -> tuple[str, ...]:
    """The actions a note is written for, in NOTE_KINDS order; empty when no note is needed."""
    present = {a.kind for a in assessment.actions}
    if assessment.automated:
        return ()
    return tuple(k for k in NOTE_KINDS if k in present)


def note_subject(item_id: int | str, kinds: Sequence[str]) -> str:
    """"[triage note] item 42: ..." from fixed labels only: never a name or a word of the message."""
    return f"{NOTE_MARKER} item {item_id}: " + "; ".join(_NOTE_LABELS[k] for k in kinds)


def clinician_note(*, item_id: int | str, assessment: Assessment, clinician: Clinician, record: ConsentRecord | None,
                   program: ProgramContact, now: datetime, original: Message | None = None,
                   forms: Mapping[str, Path | str] | None = None, base_url: str = "", crisis_line: str = "",
                   received: datetime | None = None, time_zone: str = "UTC",
                   kinds: Sequence[str] | None = None) -> EmailMessage:
    """The internal note for the clinician (To and From the clinician; never to a client, never for Drafts).

    It covers `kinds` (default: every kind in `note_kinds(assessment)`): why email may not be used, the
    phone on record, a call script, what to do; the letter PDF when consent fails or the forms go by mail
    and a mailing address is on file, and the forms themselves when rights were requested.
    Raises DraftError when there is nothing to write about."""
    kinds = tuple(k for k in (kinds if kinds is not None else note_kinds(assessment)) if k in NOTE_KINDS)
    if not kinds:
        raise DraftError("the assessment needs no note")
    received = received or (original.date if original else None)
    failing = _action(assessment, "respond_by_phone_or_mail")
    by_mail = _action(assessment, "mail_rights_forms")
    rights = by_mail.rights if by_mail and "mail_rights_forms" in kinds else ()
    files = _form_files(rights, forms or {}) if rights else []
    mailing = next((a.mailing_address for a in (failing, by_mail) if a and a.mailing_address), "")
    mailing = mailing or (record.mailing_address if record else "")
    phone = next((a.phone for a in assessment.actions if a.phone), "") or (record.phone if record else "")
    wants_letter = bool({"respond_by_phone_or_mail", "mail_rights_forms"} & set(kinds))
    letter = None
    if wants_letter and record is not None and mailing:
        language = choose_language(record, original)
        letter = letter_pdf(record=record, program=program, clinician=clinician, today=_local(now, time_zone).date(),
                            rights=rights, received=received, language=language, crisis_line=crisis_line,
                            mailing_address=mailing)
    sender = original.sender.email if original and original.sender else ""
    body = render(
        "note.en.txt", item_id=item_id, kinds=kinds, link=item_link(base_url, item_id),
        received_text=_when(received, time_zone),
        received_day=f"on {_long_date(_local(received, time_zone).date(), 'en')}" if received else "recently",
        client_name=record.client_name if record else "",
        recipient_name=_recipient_name(record), about_client=_about_client(record), sender=sender, phone=phone,
        mailing_address=_lines(mailing),
        failing_texts=_failing_texts(assessment), emergent=assessment.emergent,
        unverified_texts=[r.text for r in assessment.reasons if r.flag == "unverified_sender"],
        clinical_texts=[r.text for r in assessment.reasons if r.standard == "8"],
        rights=rights, rights_requested=[f"{RIGHT_NAMES[r]} (standard {RIGHT_STANDARD[r]})" for r in rights],
        forms=[FORM_TITLES["en"][r] for r in rights], statement=STANDARD_10_STATEMENT,
        letter_attached=letter is not None, letter_name=f"letter-item-{item_id}.pdf",
        form_files=[f.filename for f in files],
        clinician_name=clinician.name, program_name=program.name, program_phone=program.phone,
        crisis_line=crisis_line)
    message = EmailMessage()
    message["From"] = formataddr(("Triage", clinician.email))
    message["To"] = formataddr((clinician.name, clinician.email))
    message["Subject"] = note_subject(item_id, kinds)
    _thread(message, original)
    _stamp(message, item_id, NOTE, now, _domain(clinician.email))
    message.set_content(body)
    if letter is not None:
        message.add_attachment(letter, maintype="application", subtype="pdf", filename=f"letter-item-{item_id}.pdf")
    _attach(message, files)
    return message


# --------------------------------------------------------------------------- emergent alerts


def alert_subject(item_id: int | str, mailbox: str, *, level: int = 0) -> str:
    if level:
        return f"[triage] ESCALATION {level}: emergent item {item_id} not acknowledged (mailbox {mailbox})"
    return f"[triage] EMERGENT item {item_id} (mailbox {mailbox}): respond now"


def alert_text(*, item_id: int | str, mailbox: str, received_at: datetime | None, base_url: str, crisis_line: str,
               standard: str = "6", time_zone: str = "UTC", level: int = 0,
               unacknowledged_for: timedelta | None = None) -> str:
    """The alert body: the item, the mailbox, the time, the standard, a link and what to do. It is given
    nothing else, so it cannot hold the message, the client's name or an address (it may reach a pager).
    `level` > 0 makes it an escalation, saying how long the item has gone unacknowledged."""
    minutes = int(unacknowledged_for.total_seconds() // 60) if unacknowledged_for is not None else None
    return render("alert.en.txt", item_id=item_id, mailbox=mailbox, received_text=_when(received_at, time_zone),
                  standard=standard, link=item_link(base_url, item_id), crisis_line=crisis_line, level=level,
                  minutes=minutes)


def alert_message(*, item_id: int | str, mailbox: str, received_at: datetime | None, base_url: str,
                  crisis_line: str, sender: str, to: Sequence[str], now: datetime, standard: str = "6",
                  time_zone: str = "UTC", level: int = 0, unacknowledged_for: timedelta | None = None) -> EmailMessage:
    """The alert as an email for SMTP: `to` the clinician, the on-call address or the supervisor(s)."""
    if not to:
        raise DraftError("an alert needs at least one recipient")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = alert_subject(item_id, mailbox, level=level)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to an alert
    message["Importance"] = "high"
    message["X-Priority"] = "1"
    _stamp(message, item_id, ALERT if not level else f"escalation-{level}", now, _domain(sender))
    # 7bit when possible: SMS and pager gateways often show quoted-printable as it is.
    text = alert_text(item_id=item_id, mailbox=mailbox, received_at=received_at, base_url=base_url,
                                   crisis_line=crisis_line, standard=standard, time_zone=time_zone, level=level,
                      unacknowledged_for=unacknowledged_for)
    message.set_content(text, cte="7bit" if text.isascii() else "quoted-printable")
    return message


# --------------------------------------------------------------------------- the check before an APPEND

REFUSE_NO_RECIPIENT = "The draft has no recipient."
REFUSE_NOTE_RECIPIENT = "An internal note may only be addressed to the clinician."
REFUSE_KIND = ("Only a reply with the rights-request forms (standard 10) may be drafted to a client; any other "
               "draft could answer a clinical question or go beyond the allowed purposes (standards 7 and 8).")
REFUSE_CLINICAL = "The message asks a clinical question, which is never answered by email (standard 8)."
REFUSE_NO_EMAIL = ("The assessment does not allow a secure-email reply to this sender: respond by telephone or "
                   "mail (standards 6 and 10).")
REFUSE_AUTOMATED = "Automated mail is never answered by a draft."
REFUSE_COPIES = "A draft to a client may have no Cc or Bcc recipients (standard 5)."
REFUSE_SEVERAL = "A draft to a client may have exactly one recipient (standards 4 and 5)."
REFUSE_MULTIPLE_CLIENTS = "The recipients include more than one client (standard 5)."
REFUSE_ASSESSED_MULTIPLE = ("The message involves more than one client: reply to each client separately "
                            "(standard 5).")
REFUSE_NOT_CONSENTED = "A recipient is not the address on the client's Consent to Email form (standard 4)."
REFUSE_NO_RECORD = ("No Consent to Email record of this clinician for this client holds the recipient's address "
                    "(standard 4).")
REFUSE_MARKER = "A draft to a client must carry the department's secure-send marker (standard 1d)."
REFUSE_FORMS = "A rights-request reply must attach one form for each right requested (standard 10)."
REFUSE_FORWARD = "A draft to a client may not carry a copy of another message."


def _addresses(message: EmailMessage, *names: str) -> list[str]:
    values = [str(v) for name in names for v in message.get_all(name, [])]
    return [normalise_email(a) for _, a in getaddresses(values) if a.strip()]


def check_draft(draft: EmailMessage, assessment: Assessment, records: Sequence[ConsentRecord], *,
                clinician: Clinician, marker: SecureMarker | None = None) -> list[str]:
    """Why `draft` must not be APPENDed, as fixed sentences (no PHI); empty when it may.

    A note (X-Triage-Kind: note) addressed only to the clinician passes. Anything else is a draft to a
    client and must be a rights reply (standard 8: a draft is only ever that), made from the assessment's
    `send_rights_forms` action, to that action's address alone, which must be the consented address on a
    record of this clinician for that client (standard 4), with no Cc or Bcc and no second client
    (standard 5), carrying the secure-send marker when one is given (standard 1d)."""
    own = {normalise_email(a) for a in clinician.addresses}
    to = _addresses(draft, "To")
    copies = _addresses(draft, "Cc", "Bcc")
    everyone = list(dict.fromkeys([*to, *copies]))
    kind = str(draft.get(KIND_HEADER, "")).strip()
    if not everyone:
        return [REFUSE_NO_RECIPIENT]
    if kind == NOTE:
        return [] if set(everyone) <= own else [REFUSE_NOTE_RECIPIENT]

    reasons: list[str] = []
    if kind != RIGHTS_REPLY:
        reasons.append(REFUSE_KIND)
        if assessment.clinical_question:
            reasons.append(REFUSE_CLINICAL)
    action = _action(assessment, "send_rights_forms")
    if assessment.automated:
        reasons.append(REFUSE_AUTOMATED)
    if action is None or not action.to:
        reasons.append(REFUSE_NO_EMAIL)

    # Standard 5: one client, one recipient, nobody copied.
    if copies:
        reasons.append(REFUSE_COPIES)
    if len(everyone) > 1:
        reasons.append(REFUSE_SEVERAL)
    mine = [r for r in records if normalise_email(r.clinician_email) in own]
    reached = {r.client_id for r in records for a in everyone
               if a in (normalise_email(r.consented_email), normalise_email(r.client_email))}
    # A shared address (a parent of siblings) reaches several records; the policy settled it to one client.
    if len(everyone) > 1 and len(reached) > 1:
        reasons.append(REFUSE_MULTIPLE_CLIENTS)
    if assessment.multiple_clients or len(set(assessment.client_ids)) > 1:
        reasons.append(REFUSE_ASSESSED_MULTIPLE)

    # Standard 4: the action's address, which is the consented address of this client with this clinician.
    if action is not None and action.to and any(a != normalise_email(action.to) for a in everyone):
        reasons.append(REFUSE_NOT_CONSENTED)
    clients = set(action.client_ids if action and action.client_ids else assessment.client_ids)
    consented = {normalise_email(r.consented_email) for r in mine if r.client_id in clients}
    if any(a not in consented for a in everyone):
        reasons.append(REFUSE_NO_RECORD)

    if marker is not None and not marker.present(draft):
        reasons.append(REFUSE_MARKER)
    if kind == RIGHTS_REPLY and action is not None:
        attached = [p for p in draft.iter_attachments()]
        if len(attached) != len(action.rights):
            reasons.append(REFUSE_FORMS)
        if any(p.get_content_type() == "message/rfc822" for p in draft.walk()):
            reasons.append(REFUSE_FORWARD)
    return list(dict.fromkeys(reasons))
