"""`triage classify`: assess mail files and print one JSON object per message per line.

A contract other tools rely on (README, "triage classify"). It reads `.eml`
files, directories of them (recursively), Maildir folders, mbox files and
standard input (`-`: one message or an mbox). A message that cannot be read
still yields a line, with an `error` field, and the run goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from triage.assess import Context, assess_with
from triage.config import Clinician, Config
from triage.detect import Detector, Text
from triage.parse import parse
from triage.policy import Assessment
from triage.registry import ConsentRecord, normalise_email
from triage.values import Message

CHUNK = 64  # messages detected together (a trained model is faster on a batch)
_HEADER_LINE = re.compile(rb"^(?:From |[\x21-\x39\x3b-\x7e]+:)")


@dataclass(frozen=True)
class Item:
    source: str
    raw: bytes | None
    error: str = ""


# --------------------------------------------------------------------------- reading


def read_items(paths: Sequence[str], stdin: IO[bytes] | None = None) -> Iterator[Item]:
    for path in paths:
        if path == "-":
            if stdin is not None:
                yield from _from_stream("-", stdin)
            continue
        yield from _from_path(Path(path))


def _from_path(path: Path) -> Iterator[Item]:
    try:
        if path.is_dir():
            if all((path / d).is_dir() for d in ("cur", "new")):
                yield from _maildir(path)
            else:
                for child in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                    yield from _from_path(child)
            return
        with path.open("rb") as fh:
            yield from _from_stream(str(path), fh)
    except OSError as exc:
        yield Item(str(path), None, f"cannot read: {exc.strerror or exc}")


def _maildir(path: Path) -> Iterator[Item]:
    for sub in ("cur", "new"):
        for f in sorted((path / sub).iterdir()):
            if f.is_file() and not f.name.startswith("."):
                try:
                    yield Item(str(f), f.read_bytes())
                except OSError as exc:
                    yield Item(str(f), None, f"cannot read: {exc.strerror or exc}")


def _from_stream(name: str, fh: IO[bytes]) -> Iterator[Item]:
    """One message, or each message of an mbox (a file whose first line is a "From " line)."""
    first = fh.readline()
    if not first.startswith(b"From "):
        yield Item(name, first + fh.read())
        return
    index, lines, blank = 0, [], False
    for line in fh:
        if line.startswith(b"From ") and blank:
            index += 1
            yield Item(f"{name}#{index}", _mbox_body(lines))
            lines = []
        else:
            lines.append(line)
        blank = line in (b"\n", b"\r\n")
    index += 1
    yield Item(f"{name}#{index}", _mbox_body(lines))


def _mbox_body(lines: list[bytes]) -> bytes:
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]  # the blank line that separates it from the next "From "
    return b"".join(re.sub(rb"^>(>*From )", rb"\1", line) for line in lines)


# --------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class Setup:
    """What classify judges against: the organisation (optional) and the registry (optional)."""

    config: Config | None
    records: Sequence[ConsentRecord] | None
    detector: Detector
    today: date

    def context(self, message: Message) -> Context:
        clinician = self._clinician(message)
        department = self.config.department if self.config else None
        program = None
        assume = True
        if self.config is not None and self.config.programs:
            program = next((p for p in self.config.programs if p.id == clinician.program), None)
            assume = False
        return Context(clinician, program, department, self.records, assume_program_approved=assume)

    def _clinician(self, message: Message) -> Clinician:
        """The clinician whose mailbox this is: a configured clinician among the recipients, else a
        registry clinician among them, else the first To address."""
        recipients = [normalise_email(a.email) for a in (*message.to, *message.cc) if a.email]
        for header in ("delivered-to", "x-original-to"):
            if message.headers.get(header):
                recipients.insert(0, normalise_email(message.headers[header]))
        if self.config is not None:
            for address in recipients:
                for c in self.config.clinicians:
                    if address in {normalise_email(a) for a in c.addresses}:
                        return c
        zone = self.config.department.time_zone if self.config else "UTC"
        known = {normalise_email(r.clinician_email) for r in self.records or ()}
        chosen = next((a for a in recipients if a in known), recipients[0] if recipients else "")
        return Clinician(email=chosen, name="", program="", aliases=(), time_zone=zone)


def classify(items: Iterable[Item], setup: Setup) -> Iterator[dict[str, Any]]:
    chunk: list[tuple[Item, Message]] = []
    for item in items:
        if item.raw is None:
            yield {"source": item.source, "error": item.error}
            continue
        problem = _unreadable(item.raw)
        if problem:
            yield {"source": item.source, "error": problem}
            continue
        try:
            chunk.append((item, parse(item.raw)))
        except Exception as exc:  # parse never raises on bad mail; this would be a bug, and the run goes on
            yield {"source": item.source, "error": f"{type(exc).__name__}: {exc}"[:300]}
        if len(chunk) >= CHUNK:
            yield from _judge(chunk, setup)
            chunk = []
    yield from _judge(chunk, setup)


def _unreadable(raw: bytes) -> str:
    if not raw.strip():
        return "empty: no message in this file"
    first = raw.lstrip(b"\r\n").split(b"\n", 1)[0]
    if not _HEADER_LINE.match(first):
        return "not an email message: it does not begin with a header line"
    return ""


def _judge(chunk: list[tuple[Item, Message]], setup: Setup) -> Iterator[dict[str, Any]]:
    if not chunk:
        return
    try:
        detections = setup.detector.detect_many([Text.from_message(m) for _, m in chunk])
    except Exception:
        detections = []  # judged one at a time below, so one bad message cannot hide the others
    for n, (item, message) in enumerate(chunk):
        try:
            detection = detections[n] if detections else setup.detector.detect(Text.from_message(message))
            assessment = assess_with(message, setup.context(message), detection, today=setup.today)
        except Exception as exc:
            yield {"source": item.source, "message_id": message.message_id,
                   "error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        yield to_json(item.source, message, assessment)


def to_json(source: str, message: Message, a: Assessment) -> dict[str, Any]:
    """The contract's fields first, then what else a reader may want."""
    return {
        "source": source,
        "message_id": message.message_id,
        "emergent": a.emergent,
        "emergent_score": a.emergent_score,
        "hipaa_rights": list(a.hipaa_rights),
        "purpose": a.purpose,
        "clinical_question": a.clinical_question,
        "multiple_clients": a.multiple_clients,
        "consent": a.contract_consent,
        "flags": list(a.flags),
        "actions": [x.kind for x in a.actions],
        "reasons": [{"standard": r.standard, "text": r.text, "evidence": r.evidence} for r in a.reasons],
        "priority": a.priority,
        "priority_name": a.priority_name,
        "standards": list(a.standards),
        "consent_detail": a.consent,
        "consent_failures": list(a.consent_failures),
        "client_ids": list(a.client_ids),
        "emergent_kind": a.emergent_kind,
        "automated": a.automated,
        "language": message.language,
        "detector": a.detector,
        "defects": list(message.defects),
    }


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
