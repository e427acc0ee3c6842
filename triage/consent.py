"""Standards 1–5 for one message, against the "Consent to Email" records. Pure.

`check()` answers, for a message in a clinician's mailbox: is the sender a client
this clinician may email (standard 1, with 2 and 3 for minors), where may a reply
go (standard 4), and does the mail involve more than one client (standard 5)?

Statuses, in the order they are decided:

- ``not_applicable``: the sender is one of the clinician's own addresses, is in the
  department's own or a partner's domains (a subdomain counts: ``mail.dmh.example.org``
  is in ``dmh.example.org``), or the mail is automated (`automated_reasons`). These
  come first, even before a registry is looked at: such mail is never a client's.
- ``unknown``: no registry was given (``records is None``).
- ``ok`` / ``failing``: the sender is in a record of this clinician (the record's
  clinician_email is the clinician's email or one of the aliases).
- ``failing`` with code ``1e``: the sender is only in records of other clinicians
  (the form was signed with a different workforce member).
- ``unverified``: the sender is in no record (or the message has no From address):
  verify who it is before any reply.

Matching is by exact address after stripping and lower-casing, against
`consented_email` first and then `client_email`; no plus-address or dot folding.
Only the From address is matched: a Reply-To header is ignored, and `reply_to`
below is the only address a reply may go to.

Failure texts are fixed sentences per code and never hold client data (no
address, date, id or name), so they can be shown or counted anywhere. The
specifics are in `evidence`, which is stored encrypted and never logged.

Decisions made beyond the brief:

- Conditions checked on the matching record: 1a (program.email_approved, or
  `assume_program_approved`; no program and no assumption fails 1a), 1b
  (clinician_determined), 1c (client_prefers_email), 1e (form_signed_on present
  and not after today), revoked (revoked_on on or before today; a revocation dated
  in the future is not yet in force), and for a responsible_adult record, that the
  client is still a minor (code "3": an adult must sign their own consent; an
  unknown birth date also fails "3", as minority cannot be confirmed). 1d (the
  secure method) is how the clinician sends, not something an incoming message shows.
- Mail from a record's `client_email` when the consent runs through another address
  fails "4" (plus "3" when the client is a minor under a responsible adult's
  consent), and the record's conditions are checked too.
- `reply_to` is the record's consented_email when an email reply is allowed at all:
  when every failure is only about where the mail came from ("4", and the "3" of a
  minor writing from their own address). When the consent itself fails (1a, 1b, 1c,
  1e, revoked, or the client is now an adult) `reply_to` is None: standard 6, answer
  by telephone or mail.
- Several records of this clinician with the sender's consented address (siblings
  under one parent): all of them are checked and their failures listed (evidence
  prefixed with the client id); `record` is the first by client_id, `client_ids` all
  of them, and `multiple_clients` is set because which client the mail is about is
  ambiguous. When the candidates' consented addresses differ (several client_email
  matches), `reply_to` is None.
- `multiple_clients` does not change `status`; it is its own flag. With a registry
  it counts the distinct client_ids (in the records of every clinician: client_id
  names one client department-wide) whose consented or client address is among
  From/To/Cc, the clinician's own addresses left out. Without a registry it is
  `without_registry()`. Automated mail is never flagged for it.
- A minor under their own consent gets standard "2" and no extra condition; a record
  with no birth date is not treated as a minor (only allowed for basis "self": the
  registry requires a birth date for responsible_adult).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from triage.automated import automated_reasons
from triage.config import Clinician, DepartmentConfig, Program
from triage.registry import ConsentRecord, normalise_email
from triage.values import Message

STATUSES = ("ok", "failing", "unknown", "not_applicable", "unverified")

_TEXT = {
    "1a": "The program manager has not approved email with clients for this program (standard 1a)",
    "1b": "The clinician has not determined that email is the most appropriate way to communicate with this "
          "client (standard 1b)",
    "1c": "The client has not identified email as their preferred method (standard 1c)",
    "1e-unsigned": "The Consent to Email form has not been signed (standard 1e)",
    "1e-future": "The Consent to Email form's signing date is after today, so it is not yet in force (standard 1e)",
    "1e-other": "The Consent to Email form was signed with a different workforce member, not with this clinician "
                "(standard 1e)",
    "revoked": "The client has revoked their consent to email (standard 1)",
    "3-adult": "The client is now an adult: the consent given by a responsible adult no longer applies and the "
               "client must sign their own Consent to Email form (standard 3)",
    "3-no-dob": "The consent was given by a responsible adult but the client's date of birth is not recorded, "
                "so it cannot be confirmed that the client is a minor (standard 3)",
    "3-minor": "The client is a minor whose consent was given by a responsible adult: email may go only to the "
               "responsible adult (standard 3)",
    "4": "The message came from an address other than the one on the Consent to Email form: reply only to the "
         "form's address (standard 4)",
}
# Failures about where the mail came from; with only these, a reply to the consented address is allowed.
_SENDER_ONLY = frozenset({"4", "3-minor"})


@dataclass(frozen=True)
class Failure:
    code: str  # "1a", "1b", "1c", "1e", "revoked", "3", "4"
    standard: str  # "1", "3", "4"
    text: str  # a fixed sentence per kind of failure: no client data
    evidence: str  # the field and value, e.g. "client_prefers_email=false" (PHI: stored encrypted, never logged)


@dataclass(frozen=True)
class ConsentCheck:
    status: str  # one of STATUSES
    record: ConsentRecord | None = None
    client_ids: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()
    reply_to: str | None = None
    basis: str = ""  # "self" | "responsible_adult" | ""
    minor: bool = False
    standard: str = ""  # "2": minor under own consent; "3": minor under a responsible adult's; else ""
    multiple_clients: bool = False
    multiple_clients_evidence: str = ""  # PHI: stored encrypted, never logged
    # Standard 5 from From/To/Cc alone, apart from an ambiguous shared address (several candidates):
    # the policy may settle which client a shared address's mail is about from the names it holds.
    participants_multiple: bool = False
    participants_evidence: str = ""
    sender: str = ""  # the From address as matched (normalised)
    note: str = ""  # why not_applicable / unverified / unknown; no client data

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.failures)


# --------------------------------------------------------------------------- check


def check(message: Message, clinician: Clinician, program: Program | None, department: DepartmentConfig | None,
          records: Sequence[ConsentRecord] | None, today: date, *,
          assume_program_approved: bool = False) -> ConsentCheck:
    """Standards 1–5 for `message` in `clinician`'s mailbox (see the module docstring)."""
    own = frozenset(normalise_email(a) for a in clinician.addresses)
    sender = normalise_email(message.sender.email) if message.sender else ""
    automated = automated_reasons(message)

    na = _not_applicable(sender, own, department, automated)
    if na:
        multiple, evidence = (False, "") if automated else _multiple(message, own, department, records)
        return ConsentCheck("not_applicable", sender=sender, note=na,
                            multiple_clients=multiple, multiple_clients_evidence=evidence,
                            participants_multiple=multiple, participants_evidence=evidence)
    multiple, evidence = _multiple(message, own, department, records)
    if records is None:
        return ConsentCheck("unknown", sender=sender, note="no consent registry is available",
                            multiple_clients=multiple, multiple_clients_evidence=evidence,
                            participants_multiple=multiple, participants_evidence=evidence)
    if not sender:
        return ConsentCheck("unverified", sender="", note="the message has no usable From address",
                            multiple_clients=multiple, multiple_clients_evidence=evidence,
                            participants_multiple=multiple, participants_evidence=evidence)

    mine = [r for r in records if normalise_email(r.clinician_email) in own]
    by_form = sorted((r for r in mine if normalise_email(r.consented_email) == sender), key=_by_id)
    by_own = sorted((r for r in mine if r.client_email and normalise_email(r.client_email) == sender
                     and normalise_email(r.consented_email) != sender), key=_by_id)
    if not by_form and not by_own:
        others = sorted((r for r in records if sender in _addresses(r)), key=_by_id)
        if others:
            ids = _ids(others)
            with_whom = ", ".join(sorted({normalise_email(r.clinician_email) for r in others}))
            failure = Failure("1e", "1", _TEXT["1e-other"],
                              f"sender={sender} is on the form of client {', '.join(ids)} signed with {with_whom}, "
                              f"not with {normalise_email(clinician.email)}")
            return ConsentCheck("failing", client_ids=ids, failures=(failure,), sender=sender,
                                multiple_clients=multiple, multiple_clients_evidence=evidence,
                            participants_multiple=multiple, participants_evidence=evidence)
        return ConsentCheck("unverified", sender=sender,
                            note="the sender is in no Consent to Email record: verify who it is before any reply",
                            multiple_clients=multiple, multiple_clients_evidence=evidence,
                            participants_multiple=multiple, participants_evidence=evidence)

    candidates = by_form or by_own
    several = len(_ids(candidates)) > 1
    failures: list[tuple[str, Failure]] = []
    for r in candidates:
        kinds = _conditions(r, program, today, assume_program_approved)
        if not by_form:  # mail from the client's own address; the consent runs through another
            kinds.append(("4", f"sender={sender} but form address={normalise_email(r.consented_email)}"))
            if r.consent_basis == "responsible_adult" and r.is_minor(today):
                kinds.append(("3-minor", f"consent_basis=responsible_adult, date_of_birth={r.date_of_birth}, "
                                         f"responsible_adult_name={r.responsible_adult_name}"))
        prefix = f"client {r.client_id}: " if several else ""
        failures.extend((kind, _failure(kind, ev if kind == "1a" else prefix + ev)) for kind, ev in kinds)
    record = candidates[0]
    reply_addresses = {normalise_email(r.consented_email) for r in candidates}
    reply_allowed = all(kind in _SENDER_ONLY for kind, _ in failures) and len(reply_addresses) == 1
    bases = {r.consent_basis for r in candidates}
    minor = any(r.is_minor(today) for r in candidates)
    # Standard 5 counting the sender's shared address as one client: what remains when the text
    # settles which of the candidates the mail is about.
    participants = _multiple(message, own, department, records, collapse=sender) if several else (multiple, evidence)
    if several:
        shared = (f"address {sender} is on the forms of clients {', '.join(_ids(candidates))}: "
                  "which client the mail is about is ambiguous")
        multiple, evidence = True, "; ".join(e for e in (shared, evidence) if e)
    return ConsentCheck(
        status="failing" if failures else "ok",
        record=record,
        client_ids=_ids(candidates),
        failures=_dedupe(f for _, f in failures),
        reply_to=reply_addresses.pop() if reply_allowed else None,
        basis=bases.pop() if len(bases) == 1 else "",
        minor=minor,
        standard=_standard(candidates, today),
        multiple_clients=multiple,
        multiple_clients_evidence=evidence,
        participants_multiple=participants[0],
        participants_evidence=participants[1],
        sender=sender,
    )


