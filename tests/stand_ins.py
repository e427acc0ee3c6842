"""A keyword stand-in for the detectors, for tests about what happens after a detection (storage,
actions, the queue, the pages): their outcome must not depend on a trained model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from triage.detect import Detection, Evidence, Text


class Keywords:
    """Emergent on 'pills tonight'; a right for each phrase of `phrases` found; a clinical question on
    'double my dose'; purpose scheduling when the text speaks of an appointment."""

    name = "keywords-test"

    def __init__(self, phrases: Mapping[str, str]) -> None:
        self.phrases = dict(phrases)

    def detect(self, text: Text) -> Detection:
        t = text.new_text.lower()
        evidence = [Evidence(r, p, "rule:test") for p, r in self.phrases.items() if p in t]
        emergent = "pills tonight" in t
        if emergent:
            evidence.append(Evidence("emergent", "pills tonight", "rule:test"))
        clinical = "double my dose" in t
        if clinical:
            evidence.append(Evidence("clinical_question", "double my dose", "rule:test"))
        rights = tuple(r for r in self.phrases.values() if r in [e.label for e in evidence])
        return Detection(emergent, 0.95 if emergent else 0.02, "intent_or_plan" if emergent else "", rights,
                         "scheduling" if "appointment" in t else "other", clinical, tuple(evidence), self.name)

    def detect_many(self, texts: Sequence[Text]) -> list[Detection]:
        return [self.detect(t) for t in texts]
