"""The "Consent to Email" records (standards 1–4), read from and written to CSV. Pure.

A consent is signed by a client (or their responsible adult) with one workforce
member (standard 1e), so a record belongs to a (client_id, clinician_email)
pair. `consented_email` is the address written on the form, the only one a
reply may go to (the responsible adult's under standard 3); `client_email` is
the client's own address when known. Minority comes from date_of_birth, so it
ends at 18 by itself. An import is all or nothing: the first bad row stops it
with its line number and the reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date

from triage.errors import TriageError

COLUMNS = ("client_id", "client_name", "clinician_email", "consented_email", "client_email", "date_of_birth",
           "consent_basis", "responsible_adult_name", "clinician_determined", "client_prefers_email",
           "form_signed_on", "revoked_on", "phone", "mailing_address", "preferred_language")
BASES = ("self", "responsible_adult")
LANGUAGES = ("", "en", "es")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


class RegistryError(TriageError):
    """A registry file is wrong; the message names the file, the line and the reason."""


@dataclass(frozen=True)
class ConsentRecord:
    client_id: str
    client_name: str
    clinician_email: str
    consented_email: str
    client_email: str
    date_of_birth: date | None
    consent_basis: str
    responsible_adult_name: str
    clinician_determined: bool
    client_prefers_email: bool
    form_signed_on: date | None
    revoked_on: date | None
    phone: str
    mailing_address: str
    preferred_language: str
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.client_id, self.clinician_email)

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth is None:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    def is_minor(self, day: date) -> bool:
        """Under 18 on that day. Unknown birth date: not treated as a minor."""
        age = self.age_on(day)
        return age is not None and age < 18

    def is_signed(self, day: date) -> bool:
        return self.form_signed_on is not None and self.form_signed_on <= day

    def is_revoked(self, day: date) -> bool:
        return self.revoked_on is not None and self.revoked_on <= day


def normalise_email(value: str) -> str:
    """Case-insensitive, surrounding space ignored; no alias guessing (plus or dot folding)."""
    return value.strip().lower()


def parse_csv(text: str, *, source: str = "registry.csv") -> list[ConsentRecord]:
    """Every record of a registry file, or RegistryError naming the first bad line."""
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RegistryError(f"{source}, line 1: the header lacks the column(s) {', '.join(missing)}; "
                            f"required: {', '.join(COLUMNS)}")
    reader.fieldnames = header
    records: list[ConsentRecord] = []
    seen: dict[tuple[str, str], int] = {}
    line = 1
    for row in reader:
        start = line + 1
        line = reader.line_num  # the physical line the row ended on (quoted newlines count)
        if None in row:
            raise RegistryError(f"{source}, line {start}: more fields than the header has columns")
        if not any((v or "").strip() for v in row.values()):
            continue
        try:
            record = _record(row)
        except ValueError as exc:
            raise RegistryError(f"{source}, line {start}: {exc}") from None
        if record.key in seen:
            raise RegistryError(f"{source}, line {start}: client {record.client_id} with {record.clinician_email} "
                                f"is already on line {seen[record.key]}; one record per client and clinician")
        seen[record.key] = start
        records.append(record)
    return records


def _record(row: dict[str, str]) -> ConsentRecord:
    get = {k: (v or "").strip() for k, v in row.items()}
    for required in ("client_id", "clinician_email", "consented_email", "consent_basis"):
        if not get[required]:
            raise ValueError(f"{required} is empty")
    for name in ("clinician_email", "consented_email", "client_email"):
        if get[name] and not _EMAIL.match(get[name]):
            raise ValueError(f"{name} {get[name]!r} is not an email address")
    basis = get["consent_basis"].lower()
    if basis not in BASES:
        raise ValueError(f"consent_basis {get['consent_basis']!r} must be one of {', '.join(BASES)}")
    if basis == "responsible_adult" and not get["responsible_adult_name"]:
        raise ValueError("consent_basis is responsible_adult but responsible_adult_name is empty")
    language = get["preferred_language"].lower()
    if language not in LANGUAGES:
        raise ValueError(f"preferred_language {get['preferred_language']!r} must be en, es or empty")
    extra = {k: v for k, v in get.items() if k not in COLUMNS}
    return ConsentRecord(
        client_id=get["client_id"], client_name=get["client_name"],
        clinician_email=normalise_email(get["clinician_email"]),
        consented_email=normalise_email(get["consented_email"]),
        client_email=normalise_email(get["client_email"]),
        date_of_birth=_date(get, "date_of_birth"), consent_basis=basis,
        responsible_adult_name=get["responsible_adult_name"],
        clinician_determined=_bool(get, "clinician_determined"),
        client_prefers_email=_bool(get, "client_prefers_email"),
        form_signed_on=_date(get, "form_signed_on"), revoked_on=_date(get, "revoked_on"),
        phone=get["phone"], mailing_address=get["mailing_address"], preferred_language=language, extra=extra)


def _bool(row: dict[str, str], name: str) -> bool:
    value = row[name].lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} {row[name]!r} must be true/false, yes/no or 1/0")


def _date(row: dict[str, str], name: str) -> date | None:
    if not row[name]:
        return None
    try:
        return date.fromisoformat(row[name])
    except ValueError:
        raise ValueError(f"{name} {row[name]!r} is not a date YYYY-MM-DD") from None


def to_csv(records: Iterable[ConsentRecord]) -> str:
    """The registry as CSV: the standard columns first, then any extra ones; parse_csv reads it back."""
    records = list(records)
    extras = sorted({k for r in records for k in r.extra})
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, *extras])
    names = [f.name for f in fields(ConsentRecord) if f.name != "extra"]
    for r in records:
        values = [getattr(r, n) for n in names]
        writer.writerow([*(_cell(v) for v in values), *(r.extra.get(k, "") for k in extras)])
    return out.getvalue()


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def merge(existing: Sequence[ConsentRecord], incoming: Sequence[ConsentRecord]) -> list[ConsentRecord]:
    """Incoming records replace existing ones with the same (client_id, clinician_email); others stay."""
    by_key = {r.key: r for r in existing}
    by_key.update({r.key: r for r in incoming})
    return list(by_key.values())
