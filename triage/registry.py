"""The "Consent to Email" records (standards 1–4), read from and written to CSV. Pure.

A consent is signed by a client (or their responsible adult) with one workforce
member (standard 1e), so a record belongs to a (client_id, clinician_email)
pair. `consented_email` is the address written on the form, the only one a
reply may go to (the responsible adult's under standard 3); `client_email` is
the client's own address when known. Minority comes from date_of_birth, so it
ends at 18 by itself. An import is all or nothing: the first bad row stops it
with its line number and the reason.

Decisions beyond the column list:
- Standard column names match without regard to case or surrounding space; other
  columns are kept in `extra` under their own (stripped) names. A header column
  with no name, or named twice, is an error (line 1).
- Blank lines (or rows of empty cells) are skipped; a row with more or fewer
  fields than the header is an error, and so is broken quoting (the csv module's
  strict mode), reported at the line the row starts on.
- client_id, clinician_email, consented_email, consent_basis and both booleans
  are required; dates are exactly YYYY-MM-DD. responsible_adult also needs a
  date_of_birth (standard 3 is about minors: without the birth date nobody can
  tell when the adult's consent stops applying). date_of_birth after
  form_signed_on, or revoked_on before form_signed_on (a client who signs again
  gets revoked_on cleared), is an error.
- Emails are only stripped and lower-cased; no plus-address or dot folding.
- client_id is compared as written (case matters) and is taken to name the same
  client across clinicians.
- `extra` is left out of equality and hashing: two records are equal when their
  standard fields are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from triage.errors import TriageError

COLUMNS = ("client_id", "client_name", "clinician_email", "consented_email", "client_email", "date_of_birth",
           "consent_basis", "responsible_adult_name", "clinician_determined", "client_prefers_email",
           "form_signed_on", "revoked_on", "phone", "mailing_address", "preferred_language")
BASES = ("self", "responsible_adult")
LANGUAGES = ("", "en", "es")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
    """Every record of a registry file, or RegistryError naming the first bad line (nothing is returned then).

    Line numbers are physical lines of the file (the header is line 1): a row whose quoted
    field spans several lines is reported at the line it starts on, and blank lines count.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        raw_header = next(reader, [])
    except csv.Error as exc:
        raise RegistryError(f"{source}, line 1: the header is not valid CSV ({exc})") from None
    header = _header(raw_header, source)
    records: list[ConsentRecord] = []
    seen: dict[tuple[str, str], int] = {}
    while True:
        start = reader.line_num + 1  # the row about to be read starts on the next physical line
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise RegistryError(f"{source}, line {start}: a quoted field is never closed") from None
            if reader.line_num > start:
                raise RegistryError(f"{source}, line {start}: a quoted field opened on this line runs to line "
                                    f"{reader.line_num}, where the CSV is not valid ({exc})") from None
            raise RegistryError(f"{source}, line {start}: not valid CSV ({exc})") from None
        if not any(c.strip() for c in cells):
            continue  # a blank line, or a row of empty cells
        if len(cells) != len(header):
            raise RegistryError(f"{source}, line {start}: {len(cells)} fields but the header has "
                                f"{len(header)} columns")
        try:
            record = _record(dict(zip(header, cells, strict=True)))
        except ValueError as exc:
            raise RegistryError(f"{source}, line {start}: {exc}") from None
        if record.key in seen:
            raise RegistryError(f"{source}, line {start}: client {record.client_id} with {record.clinician_email} "
                                f"is already on line {seen[record.key]}; one record per client and clinician")
        seen[record.key] = start
        records.append(record)
    return records


def _header(cells: list[str], source: str) -> list[str]:
    """Column names: the standard ones matched without regard to case or surrounding space."""
    header = []
    for i, cell in enumerate(cells, start=1):
        name = cell.strip()
        if name.lower() in COLUMNS:
            name = name.lower()
        if not name:
            raise RegistryError(f"{source}, line 1: column {i} of the header has no name")
        if name in header:
            raise RegistryError(f"{source}, line 1: the header names the column {name} twice")
        header.append(name)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RegistryError(f"{source}, line 1: the header lacks the column(s) {', '.join(missing)}; "
                            f"required: {', '.join(COLUMNS)}")
    return header


def _record(row: dict[str, str]) -> ConsentRecord:
    get = {k: v.strip() for k, v in row.items()}
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
    if basis == "responsible_adult" and not get["date_of_birth"]:
        raise ValueError("consent_basis is responsible_adult but date_of_birth is empty "
                         "(standard 3 applies to minors, so the birth date is needed)")
    language = get["preferred_language"].lower()
    if language not in LANGUAGES:
        raise ValueError(f"preferred_language {get['preferred_language']!r} must be en, es or empty")
    born, signed, revoked = _date(get, "date_of_birth"), _date(get, "form_signed_on"), _date(get, "revoked_on")
    if born and signed and born > signed:
        raise ValueError(f"date_of_birth {born} is after form_signed_on {signed}")
    if signed and revoked and revoked < signed:
        raise ValueError(f"revoked_on {revoked} is before form_signed_on {signed}; "
                         "if the client signed again after revoking, clear revoked_on")
    extra = {k: v for k, v in get.items() if k not in COLUMNS}
    return ConsentRecord(
        client_id=get["client_id"], client_name=get["client_name"],
        clinician_email=normalise_email(get["clinician_email"]),
        consented_email=normalise_email(get["consented_email"]),
        client_email=normalise_email(get["client_email"]),
        date_of_birth=born, consent_basis=basis,
        responsible_adult_name=get["responsible_adult_name"],
        clinician_determined=_bool(get, "clinician_determined"),
        client_prefers_email=_bool(get, "client_prefers_email"),
        form_signed_on=signed, revoked_on=revoked,
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
    if not _ISO_DATE.match(row[name]):  # fromisoformat alone would also take 20260102 or 2026-W01-5
        raise ValueError(f"{name} {row[name]!r} is not a date YYYY-MM-DD")
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
    for r in records:
        writer.writerow([*(_cell(getattr(r, c)) for c in COLUMNS), *(r.extra.get(k, "") for k in extras)])
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