def record_failures(record: ConsentRecord, program: Program | None, today: date, *,
                    assume_program_approved: bool = False) -> tuple[Failure, ...]:
    """What keeps this record's consent from being valid today (standard 1, and 3 for an adult's consent);
    empty when an email reply to its consented address is allowed. For `triage consent list` and the like."""
    return tuple(_failure(kind, ev) for kind, ev in _conditions(record, program, today, assume_program_approved))


def _conditions(r: ConsentRecord, program: Program | None, today: date,
                assume_program_approved: bool) -> list[tuple[str, str]]:
    """(kind, evidence) for each condition of standard 1 (and 3) this record fails today."""
    out = []
    if not assume_program_approved:
        if program is None:
            out.append(("1a", "program unknown: no organisation configuration"))
        elif not program.email_approved:
            out.append(("1a", f"program={program.id} email_approved=false"))
    if not r.clinician_determined:
        out.append(("1b", "clinician_determined=false"))
    if not r.client_prefers_email:
        out.append(("1c", "client_prefers_email=false"))
    if r.form_signed_on is None:
        out.append(("1e-unsigned", "form_signed_on is empty"))
    elif r.form_signed_on > today:
        out.append(("1e-future", f"form_signed_on={r.form_signed_on} is after today {today}"))
    if r.is_revoked(today):
        out.append(("revoked", f"revoked_on={r.revoked_on}"))
    if r.consent_basis == "responsible_adult":
        if r.date_of_birth is None:
            out.append(("3-no-dob", "consent_basis=responsible_adult, date_of_birth is empty"))
        elif not r.is_minor(today):
            out.append(("3-adult", f"consent_basis=responsible_adult, date_of_birth={r.date_of_birth}: "
                                   f"18 or older on {today}"))
    return out


