"""The rule-based detector ("rules-1"): explainable patterns for emergent mail, HIPAA rights and purpose.

Pure: no I/O, no logging, nothing mutated at call time; every regex is compiled at import (`lexicon`,
`context`). How a message is read:

1. Only the sender's new text (and a subject that is not "Re:" someone else's words) can make a
   message emergent; quoted history is read only to understand a one-word answer to a clinician's
   safety check-in ("are you safe?" -> "no"), and the evidence is still the sender's own words.
2. The new text is normalized (same length, so offsets map back), idioms are blanked out
   ("dying to see you"), and it is cut into sentences.
3. Each concept of `lexicon.CONCEPTS` is matched sentence by sentence; a match is dropped when a
   ConText modifier says it is negated, history, hypothetical, a joke, OCD insight, or (for a report
   about someone else) not happening now.
4. The surviving matches add up (noisy-or) into `emergent_score`; `emergent` is score >= 0.5 and the
   kind is that of the strongest kind.
5. Rights, purpose and clinical question come from their own pattern tables, sentence by sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import islice

from triage.detect import EMERGENT_KINDS, PURPOSES, RIGHTS, Detection, Evidence, Text
from triage.detect import context as ctx
from triage.detect import lexicon as lx

__all__ = ["MAX_NEW", "MAX_PHRASE", "THRESHOLD", "RuleDetector"]

MAX_NEW = 20_000  # characters of new text examined (a crisis may sit late in a long message)
MAX_SUBJECT = 300
MAX_QUOTED = 3_000  # of quoted history, only its beginning is read, and only as context
MAX_PHRASE = 200  # characters of evidence quoted
THRESHOLD = 0.5
SUBJECT_FACTOR = 0.7  # a subject line is a weaker witness than the body
MAX_TRIES = 12  # matches of one concept tried in one sentence (a hostile run-on sentence stays linear)

# Kinds in order of precedence when two are equally strong: the more specific and urgent first.
_KIND_ORDER = ("minor_in_danger", "abuse_now", "harm_to_others", "overdose_medical", "self_harm", "intent_or_plan",
               "acute_crisis", "warning_signs", "passive_current")
assert set(_KIND_ORDER) == set(EMERGENT_KINDS)

# Endings that are often ordinary: halved when the message gives an everyday reason ("moving to Oregon").
_EVERYDAY_ENDINGS = frozenset({"ws-giving-away", "ws-no-more-appointments", "ws-thanks-final", "ws-goodbye"})
# Cues that strengthen a crisis but never make one on their own.
_SUPPORT = frozenset({"ws-thanks-final", "ws-decided", "ac-help-now", "od-med-context", "od-symptom-weak"})

_REPLY = re.compile(r"^\s*(?:re|aw|sv|rv|fw|fwd|tr|r)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
_FIRST_OR_NEUTRAL = re.compile(r"\b(?:i|i'?m|im|i'?ve|ive|i'?d|i'?ll|me|my|we|yo|this|that|it|it'?s|there)\b")
_THIRD_PERSON = re.compile(
    r"\b(?:he|she|they|he'?s|she'?s|they'?re|hes|shes|someone|somebody|el|ella|"
    r"the (?:main )?(?:character|hero|patient|resident|man|woman|girl|guy))\b")
# A report about someone else that is over, elsewhere, or on a screen.
_OTHER_SAFE = re.compile(
    r"\b(?:(?:is|'s|was|are) (?:doing )?(?:much |a lot )?(?:better|fine|ok|okay|safe|stable|alive)(?: now)?|survived|"
    r"recovered|in (?:a|the) program|back (?:at|in|to) (?:work|school)|doing well|is ok now|esta bien|ya esta|"
    r"(?:took|got) (?:her|him) to the (?:hospital|er)|la llevamos al hospital|se fue con|in jail|she'?s safe|"
    r"he'?s safe)\b")
_WORK_MEDIA = re.compile(
    r"\b(?:patient|resident|at work today|my (?:job|shift|clinical|rotation)|nursing|movie|film|show|book|novel|"
    r"documentary|podcast|episode|news|article|story|song|character|scene|video game|tv|radio|memoir|class|"
    r"noticias|pelicula)\b")
_MUNDANE = re.compile(
    r"\b(?:moving|move|moved) (?:to|in|out|into)|\bnew job\b|\bfound (?:someone|a therapist|a provider)\b|"
    r"\bdischarged\b|"
    r"\bgraduat\w+|\btransfer\w*|\bout of town\b|\bvacation\b|\btravel\w*|\bdoesn'?t allow\b|\bkonmari\b|"
    r"\bdonating\b|\bnew (?:apartment|place|provider|therapist)\b|\bclosing my case\b|\bbreak from therapy\b")
_FIGURE = re.compile(r"\b(?:figure of speech|just a saying|an expression|didn'?t mean it|i meant|was joking|"
                     r"when i'?m embarrassed|watch that language)\b")
# A record or someone else quoted: "the paperwork says i tried to kill myself".
_REPORTED = re.compile(r"\b(?:says|said|wrote|writes|lists|states|stated|reported|documented|"
                       r"noted)(?: that)? ['\"]?i\b|"
                       r"\bit says\b|\b(?:paperwork|record|chart|note|summary|file|form) (?:says|said)\b|"
                       r"\b(?:i )?(?:wrote|write|writing|read|reading) about\b|\bthe question about\b|"
                       r"\basked (?:me )?about\b")
# A crisis-line footer or a motto left in the body: never the sender's state.
_FOOTER = re.compile(r"\b(?:call or text 988|call 988|text home to|741741|crisis (?:text )?line|lifeline|"
                     r"if (?:you are|you're) (?:experiencing|in crisis|having thoughts)|suicide prevention|"
                     r"suicide is a permanent solution|you are not alone|narcan saves lives)\b")
_HISTORY_BACKREF = re.compile(
    r"^\W*(?:that|it|this) was (?:over |about |almost |like |a )?(?:\d+|long|years|ages|a while|decades|\w+ years)")

# A short answer to a clinician's safety check-in in the quoted text.
_ASKED_SAFE = re.compile(r"\b(?:are you safe|do you feel safe|can you (?:stay|keep yourself) safe|feeling safe|"
                         r"estas? segur[oa]|te sientes segur[oa])\b")
_ASKED_THOUGHTS = re.compile(
    r"\b(?:are you (?:still )?(?:having|thinking)|have you had|any) (?:any )?(?:thoughts|urges)? ?(?:of|about|to) "
    r"(?:suicide|killing|hurting|harming|cutting|ending|self.?harm)[^.?!\n]{0,40}\?")
_REASSURED = re.compile(r"\b(?:better|fine|ok|okay|good|great|safe|alright|all right|bien|mejor)\b")
_ANSWER_NO = re.compile(r"^\W*(?:no|nope|not really|not (?:right now|tonight|today)|i'?m not|no i'?m not|not at all)\b")
_ANSWER_YES = re.compile(r"^\W*(?:yes|yeah|yea|yep|si|kind of|sort of|a little|sometimes)\b")
_SHORT_REPLY_WORDS = 25


@dataclass(frozen=True, slots=True)
class _Hit:
    concept: lx.Concept
    kind: str
    weight: float
    phrase: str
    sentence: int  # index of the sentence (-1 for the subject)


class RuleDetector:
    """Explainable first detector: patterns plus ConText-style modifiers. Thread-safe (no state)."""

    name = "rules-1"

    def detect(self, text: Text) -> Detection:
        new = (text.new_text or "")[:MAX_NEW]
        norm = ctx.normalize(new)
        masked = ctx.mask_idioms(norm)
        sentences = ctx.split_sentences(masked)
        plain = [ctx.Sentence(s.start, s.end, norm[s.start:s.end], s.index) for s in sentences]

        hits = self._emergent_hits(new, masked, sentences)
        subject = (text.subject or "")[:MAX_SUBJECT]
        if subject and not _REPLY.match(subject):
            hits += self._subject_hits(subject)
        hits += self._answer_hits(new, norm, text.quoted_text[:MAX_QUOTED] if text.quoted_text else "")
        score, kind, top = _score(hits)
        emergent = score >= THRESHOLD
        evidence: list[Evidence] = []
        crisis_sentences: set[int] = set()
        if emergent:
            for h in top[:3]:
                evidence.append(Evidence("emergent", h.phrase, f"rule:{h.concept.name}", round(h.weight, 2)))
            crisis_sentences = {h.sentence for h in hits if h.weight >= 0.3}

        rights, right_evidence, right_sentences = _rights(new, plain)
        evidence += right_evidence
        cq, cq_evidence, cq_sentences = _clinical_question(new, plain)
        evidence += cq_evidence
        purpose, purpose_evidence = _purpose(new, plain, rights, right_sentences, cq_sentences,
                                             crisis_sentences if emergent else set(),
                                             text.quoted_text or "")
        evidence += purpose_evidence
        return Detection(
            emergent=emergent,
            emergent_score=round(score, 3),
            emergent_kind=kind if emergent else "",
            rights=rights,
            purpose=purpose,
            clinical_question=cq,
            evidence=tuple(evidence),
            detector=self.name,
        )

    def detect_many(self, texts: Sequence[Text]) -> list[Detection]:
        return [self.detect(t) for t in texts]

    # ------------------------------------------------------------------ emergent

    def _emergent_hits(self, original: str, masked: str, sentences: list[ctx.Sentence]) -> list[_Hit]:
        if not sentences:
            return []
        joined = "\n".join(s.norm for s in sentences)
        active = [c for c in lx.CONCEPTS if _present(c.keys, c.gate, joined)
                  and (c.requires is None or c.requires.search(masked))]
        if not active:
            return []  # the common case: nothing in the message is near any crisis phrase
        msg = _MessageContext(masked, sentences)
        hits: list[_Hit] = []
        for s in sentences:
            if _FOOTER.search(s.norm):
                continue  # a crisis-line footer or quote the parser left in the body
            for c in active:
                if c.unless is not None and c.unless.search(s.norm):
                    continue
                stacked = 0.0
                for m in islice(c.pattern.finditer(s.norm), MAX_TRIES):
                    a, b = m.span()
                    if not _survives(c, s, a, b, msg):
                        continue
                    kind = _rekind(c, msg.minor)
                    if c.stack and stacked:  # another symptom in the same sentence: add up, at most three
                        stacked = 1.0 - (1.0 - stacked) * (1.0 - c.weight)
                        hits[-1] = _Hit(c, kind, stacked, hits[-1].phrase, s.index)
                        if stacked > 0.8:
                            break
                        continue
                    weight = c.weight * (0.5 if c.name in _EVERYDAY_ENDINGS and msg.mundane else 1.0)
                    hits.append(_Hit(c, kind, weight, _phrase(original, s, a, b), s.index))
                    if not c.stack:
                        break  # one hit per concept and sentence is enough
                    stacked = c.weight
        return hits

    def _subject_hits(self, subject: str) -> list[_Hit]:
        norm = ctx.mask_idioms(ctx.normalize(subject))
        sentence = ctx.Sentence(0, len(norm), norm, -1)
        out = []
        for h in self._emergent_hits(subject, norm, [sentence]):
            out.append(_Hit(h.concept, h.kind, h.weight * SUBJECT_FACTOR, h.phrase, -1))
        return out

    def _answer_hits(self, original: str, norm: str, quoted: str) -> list[_Hit]:
        """A short "no" to "are you safe?" (or "yes" to "are you having thoughts of...") in the quoted text."""
        if not quoted or len(norm.split()) > _SHORT_REPLY_WORDS:
            return []
        q = ctx.normalize(quoted)
        asked_safe, asked_thoughts = bool(_ASKED_SAFE.search(q)), bool(_ASKED_THOUGHTS.search(q))
        if asked_safe == asked_thoughts:  # neither, or both: the short answer is ambiguous
            return []
        phrase = _trim(original.strip())
        if _REASSURED.search(norm):
            return []
        if asked_safe and _ANSWER_NO.match(norm):
            return [_Hit(_ANSWER_CONCEPT_SAFE, "acute_crisis", 0.75, phrase, 0)]
        if asked_thoughts and _ANSWER_YES.match(norm):
            return [_Hit(_ANSWER_CONCEPT_THOUGHTS, "passive_current", 0.75, phrase, 0)]
        return []


_ANSWER_CONCEPT_SAFE = lx.Concept("answer-not-safe", "acute_crisis", 0.75, re.compile(r"$^"))
_ANSWER_CONCEPT_THOUGHTS = lx.Concept("answer-yes-thoughts", "passive_current", 0.75, re.compile(r"$^"))


class _MessageContext:
    """What the modifiers need to know about the whole message, worked out only when first asked."""

    def __init__(self, masked: str, sentences: list[ctx.Sentence]) -> None:
        self.masked = masked
        self.sentences = sentences
        self._sentence: dict[tuple[str, int], bool] = {}

    @cached_property
    def insight(self) -> bool:
        return ctx.insight(self.masked)

    @cached_property
    def history_only(self) -> bool:
        return (any(ctx.historical(s.norm) for s in self.sentences)
                and not any(ctx.current(s.norm) for s in self.sentences))

    @cached_property
    def figure(self) -> bool:
        return bool(_FIGURE.search(self.masked))

    @cached_property
    def minor(self) -> bool:
        return bool(lx.MINOR.search(self.masked)) and not lx.ADULT_AGE.search(self.masked)

    @cached_property
    def mundane(self) -> bool:
        return bool(_MUNDANE.search(self.masked))

    @cached_property
    def other_safe(self) -> bool:
        return bool(_OTHER_SAFE.search(self.masked))

    @cached_property
    def backref(self) -> set[int]:
        return {s.index - 1 for s in self.sentences if _HISTORY_BACKREF.match(s.norm)}

    def historical(self, s: ctx.Sentence) -> bool:
        key = ("hist", s.index)
        if key not in self._sentence:
            self._sentence[key] = ctx.historical(s.norm) or s.index in self.backref
        return self._sentence[key]

    def joking(self, s: ctx.Sentence) -> bool:
        key = ("joke", s.index)
        if key not in self._sentence:
            nxt = self.sentences[s.index + 1].norm if 0 <= s.index < len(self.sentences) - 1 else ""
            self._sentence[key] = ctx.joking(s.norm) and not ctx.not_joking(nxt)
        return self._sentence[key]

    def media(self, s: ctx.Sentence) -> bool:
        key = ("media", s.index)
        if key not in self._sentence:
            self._sentence[key] = bool(_WORK_MEDIA.search(s.norm))
        return self._sentence[key]


def _survives(c: lx.Concept, s: ctx.Sentence, a: int, b: int, msg: _MessageContext) -> bool:
    """The ConText modifiers: False when the match is negated, hypothetical, a joke, OCD insight, history,
    said of someone else, or (for a report about someone else) elsewhere or over."""
    text = s.norm
    if c.negation != "none" and ctx.negated(text, a, b, inside=c.negation == "inside"):
        return False
    if c.hypo and ctx.hypothetical(text, a):
        return False
    if c.idiom and (msg.joking(s) or (msg.figure and ("'" in text or '"' in text))):
        return False
    if c.insight and msg.insight:
        return False
    if c.needs_now and msg.historical(s):
        return False
    if c.who == "self" and (_other_subject(text, a) or _REPORTED.search(text, 0, a)):
        return False
    if c.who == "other" and (msg.media(s) or msg.history_only):
        return False
    return not (c.who != "self" and msg.other_safe)


def _present(keys: tuple[str, ...] | None, gate: re.Pattern[str] | None, joined: str) -> bool:
    """Whether a pattern can match anywhere in the sentences (joined by newlines): cheap literal checks first."""
    if keys is not None and not any(map(joined.__contains__, keys)):
        return False
    return gate is None or gate.search(joined) is not None


def _other_subject(sentence: str, start: int) -> bool:
    """The concept is said of someone else: a third-person subject is the nearest one before it."""
    lo = max(ctx.clause_start(sentence, start), start - 40)
    span = sentence[lo:start]
    last_third = max((m.end() for m in _THIRD_PERSON.finditer(span)), default=-1)
    if last_third < 0:
        return False
    last_other = max((m.end() for m in _FIRST_OR_NEUTRAL.finditer(span)), default=-1)
    return last_third > last_other


def _rekind(c: lx.Concept, minor: bool) -> str:
    """A report about someone else: a minor makes it minor_in_danger; an adult keeps the act's kind."""
    if c.who != "other":
        return c.kind
    if minor and c.kind in ("minor_in_danger", "overdose_medical", "harm_to_others", "acute_crisis"):
        return "minor_in_danger"
    if c.kind == "minor_in_danger":
        return {"other-selfharm": "self_harm", "other-suicidal": "intent_or_plan"}.get(c.name, "acute_crisis")
    return c.kind


