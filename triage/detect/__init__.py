"""Detectors: is a message emergent, which HIPAA rights does it request, what is it for? Pure.

Every detector takes a `Text` (the parts of a message the detectors may read,
kept apart so that quoted history and a signature never count as the
sender's own words) and returns a `Detection`. The policy (`triage.policy`)
turns a Detection and a consent check into an Assessment; it never looks at
how a detector reached its answer, only at the answer and its `evidence`.

`Evidence.phrase` is the sender's own words: protected health information.
It is stored encrypted and shown to clinicians, never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from triage.values import Message

RIGHTS = ("access", "amendment", "accounting", "restriction", "confidential_communication")
PURPOSES = ("scheduling", "reminder", "treatment_instructions", "clinical_question", "information", "other")
EMERGENT_KINDS = ("intent_or_plan", "passive_current", "warning_signs", "self_harm", "harm_to_others",
                  "overdose_medical", "acute_crisis", "minor_in_danger", "abuse_now")


@dataclass(frozen=True, slots=True)
class Text:
    """What a detector reads of one message."""

    subject: str
    new_text: str  # the sender's own new words: the only part that can make a message emergent
    quoted_text: str = ""  # quoted history and forwarded text: context only
    signature: str = ""  # signature and footers: never evidence
    language: str = ""  # "en", "es" or "" (unknown)

    @classmethod
    def from_message(cls, message: Message) -> Text:
        return cls(message.subject, message.new_text, message.quoted_text, message.signature, message.language)

    @classmethod
    def from_body(cls, subject: str, body: str, language: str = "") -> Text:
        """From a whole plain-text body (the labelled data): split it as `parse` does."""
        from triage.parse import detect_language, split_body

        new, quoted, signature = split_body(body)
        return cls(subject, new, quoted, signature, language or detect_language(new or body))


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a detector said what it said: one phrase and the rule or feature behind it."""

    label: str  # "emergent", a right in RIGHTS, a purpose in PURPOSES, or "clinical_question"
    phrase: str  # the sentence or phrase of the new text that drove it (PHI: never logged)
    source: str  # the rule or model feature, e.g. "rule:plan-means" or "model:emergent" (no PHI)
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Detection:
    emergent: bool
    emergent_score: float  # calibrated probability when a model gave it; 0/1-ish from rules alone
    emergent_kind: str = ""  # one of EMERGENT_KINDS when emergent, else ""
    rights: tuple[str, ...] = ()  # in RIGHTS order, no repeats
    purpose: str = "other"  # one of PURPOSES
    clinical_question: bool = False  # any part asks for diagnosis, treatment advice or a medication change
    evidence: tuple[Evidence, ...] = ()
    detector: str = ""  # name and version of what decided, e.g. "rules-1" (recorded with the assessment)

    def evidence_for(self, label: str) -> tuple[Evidence, ...]:
        return tuple(e for e in self.evidence if e.label == label)


class Detector(Protocol):
    name: str

    def detect(self, text: Text) -> Detection: ...

    def detect_many(self, texts: Sequence[Text]) -> list[Detection]: ...


def default_detector() -> Detector:
    """The best detector this installation has: the trained one when its models ($TRIAGE_MODELS, else
    models/) are present and valid, else the rule-based one (a refused model is logged with the reason)."""
    from triage.detect.model import trained_or_rules

    return trained_or_rules()