def _failure(kind: str, evidence: str) -> Failure:
    code = kind.split("-")[0]
    standard = {"3": "3", "4": "4"}.get(code, "1")
    return Failure(code, standard, _TEXT[kind], evidence)


def _standard(candidates: Sequence[ConsentRecord], today: date) -> str:
    kinds = {("3" if r.consent_basis == "responsible_adult" else "2") for r in candidates if r.is_minor(today)}
    return kinds.pop() if len(kinds) == 1 and all(r.is_minor(today) for r in candidates) else ""


def _not_applicable(sender: str, own: frozenset[str], department: DepartmentConfig | None,
                    automated: list[str]) -> str:
    if sender and sender in own:
        return "sent from the clinician's own address"
    if department is not None and sender:
        if _in_domains(sender, department.domains):
            return "sent from the department's own domain"
        if _in_domains(sender, department.partner_domains):
            return "sent from a partner organisation's domain"
    if automated:
        return "automated mail: " + "; ".join(automated)
    return ""


# --------------------------------------------------------------------------- standard 5


def _multiple(message: Message, own: frozenset[str], department: DepartmentConfig | None,
              records: Sequence[ConsentRecord] | None, collapse: str = "") -> tuple[bool, str]:
    if records is None:
        if without_registry(message, own, department):
            return True, "To/Cc hold more than one address outside the department"
        return False, ""
    index: dict[str, set[str]] = {}
    for r in records:
        for address in _addresses(r):
            index.setdefault(address, set()).add(r.client_id)
    seen: dict[str, list[str]] = {}  # client_id -> "field=<address>" where it appeared
    for field_name, address in _participants(message):
        if address in own:
            continue
        ids = ["(the sender)"] if collapse and address == collapse else sorted(index.get(address, ()))
        for client_id in ids:
            where = f"{field_name}={address}"
            if where not in seen.setdefault(client_id, []):
                seen[client_id].append(where)
    if len(seen) <= 1:
        return False, ""
    return True, "clients " + "; ".join(f"{cid} ({', '.join(w)})" for cid, w in sorted(seen.items()))