def _score(hits: list[_Hit]) -> tuple[float, str, list[_Hit]]:
    """Noisy-or of the hits; support-only cues can raise a score but never make one alone."""
    if not hits:
        return 0.0, "", []
    names = {h.concept.name for h in hits}
    core = [h for h in hits if h.concept.name not in _SUPPORT]
    if core and names & lx.PLAN_CONCEPTS and names & lx.IDEATION_CONCEPTS:
        # ideation together with a plan or the means: intent
        best = max((h for h in core if h.concept.name in lx.PLAN_CONCEPTS | lx.IDEATION_CONCEPTS),
                   key=lambda h: h.weight)
        core.append(_Hit(best.concept, "intent_or_plan", 0.95, best.phrase, best.sentence))
    if not core:
        support = 1.0
        for h in hits:
            support *= 1.0 - h.weight
        return min(0.45, 1.0 - support), "", []
    miss = 1.0
    for h in hits:
        miss *= 1.0 - h.weight
    score = 1.0 - miss
    by_kind: dict[str, float] = {}
    for h in core:
        by_kind[h.kind] = 1.0 - (1.0 - by_kind.get(h.kind, 0.0)) * (1.0 - h.weight)
    kind = max(by_kind, key=lambda k: (round(by_kind[k], 2), -_KIND_ORDER.index(k)))
    top = sorted(core, key=lambda h: (h.kind != kind, -h.weight))
    return min(score, 0.99), kind, top