def participant_clients(message: Message, clinician_addresses: Iterable[str],
                        records: Sequence[ConsentRecord] | None) -> tuple[str, ...]:
    """The registry's clients whose consented or own address is in From/To/Cc (the clinician's
    own addresses left out): the clients a message is from or about."""
    if not records:
        return ()
    own = {normalise_email(a) for a in clinician_addresses}
    present = {a for _, a in _participants(message)} - own
    return _ids(r for r in records if _addresses(r) & present)


def without_registry(message: Message, clinician_addresses: Iterable[str],
                     department: DepartmentConfig | None) -> bool:
    """Standard 5 with no registry: more than one address in To/Cc that is neither the clinician's
    nor in the department's own domains."""
    own = {normalise_email(a) for a in clinician_addresses}
    domains = department.domains if department is not None else ()
    outside = {a for f, a in _participants(message)
               if f in ("to", "cc") and a not in own and not _in_domains(a, domains)}
    return len(outside) > 1


def _participants(message: Message) -> list[tuple[str, str]]:
    out = []
    if message.sender and normalise_email(message.sender.email):
        out.append(("from", normalise_email(message.sender.email)))
    for field_name, addresses in (("to", message.to), ("cc", message.cc)):
        out.extend((field_name, normalise_email(a.email)) for a in addresses if normalise_email(a.email))
    return out


# --------------------------------------------------------------------------- helpers


def _addresses(r: ConsentRecord) -> set[str]:
    return {normalise_email(a) for a in (r.consented_email, r.client_email) if a and normalise_email(a)}


def _in_domains(address: str, domains: Iterable[str]) -> bool:
    domain = address.rpartition("@")[2]
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains if d)


def _by_id(r: ConsentRecord) -> tuple[str, str]:
    return (r.client_id, r.clinician_email)


def _ids(records: Iterable[ConsentRecord]) -> tuple[str, ...]:
    return tuple(sorted({r.client_id for r in records}))


def _dedupe(failures: Iterable[Failure]) -> tuple[Failure, ...]:
    out: list[Failure] = []
    for f in failures:
        if f not in out:
            out.append(f)
    return tuple(out)