# --------------------------------------------------------------------------- evidence text

def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_PHRASE else text[:MAX_PHRASE - 1].rstrip() + "…"


def _phrase(original: str, s: ctx.Sentence, a: int, b: int) -> str:
    """The sentence around a match, in the sender's words, at most MAX_PHRASE characters."""
    sentence = original[s.start:s.end]
    if len(" ".join(sentence.split())) <= MAX_PHRASE:
        return _trim(sentence)
    mid = (a + b) // 2
    lo = max(0, min(mid - MAX_PHRASE // 2, len(sentence) - MAX_PHRASE))
    return _trim(sentence[lo:lo + MAX_PHRASE - 2])


# --------------------------------------------------------------------------- rights

_RECORDISH = re.compile(r"\b(?:record|records|chart|file(?! a\b)|note|notes|summary|intake|says|said|wrote|lists|"
                        r"listed|portal|"
                        r"paperwork|expediente|archivo|papeles|dice|diagnosis|emergency contact|address|name|page|"
                        r"plan|you have me|demographics|history)\b")
_AMEND_ASK = re.compile(r"\b(?:fix|correct|change|update|remove|take (?:it |that )?(?:out|off)|taken (?:out|off)|"
                        r"delete|"
                        r"amend|corrij|correg|cambi|quit|arregl)\w*")
_SOFT_AMEND_OBJECT = re.compile(r"^(?:correct|fix|change|update|remove|delete|take)\w*(?: \S+){0,6}? (?:it|that|this|"
                                r"these|"
                                r"the note)\b$")
_NOT_CONTACT_OBJECT = re.compile(r"\b(?:send|call)(?:ing)? (?:anyone|anybody|someone|the police|police|help|"
                                 r"an ambulance)\b")


def _rights(original: str, sentences: list[ctx.Sentence]) -> tuple[tuple[str, ...], list[Evidence], set[int]]:
    """The rights requested, their evidence, and the sentences that asked for them."""
    found: dict[str, Evidence] = {}
    where: set[int] = set()
    text = " ".join(s.norm for s in sentences)
    if lx.NOT_ASKING.search(text) and not re.search(r"\b(?:i'?d like|i want|please|can i|could i)\b", text):
        return (), [], set()
    recordish = bool(_RECORDISH.search(text))
    amend_ask = bool(_AMEND_ASK.search(text))
    joined = "\n".join(s.norm for s in sentences)
    present = {name for name, (keys, gate) in _RIGHT_GATES.items() if _present(keys, gate, joined)}
    if not present:
        return (), [], set()
    for s in sentences:
        if not any(p.search(s.norm) for right, patterns in lx.RIGHTS_PATTERNS.items() if right not in found
                   for n, p in patterns if n in present):
            continue
        if lx.NOT_REQUEST.search(s.norm) and not _direct_request(s.norm):
            continue
        permission = bool(lx.PERMISSION.search(s.norm))
        asks = bool(lx.REQUEST.search(s.norm))
        restricted = [m.span() for n, p in lx.RIGHTS_PATTERNS["restriction"] if n in present
                      for m in p.finditer(s.norm)]
        for right, patterns in lx.RIGHTS_PATTERNS.items():
            if right in found:
                continue
            for name, pattern in patterns:
                if name not in present:
                    continue
                m = _right_match(right, name, pattern, s.norm, asks, restricted, permission, recordish, amend_ask)
                if m is None:
                    continue
                found[right] = Evidence(right, _phrase(original, s, *m.span()), f"rule:{name}")
                where.add(s.index)
                break
    rights = tuple(r for r in RIGHTS if r in found)
    return rights, [found[r] for r in rights], where


def _right_match(right: str, name: str, pattern: re.Pattern[str], sentence: str, asks: bool,
                 restricted: list[tuple[int, int]], permission: bool, recordish: bool,
                 amend_ask: bool) -> re.Match[str] | None:
    """The first match of one right's pattern that survives that right's checks, or None."""
    for m in pattern.finditer(sentence):
        if right in ("access", "amendment") and not asks:
            return None  # "i read the safety plan" tells; "can i read it?" asks
        if right == "access":
            if _disclosure_only(sentence) or _WHO_ACCESS.search(sentence):
                return None
            inside = any(a <= m.start() < b for a, b in restricted)  # "don't want them to see my records"
            if (inside and not _FOR_ME.search(sentence)) or ctx.negated(sentence, *m.span()):
                continue
        if name == "acct-who" and not _ASKS_WHO.search(sentence):
            continue  # "my sister who has ocd" is no question
        if name == "acct-did-you" and (not _ASKS_WHO.search(sentence) or _SENT_TO_YOU.search(sentence)):
            continue  # "rather than have you send them" is no question; "did they send you my papers" is about receipt
        if right == "amendment" and ctx.negated(sentence, *m.span()):
            continue  # "please don't put anything about my drinking in my record" restricts, it does not amend
        if name == "amend-pronoun" and not recordish:
            continue  # "fix this" about a bill is a complaint
        if right == "amendment":
            if name == "amend-wrong" and not (recordish and amend_ask):
                return None
            if name == "amend-verb" and (lx.ATTRIBUTED.search(sentence, 0, m.start())
                                         or (_SOFT_AMEND_OBJECT.match(m.group()) and not recordish)):
                continue
        if right in ("restriction", "confidential_communication") and (
                permission or _NOT_CONTACT_OBJECT.search(sentence)):
            return None
        after = sentence[m.start():m.end() + 30]
        if right == "restriction" and lx.PLACE.search(after) and not _PARTY_NOT_PLACE.search(m.group()):
            continue  # "don't send anything to my house" is about where to write: confidential communication
        return m
    return None


_RIGHT_GATES = {name: (lx.required_literals(p.pattern), lx.multiline(p.pattern))
                for patterns in lx.RIGHTS_PATTERNS.values() for name, p in patterns}
_ASKS_WHO = re.compile(r"\?|\b(?:know|tell me|find out|see|list of|learn|ask) (?:exactly )?(?:who|if|whether|what)\b|"
                       r"\b(?:wondering|curious|check|saber|decir)\b")
_SENT_TO_YOU = re.compile(r"\b(?:send|sent|fax|faxed|forward(?:ed)?) (?:you|it to you|them to you|"
                          r"them to the clinic)\b")
_WHO_ACCESS = re.compile(r"\bwho (?:has |had |else )*(?:had )?access\b|\bwho (?:looked|has looked|read)\b")
_PARTY_NOT_PLACE = re.compile(r"\b(?:insurance|employer|school|probation|court|agency|program|him|her|them|anyone)\b")


_DIRECT = re.compile(r"\b(?:can|could) (?:i|you|these|this|that|it)\b|\bi'?d like\b|\bi want\b|\bplease\b|"
                     r"\bi need\b|\bquiero\b|\bpor favor\b")


def _direct_request(sentence: str) -> bool:
    """A request in the same sentence as a thanks: "thanks for the records, can these be corrected?"."""
    return bool(_DIRECT.search(sentence)) and not re.search(r"\bwhat (?:is|'s|does)\b", sentence)


_SEND_ELSEWHERE = re.compile(r"\bsend (?:my|his|her|the|a) (?:records?|chart|notes|summary|file|"
                             r"history)\b(?: \S+){0,3}? "
                             r"to (?:my|his|her|the|a|dr)\b(?! (?:email|address))")
_FOR_ME = re.compile(r"\b(?:to me|for me|myself|a copy|copies|i want|i'?d like to (?:read|see)|my own)\b")


def _disclosure_only(sentence: str) -> bool:
    """'send my records to my new doctor' authorises a disclosure: not the right of access."""
    return bool(_SEND_ELSEWHERE.search(sentence)) and not _FOR_ME.search(sentence)


# --------------------------------------------------------------------------- clinical question and purpose

def _clinical_question(original: str, sentences: list[ctx.Sentence]) -> tuple[bool, list[Evidence], set[int]]:
    text = " ".join(s.norm for s in sentences)
    joined = "\n".join(s.norm for s in sentences)
    table = [row for row, (keys, gate) in zip(lx.CQ_PATTERNS, _CQ_GATES, strict=True) if _present(keys, gate, joined)]
    if not table:
        return False, [], set()
    hits: list[tuple[int, str, int, int]] = []
    for s in sentences:
        if not lx.CQ_FRAME.search(s.norm):
            continue  # a statement ("the side effects I told you about") asks nothing
        recall = bool(lx.INSTR_RECALL.search(s.norm))
        for name, pattern in table:
            m = pattern.search(s.norm)
            if not m:
                continue
            if name == "cq-generic" and not lx.CLINICAL.search(text):
                continue  # "is that ok?" about an insurance page is no clinical question
            if recall and name != "cq-diagnosis":
                continue  # a reminder of instructions already given, not a new clinical question
            if ctx.negated(s.norm, *m.span()) and name == "cq-med-change":
                continue
            hits.append((s.index, name, *m.span()))
            break
    if not hits:
        return False, [], set()
    index, name, a, b = hits[0]
    s = sentences[index]
    return True, [Evidence("clinical_question", _phrase(original, s, a, b), f"rule:{name}")], {h[0] for h in hits}


_PURPOSE_GATES = [(lx.required_literals(p.pattern), lx.multiline(p.pattern)) for _, _, _, p in lx.PURPOSE_PATTERNS]
_CQ_GATES = [(lx.required_literals(p.pattern), lx.multiline(p.pattern)) for _, p in lx.CQ_PATTERNS]
_ASKING = re.compile(r"\?|\b(?:can|could|would|will|do|does|is|are) (?:you|u|i|we|they|there|it|someone)\b|\bplease\b|"
                     r"\bpls\b|\bneeds?\b|\bi'?d (?:also )?like\b|\bi want\b|\blet me know\b|\bwondering\b|"
                     r"\bwhere (?:do|can|is|are|did)\b|\bhow (?:do|can|much|long|does)\b|\bwhat (?:is|are|time|was|"
                     r"do)\b|"
                     r"\bnecesito\b|\bme puede\b|\bquisiera\b|\btienen\b|\brequest\w*\b|\basking\b")
# Beside a crisis only an explicit request gives a mail a purpose.
_REQUESTING = re.compile(r"\?|\b(?:can|could|would|will) (?:you|u|i|we)\b|\bplease\b|\bpls\b|\bi need\b|"
                         r"\bi'?d (?:also )?like\b|\bnecesito\b|\bme puede\b")
_PRIORITY = ("scheduling", "clinical_question", "treatment_instructions", "reminder", "information", "other")
# In a mixed message the request that needs an action wins: both training writers label "move Thursday, and is
# this a side effect?" as scheduling, and a records request with a dose question as a clinical question.
_BONUS = {"scheduling": 0.3, "clinical_question": 0.25, "treatment_instructions": 0.15, "reminder": 0.05,
          "information": 0.0, "other": 0.0}
_SHORT_REPLY = 12  # words: a reply this short is read against the clinician's quoted message
_QUOTED_REMINDER = re.compile(r"\b(?:reminder|remind|confirm\w*|is scheduled|has been scheduled|"
                              r"your (?:next )?appointment is|"
                              r"see you|recordatorio|le recuerdo|confirmar)\b")
_QUOTED_SCHEDULING = re.compile(r"\b(?:move|reschedul\w*|opening|would \S+(?: \S+){0,3}? work|works for you|available|"
                                r"instead|phone or video|which works|let me know what works|can see you|"
                                r"need to move)\b")
_AFFIRM = re.compile(rf"^\W*(?:yes|yep|yeah|ok|okay|sure|perfect|great|fine|sounds good|confirmed|got it|si|claro|"
                     rf"{lx._DAY}|\d)")


def _purpose(original: str, sentences: list[ctx.Sentence], rights: tuple[str, ...], right_sentences: set[int],
             cq_sentences: set[int], crisis: set[int], quoted: str = "") -> tuple[str, list[Evidence]]:
    """The main thing the message is for. A crisis mail is "other" unless it also makes a separate, explicit
    request (both training writers do this: "can we move Thursday? also I have the pills ready")."""
    score: dict[str, float] = {}
    where: dict[str, tuple[ctx.Sentence, int, int, str]] = {}

    def vote(purpose: str, weight: float, s: ctx.Sentence, a: int, b: int, name: str) -> None:
        if weight > score.get(purpose, 0.0):
            where[purpose] = (s, a, b, name)
        score[purpose] = max(score.get(purpose, 0.0), weight) + (0.1 if purpose in score else 0.0)

    joined = "\n".join(s.norm for s in sentences)
    table = [row for row, (keys, gate) in zip(lx.PURPOSE_PATTERNS, _PURPOSE_GATES, strict=True)
             if _present(keys, gate, joined)]
    for s in sentences:
        if s.index in crisis:
            continue  # the crisis itself is "other"
        asks: bool | None = None
        for purpose, name, weight, pattern in table:
            m = pattern.search(s.norm)
            if not m:
                continue
            if asks is None:
                asks = bool((_REQUESTING if crisis else _ASKING).search(s.norm))
            if crisis and purpose != "other" and (weight < 1.0 or not asks):
                continue  # beside a crisis, only an explicit request counts
            if purpose == "information" and (not asks or s.index in right_sentences):
                continue  # a rights request names records and addresses: it is not a request for information
            if name == "instr-topic" and "?" not in s.norm:
                continue
            vote(purpose, weight, s, *m.span(), name)
    for i in sorted(cq_sentences - crisis):
        s = sentences[i]
        vote("clinical_question", 1.0, s, 0, len(s.norm), "cq-sentence")
    if {"access", "accounting"} & set(rights):
        vote("information", 0.9, *_first(sentences), "rights-information")  # a request for records: "information"
    elif rights:
        vote("other", 0.9, *_first(sentences), "rights-other")  # restriction, amendment, how to write: "other"
    words = sum(len(s.norm.split()) for s in sentences)
    if quoted and words <= _SHORT_REPLY and max(score.values(), default=0.0) < 1.0 and sentences \
            and _AFFIRM.match(sentences[0].norm):
        q = ctx.normalize(quoted[:MAX_QUOTED])
        if _QUOTED_SCHEDULING.search(q):
            vote("scheduling", 0.9, *_first(sentences), "reply-to-scheduling")
        elif _QUOTED_REMINDER.search(q):
            vote("reminder", 0.9, *_first(sentences), "reply-to-reminder")
    if not score or max(score.values()) < 0.5:
        if not crisis and any(_ASKING.search(s.norm) and "?" in s.norm for s in sentences):
            s = next(s for s in sentences if "?" in s.norm)
            return "information", [Evidence("information", _phrase(original, s, 0, len(s.norm)), "rule:info-question")]
        return "other", []
    best = max(_PRIORITY, key=lambda p: (score.get(p, -1.0) + _BONUS[p], -_PRIORITY.index(p)))
    if best == "other":
        s, a, b, name = where["other"]
        return "other", [Evidence("other", _phrase(original, s, a, b), f"rule:{name}")]
    s, a, b, name = where[best]
    return best, [Evidence(best, _phrase(original, s, a, b), f"rule:{name}")]


def _first(sentences: list[ctx.Sentence]) -> tuple[ctx.Sentence, int, int]:
    s = sentences[0] if sentences else ctx.Sentence(0, 0, "", 0)
    return s, 0, len(s.norm)


assert set(_PRIORITY) == set(PURPOSES)
