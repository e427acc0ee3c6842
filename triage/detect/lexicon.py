"""Patterns of the rule detector, English and Spanish. Pure data: every regex is compiled here, once.

Patterns run on normalized text (`context.normalize`: lower case, accents folded, straight quotes), so
they are written without accents and with optional apostrophes (clients write "dont", "im", "wont").
Every gap between words is bounded (``{0,n}``), so no pattern can backtrack catastrophically.

A *concept* is one phrase family that can make a message emergent. It carries a kind, a weight (how
strongly it alone points to a crisis now) and which modifiers apply to it (see `Concept`). Several
weak concepts add up (noisy-or) in `rules.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CONCEPTS", "CQ_PATTERNS", "PURPOSE_PATTERNS", "RIGHTS_PATTERNS", "Concept"]


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# --------------------------------------------------------------------------- shared fragments

_GAP = r"(?:\s+\S+){0,%d}?\s+"  # up to n words in between (\s and \S are disjoint: no blow-up)


def gap(n: int) -> str:
    return _GAP % n


MED_NAMES = (
    r"sertraline|zoloft|fluoxetine|prozac|citalopram|celexa|escitalopram|lexapro|paroxetine|paxil|venlafaxine|"
    r"effexor|duloxetine|cymbalta|bupropion|wellbutrin|mirtazapine|remeron|trazodone|amitriptyline|nortriptyline|"
    r"quetiapine|seroquel|olanzapine|zyprexa|risperidone|risperdal|aripiprazole|abilify|haloperidol|haldol|"
    r"lurasidone|latuda|clozapine|clozaril|ziprasidone|geodon|vraylar|invega|lithium|lamotrigine|lamictal|"
    r"depakote|divalproex|valproate|carbamazepine|tegretol|gabapentin|neurontin|clonazepam|klonopin|lorazepam|"
    r"ativan|alprazolam|xanax|diazepam|valium|hydroxyzine|vistaril|propranolol|prazosin|zolpidem|ambien|"
    r"benadryl|diphenhydramine|tylenol|acetaminophen|paracetamol|ibuprofen|advil|motrin|aspirin|aleve|"
    r"oxycodone|oxy|percocet|vicodin|hydrocodone|tramadol|fentanyl|methadone|suboxone|heroin|insulin|adderall|"
    r"vyvanse|ritalin|concerta|methylphenidate|guanfacine|clonidine|buspirone|buspar|topiramate|naltrexone|"
    r"melatonin|nyquil|opioids?|painkillers?|sleeping pills|sleep(?:ing)? meds|pain pills|"
    r"litio|sertralina|fluoxetina|quetiapina|trazodona|clonazepam|pastillas(?: para dormir)?|medicinas?"
)
MEDS = rf"(?:pills?|meds|medications?|medicines?|tablets?|capsules?|gummies|{MED_NAMES})"
MEANS = (r"(?:rope|noose|gun|pistol|rifle|shotgun|firearm|charcoal|antifreeze|razor(?: blades?)?|blades?|"
         r"pills|bottles? of (?:pills|\w+)|cord|belt|knife|cuerda|pistola|arma|navaja|pastillas)")
FP = r"(?:i|i'?m|im|i'?ve|ive|i'?d|i'?ll|me|my|myself|yo|mi|me)"
IM = r"(?:i'?m|i am|im)"
INTEND = (r"(?:(?:i'?m|i am|im)(?: \w+)? (?:going to|gonna|about to|planning (?:to|on)|ready to|fixing to|decided to)"
          r"|i(?:'ll| will)|i(?:'?ve| have) decided to|i (?:plan|intend|mean) to|i'?m (?:finally )?doing it)")
TIME_NOW = (r"(?:tonight|tonite|tomorrow|this (?:weekend|week|morning|afternoon|evening|friday|saturday|sunday|"
            r"monday|tuesday|wednesday|thursday)|right now|now|today|soon|on (?:sunday|monday|tuesday|wednesday|"
            r"thursday|friday|saturday)|after (?:work|school|they|everyone|my)|when (?:he|she|they|everyone)|"
            r"esta noche|hoy|manana|ahorita|ya)")
# A minor: the writer's child or a stated young age.
MINOR = _c(
    r"\b(?:my|our|her|his) (?:\d{1,2}[ -]?(?:yo|year[ -]old|yr[ -]old) )?(?:son|daughter|kid|kids|child|children|"
    r"boy|girl|teen|teenager|baby|toddler|granddaughter|grandson|little (?:sister|brother|one)|niece|nephew|"
    r"stepson|stepdaughter|foster (?:son|daughter|kid))\b|"
    r"\b(?:he|she|they)(?:'s| is| are) (?:[1-9]|1[0-7])\b|\((?:[1-9]|1[0-7])\)|\b(?:[1-9]|1[0-7])[ -]?(?:yo|"
    r"year[ -]old|"
    r"yr[ -]old|years old|anos)\b|\b(?:i'?m|im|i am) (?:1[0-7])\b|\bmi (?:hijo|hija|nino|nina|nieto|nieta|bebe)\b|"
    r"\b(?:tiene) (?:[1-9]|1[0-7]) anos\b")
ADULT_AGE = _c(r"\b(?:he|she|they)(?:'s| is| are) (?:1[89]|[2-9]\d)\b|\((?:1[89]|[2-9]\d)\)|\b(?:1[89]|"
               r"[2-9]\d)[ -]?(?:yo|year[ -]old|years old)\b")


@dataclass(frozen=True, slots=True)
class Concept:
    """One family of phrases that points to a crisis, and which context modifiers apply to it."""

    name: str  # the rule, reported as "rule:<name>" (no PHI)
    kind: str  # one of EMERGENT_KINDS (a report about someone else may be re-kinded: see rules.py)
    weight: float  # strength alone, 0..1
    pattern: re.Pattern[str]
    who: str = "self"  # "self": the sender's own; "other": someone the sender reports on; "any"
    needs_now: bool = False  # also told as calm history: needs no history cue (and for "other", a sign of now)
    idiom: bool = False  # a joke marker in the sentence cancels it
    hypo: bool = True  # a hypothesis before it cancels it
    negation: str = "inside"  # where a negation cancels it: "inside" the match or before it, "before" only, "none"
    insight: bool = False  # OCD-style insight in the message cancels it
    requires: re.Pattern[str] | None = None  # the message must also match this
    unless: re.Pattern[str] | None = None  # the sentence must not match this
    stack: bool = False  # several matches in one sentence add up (symptoms)
    gate: re.Pattern[str] | None = None  # the same pattern, MULTILINE: run once over all sentences joined by newlines
    keys: tuple[str, ...] | None = None  # literals one of which every match contains (None: always try the gate)


def C(name: str, kind: str, weight: float, pattern: str, **kw: object) -> Concept:
    """One row of the concept table; `requires` and `unless` may be given as pattern strings."""
    for key in ("requires", "unless"):
        value = kw.get(key)
        if isinstance(value, str):
            kw[key] = _c(value)
    return Concept(name, kind, weight, _c(pattern), gate=multiline(pattern), keys=required_literals(pattern),
                   **kw)  # type: ignore[arg-type]


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Literal strings at least one of which every match of `pattern` contains, or None when none can be told.

    Worked out from the parse tree (`re._parser`, read only): a run of literal characters is required; a group
    or a repeat of at least one requires what its body requires; an alternation requires the union of what its
    branches require (when every branch requires something). Lookarounds, classes and optional parts require
    nothing. A message containing none of the strings cannot match: a test of a few `in` checks before the regex."""
    try:
        from re import _constants, _parser  # the stdlib's own parser; a change there only costs the prefilter

        found = _required(list(_parser.parse(pattern)), _constants)
    except Exception:
        return None
    if not found or min(len(k) for k in found) < 3:
        return None
    return tuple(sorted(found))


def _required(items: list[tuple[object, object]], c: object) -> set[str] | None:
    candidates: list[set[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append({"".join(run)})
            run.clear()

    for op, av in items:
        if op is c.LITERAL:  # type: ignore[attr-defined]
            run.append(chr(av))  # type: ignore[arg-type]
            continue
        flush()
        sub: set[str] | None = None
        if op is c.SUBPATTERN:  # type: ignore[attr-defined]
            sub = _required(list(av[-1]), c)  # type: ignore[index]
        elif op is c.BRANCH:  # type: ignore[attr-defined]
            alts = [_required(list(b), c) for b in av[1]]  # type: ignore[index]
            if all(a is not None for a in alts):
                sub = set().union(*alts)  # type: ignore[arg-type]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:  # type: ignore[attr-defined,index]
            sub = _required(list(av[2]), c)  # type: ignore[index]
        if sub:
            candidates.append(sub)
    flush()
    if not candidates:
        return None
    return max(candidates, key=_usefulness)


def _usefulness(keys: set[str]) -> tuple[bool, int, int]:
    """Rare and long literals first, then fewer of them."""
    return not any(k.strip() in _COMMON for k in keys), min(len(k) for k in keys), -len(keys)


# Literals too frequent to be worth testing for: a required literal of another part of the pattern is preferred.
_COMMON = frozenset(
    "a an the to and or with me my i be is are was of in on at for it that this have has had got get about after "
    "again going than then con de la el que y your them all not new call help feel said keep out up so you".split())


def multiline(pattern: str) -> re.Pattern[str]:
    """The pattern for a quick test over sentences joined by newlines. Whatever matches inside one sentence also
    matches there ("$" and "^" hold at the newlines, and a newline is as foreign to every lookahead as the end of
    the string), so a message it does not match can skip the pattern sentence by sentence."""
    return re.compile(pattern, re.MULTILINE)


# --------------------------------------------------------------------------- emergent concepts

_SELF_DEATH = (r"(?:kill(?:ing)? myself|end(?:ing)? (?:my (?:own )?life|it all|things|everything|this)|"
               r"take my (?:own )?life|taking my (?:own )?life|commit(?:ting)? suicide|suicide|hang(?:ing)? myself|"
               r"shoot(?:ing)? myself|overdos(?:e|ing)|jump(?:ing)? (?:off|from|in front)|quitarme la vida|matarme|"
               r"suicidarme)")

_NOT3 = r"(?!(?:he|she|they|he'?s|she'?s|they'?re|hes|shes)\b)"  # a gap word that is not a third-person subject
_OD_THINGS = rf"\b(?:{MEDS}|batteries|bleach|antifreeze|poison|cleaner|sanitizer|gummies|fentanyl)\b"
_SUBJ = r"(?:he|she|they|(?:my|his|her|our) (?:\w+'?s )?\w+)"  # someone: "he", "my husband", "my dad's girlfriend"

CONCEPTS: tuple[Concept, ...] = (
    # ---- intent or plan
    C("intent-verb", "intent_or_plan", 0.95,
      rf"\b{INTEND}\s+(?:just |finally |really )?(?:kill myself|end (?:it|it all|my life|things|everything)\b|"
      r"take my (?:own )?life|hang myself|shoot myself|overdose|jump\b|do it\b|go through with it|finish it|"
      rf"take (?:them|it) all|take (?:all|the rest|every one) of (?:my|them|the)|take (?:all )?(?:my|the|those) {MEDS}|"
      r"drive (?:into|off)|end this)|\bme voy a (?:matar|quitar la vida|suicidar|colgar|aventar|tirar|"
      r"tomar (?:todas )?las "
      r"pastillas)\b|\bvoy a (?:quitarme la vida|matarme|suicidarme)\b|\bme las voy a tomar\b", idiom=True),
    C("intent-decided", "intent_or_plan", 0.9,
      r"\b(?:i'?ve|i have|ive) (?:decided|made (?:up )?my (?:mind|decision))\b(?! to (?:switch|stop therapy|go|move|"
      r"try|"
      r"take a break|quit|change|cancel))|\bmy mind'?s made up\b|\bmind is made up\b|\bi'?m going through with it\b|"
      r"\btonight(?:'s| is) the night\b|\b(?:friday|saturday|sunday|monday|tuesday|wednesday|thursday|this|tomorrow)"
      r"(?: \w+)? (?:is|would be|will be) the (?:day|night|week)\b|\bthis (?:would|will) be the (?:week|night|"
      r"day) to\b|"
      r"\bya (?:lo )?decidi\b|\bya tome la decision\b"),
    C("plan-have", "intent_or_plan", 0.95,
      r"\b(?:i|i'?ve|ive) (?:have|got|made|'?ve got|'?ve made|have made) (?:a|the|my) (?:plan|date)\b|"
      r"\ba plan and a date\b|\bi have a plan (?:for|to|and)\b|\bplan (?:for|on) how to (?:kill|end)\b|"
      r"\bi know (?:exactly )?(?:how and where|where and how|how much|how many|exactly how)\b|"
      r"\bpick(?:ed)? (?:out )?(?:the|a) (?:date|day|spot|place)\b|\bthe date picked\b|\btengo un plan\b|"
      r"\b(?:thinking|thought) about how (?:i'?d|id|i would|i could|to) do it\b|\bhow (?:i'?d|id|i would) do it\b|"
      r"\bit'?s going to be (?:tomorrow|tmrw|tonight|tonite|this weekend|soon|on \w+day)\b",
      needs_now=True, negation="before"),
    C("plan-research", "intent_or_plan", 0.9,
      r"\b(?:looked|look(?:ing)?|searched|googled) up (?:how (?:much|many|to|long)|the (?:tallest|highest|closest)|"
      r"what (?:dose|amount)|lethal)|\bhow (?:much|many)(?: \S+){0,6}? (?:would it take|does it take|it takes|"
      r"to (?:die|not wake up|overdose|kill (?:me|myself)|never wake up))\b|\b(?:will|would|could) (?:it|that|"
      r"they) kill me\b|"
      r"\benough (?:of (?:them|it|my \w+) )?to (?:die|kill me|not wake up|do it|end it)\b|\blethal (?:dose|amount)\b|"
      r"\b(?:dose|point) (?:where|at which) \w+ (?:becomes|is) (?:toxic|lethal)\b|"
      r"\b\d+ ?(?:mg|pills|tablets)\b(?: \S+){0,4}? (?:should|would|will|is|are) (?:be )?enough\b",
      hypo=False, negation="none"),
    C("plan-thinking-method", "intent_or_plan", 0.9,
      r"\bthinking (?:more |a lot |about )*(?:about|of) (?:taking|swallowing) (?:the whole bottle|all (?:of )?(?:my|"
      r"the|them)|"
      r"them all|an overdose|too many|the rest)\b|\bthinking about (?:overdosing|hanging myself|jumping|"
      r"shooting myself)\b|"
      r"\b(?:actually|exactly) how\b(?: \S+){0,3}? (?:the garage|the car|the bridge|the gun|the pills|the rope)\b",
      needs_now=True, insight=True),
    C("means-acquired", "intent_or_plan", 0.6,
      r"\b(?:i |i just |just |i'?ve |i went and )?(?:bought|buy|purchased|got|picked up|ordered) (?:a |the |some |"
      r"more |three |two |a few |extra )?"
      r"(?:bottles? of \w+|rope|noose|gun|pistol|rifle|shotgun|charcoal|antifreeze|razor blades|razors|blades|"
      r"hooks)\b|"
      r"\btied (?:the|a) (?:rope|noose|cord|belt)\b|\b(?:the|my) (?:rope|noose) (?:is |in |up )|"
      r"\b(?:ceiling fan|extension cord|the bar|the beam|closet rod)\b(?: \S+){0,8}? (?:hold|cord|rope)\b|"
      r"\bcompre (?:una pistola|la cuerda|pastillas|un arma)\b", needs_now=True,
      unless=r"\b(?:hammock|swing|camping|climbing|boat|tent|laundry|tie.?down|project|garden|clothesline|range|"
             r"hunting|"
      r"halloween|costume|for protection)\b"),
    C("means-have", "intent_or_plan", 0.45,
      r"\b(?:i|i'?ve|ive) (?:have|got|'?ve got|still have|keep) (?:my |the |a |his |her |\w+'?s )?(?:dad'?s |"
      r"cousin'?s |"
      r"uncle'?s |brother'?s |mom'?s |hunting |own )?(?:gun|pistol|rifle|rope|pills|meds|razor blades|blades|"
      r"insulin|antifreeze|vodka|charcoal)\b(?: \S+){0,4}? (?:ready|saved|with me|in (?:the|my) (?:trunk|car|"
      r"closet|bag|"
      r"hand|garage|nightstand|room)|next to me|by (?:the|my) bed|now|here|lined up|out)\b|"
      r"\btengo (?:la cuerda|las pastillas|el arma|una pistola)(?: \S+){0,3}? (?:aqui|listas?|guardad[ao]s)?\b|"
      r"\b(?:pills|bottles|meds) (?:all )?lined up\b|\b(?:has|have) a gun (?:he|she) keeps\b", negation="before"),
    C("means-brought", "intent_or_plan", 0.55,
      rf"\bi (?:brought|took|packed|have) (?:all |the rest of |all of )?(?:my |the )?(?:{MEDS})(?: \S+){{0,3}}? "
      r"(?:with me|and a bottle|and vodka|in my bag|to the)\b|\bbrought (?:the rest of|all) my (?:meds|pills)\b",
      needs_now=True),
    C("means-place", "intent_or_plan", 0.9,
      r"\b(?:i'?m|im|i am|sitting|standing|sat|writing this|i'?ve been|been) (?:\w+ )?(?:on|at|from|in) (?:the|my) "
      r"(?:roof|rooftop|ledge|edge|bridge|train tracks|tracks|cliffs?|overpass|parking (?:structure|garage)|"
      r"balcony railing)\b|\b(?:sitting )?in (?:my|the) car in the garage\b|\bengine (?:is )?running\b|"
      r"\bat the (?:motel|hotel)\b(?: \S+){0,8}? (?:meds|pills|vodka)\b", needs_now=True,
      unless=r"\b(?:parking lot of the clinic|for (?:work|a meeting|the view)|with (?:my|our) (?:kids|family|"
             r"friends))\b"),
    C("plan-next-time", "intent_or_plan", 0.85,
      r"\b(?:next time|this time|tonight|tomorrow) i (?:won'?t|wont|will|'?m going to|am going to|'?ll) "
      r"(?:stop|drive home|come back|do it|jump|go through|not stop)|\bi'?m going back tonight\b|"
      r"\bi (?:won'?t|wont) drive home\b|\bi think next time i'?m going to stop\b", needs_now=True, negation="before"),
    C("note-written", "intent_or_plan", 0.85,
      r"\b(?:i )?(?:wrote|written|left|finished) (?:the|a|my) (?:suicide |goodbye )?note\b(?! (?:for|to) (?:the|my) "
      r"(?:teacher|boss|school|landlord|work|doctor))|\bi'?ve written the notes?\b|\bby (?:then|morning|the time you "
      r"read this) it'?ll be (?:done|over)\b|\bit'?ll be done by\b", needs_now=True),
    C("ideation-self", "passive_current", 0.8,
      rf"\b(?:i|i'?m|im|i'?ve|ive|i'?d|id|i'?ll|me|"
      rf"yo)\b(?:\s+{_NOT3}\S+){{0,7}}?\s+(?<!by ){_SELF_DEATH}\b(?! (?:scene|"
      r"prevention|awareness|hotline|line|rate|attempt (?:in|when|at)|survivor|story|on the|of (?:his|her|my (?:friend|"
      r"brother|sister|uncle|aunt|cousin|dad|mom))))", needs_now=True, idiom=True, insight=True),
    C("ideation-suicidal", "passive_current", 0.85,
      r"\b(?:i'?m|im|i am|feeling|feel|been|get|getting) (?:\w+ )?suicidal\b|\bsuicidal (?:thoughts|ideation|again|"
      r"feelings)\b|"
      r"\bthoughts? (?:of|about) (?:suicide|killing myself|ending (?:it|my life|things)|dying|being dead|"
      r"not being (?:here|alive)|"
      r"wanting to die)\b|\bthinking (?:more |a lot |so much )?(?:about|of) (?:dying|death|being dead|killing myself|"
      r"suicide|"
      r"ending (?:it|things|my life)|not being (?:here|alive))\b|\bpensamientos (?:de|sobre) (?:suicidio|"
      r"quitarme la vida|"
      r"morir|matarme)\b",
      needs_now=True, insight=True),
    # ---- passive ideation, now
    C("passive-not-alive", "passive_current", 0.85,
      r"\b(?:do(?:n'?t| not)|dont|didnt|didn'?t|never) (?:really |even |honestly )?(?:want to|wanna|wish to) "
      r"(?:be alive|live|wake up|be here|exist|go on|keep (?:going|living)|be around|be on this earth)\b|"
      r"\bnot want(?:ing)? to (?:be alive|live|be here|wake up|exist)\b|\bno (?:quiero|queria) (?:vivir|estar aqui|"
      r"despertar|seguir)\b|"
      r"\bya no quiero (?:vivir|estar|seguir)\b|\bshould(?:n'?t| not) be alive\b|"
      r"\bnot (?:\w+ )?(?:want(?:ing)? to be|being) alive\b|\b(?:should|could) (?:just )?not be (?:in the picture|"
      r"here|around|alive)\b|"
      r"\b(?:like|just) not (?:be(?:ing)? )?alive\b|\bi don'?t care if i (?:wake up|die|live|don'?t wake up)\b",
      negation="none", needs_now=True),
    C("passive-wish-dead", "passive_current", 0.85,
      r"\b(?:wish|wished|wishing|hope|hoping|pray|praying)(?: that)? (?:i|i'?d)(?: \S+){0,5}? (?:was|were|be|'?d be|"
      r"wasn'?t|"
      r"weren'?t)(?: \S+){0,2}? (?:dead|gone|never born|not here|not alive|alive)\b|"
      r"\b(?:wish|wished|wishing|hope|hoping)(?: that)? i(?: \S+){0,6}? (?:could|would|'?d|will|won'?t|wouldn'?t|"
      r"don'?t|"
      r"didn'?t|never)(?: just)? (?:die|disappear|go to sleep|stop existing|not wake up|wake up|exist|be gone)\b|"
      r"\bwish(?:ed)? (?:it|this) (?:was|were|would be) my last\b|\b(?:want|wanna|wanted|wanting) to (?:die|be dead|"
      r"disappear|"
      r"not exist|stop existing)\b|\bjust die already\b|\b(?:i'?d|would) rather be dead\b|"
      r"\bquisiera (?:estar )?muert[oa]\b|"
      r"\b(?:me )?quiero morir\b|\bque dios me (?:lleve|recoja)\b|\bojala no despertara\b|"
      r"\ble pido a dios que no me despierte\b|\bno despertar\b",
      needs_now=True, idiom=True, negation="before"),
    C("passive-pray", "passive_current", 0.85,
      r"\bpray\w*(?: \S+){0,3}? (?:that )?god (?:takes?|will take|would take|to take) (?:me|you)\b", hypo=False,
      needs_now=True),
    C("passive-better-off", "passive_current", 0.85,
      r"\b(?:better off|be relieved|be happier|be easier|be better)(?: \S+){0,3}? (?:without me|if i (?:was|were|"
      r"wasn'?t|"
      r"weren'?t|died|didn'?t|just)|if i was gone)|\b(?:easier|easy|better|a relief|peaceful|"
      r"nice)(?: \S+){0,5}? (?:if i "
      r"(?:just )?(?:died|was(?:n'?t)? (?:gone|dead|here|around|alive)|were(?:n'?t)? (?:gone|dead|here|around|alive)|"
      r"didn'?t exist|wasn'?t)|to (?:just )?(?:not|never) (?:exist|be here|wake up|turn the wheel)|"
      r"to (?:just )?(?:end it|die|"
      r"disappear|not exist))\b|\b(?:fine|ok|okay|happy|relieved|"
      r"good)(?: with it)? if i (?:just )?(?:didn'?t (?:exist|wake up)|"
      r"died|wasn'?t (?:here|around|alive)|was gone|never woke up)\b|\bestar[ia]+n? mejor sin mi\b|\bmejor sin mi\b|"
      r"\bone less of me\b|\bwaste of (?:air|space|oxygen)\b",
      needs_now=True, idiom=True, negation="before", insight=True),
    C("passive-no-wake", "passive_current", 0.85,
      r"\b(?:go to sleep|fall asleep|die in my sleep|sleep)(?: \S+){0,2}? (?:and|&) (?:not|never) (?:wake up|"
      r"come back)\b|"
      r"\bsleep forever\b|\b(?:not|never) (?:to )?wake up (?:again|tomorrow|anymore)\b|\bhope i don'?t wake\b|"
      r"\bdisappointed i'?m still (?:here|alive)\b|\bwhy i'?m still (?:here|alive)\b|\bdon'?t see the point\b|"
      r"\bno (?:point|reason) (?:in |to |of )?(?:living|being alive|going on|being here|anymore)\b|"
      r"\bno se por que sigo aqui\b|\btired of (?:living|existing|being alive|life|waking up)\b|"
      r"\bmy life has no (?:value|meaning|point)\b|\bmi vida no vale\b|\ble da igual vivir o morir\b|"
      r"\bdied in my sleep\b|\bready to (?:rest|go) for good\b|\bwaiting to be done\b|\bthe living\b|"
      r"\bwant(?:ing)? it (?:all )?to be over\b|\bwant to be with (?:him|her|them|my (?:mom|dad|mother|father))\b|"
      r"\brather be with (?:him|her|them) than here\b|\bfeel like a ghost\b"
      , negation="none", needs_now=True, idiom=True),
    C("passive-hit-by", "passive_current", 0.85,
      r"\b(?:hit|run over) by a (?:bus|truck|car|train)\b|\ba (?:car|truck|bus) (?:would )?(?:just )?hit me\b|"
      r"\bgetting hit by a\b", needs_now=True, idiom=True, hypo=False),
    # ---- warning signs: a sense of ending
    C("ws-affairs", "warning_signs", 0.85,
      r"\b(?:affairs|everything|things|my (?:stuff|papers|finances)) (?:is |are )?(?:all )?(?:in order|sorted|"
      r"taken care of)\b|"
      r"\bgetting (?:my )?affairs in order\b|\b(?:updated|finished|made|wrote|writing) (?:up )?my (?:will|last will)\b|"
      r"\b(?:wrote down|written down|left|gave|put) (?:all )?(?:my |the )?passwords\b|\bwho gets what\b|"
      r"\btie up loose ends\b|\bpaid (?:off|back)(?: \S+){0,5}? (?:owed|bill|debts)\b|\bya arregle todo\b|"
      r"\b(?:made|have made) arrangements for\b|\bset up automatic payments\b|\bwrote down where everything is\b|"
      r"\bnobody has to deal with\b|\bthe (?:deed|life insurance papers|car title)\b", needs_now=True),
    C("ws-letters", "warning_signs", 0.8,
      r"\b(?:wrote|written|writing|left|put|leaving) (?:a |the |my )?(?:long )?(?:letters?|cartas?|una carta|notes?)"
      r"(?: \S+){0,3}? (?:to|for|para|a) (?:my |mis |mi |each of (?:my |the )?)?(?:kids|children|son|daughter|family|"
      r"wife|"
      r"husband|mom|brother|sister|hijos|hija|hijo|her|him|them)\b(?!'|s')|\bletters? (?:to|for) my (?:kids|"
      r"children)\b(?!')|"
      r"\b(?:deje|escribi) (?:unas? )?cartas? (?:para|a) mis? (?:hijos|hija|hijo)\b|\ble deje una carta\b"
      , needs_now=True,
      unless=r"\b(?:time capsule|project|pen pal|for (?:school|class)|birthday|christmas|holiday|thank.?you (?:notes|"
             r"cards)|"
      r"santa|camp|homework|assignment|exposure|therapy|not send|not to send)\b"),
    C("ws-finality", "warning_signs", 0.8,
      r"\b(?:won'?t|wont|will not|am not going to|not going to|i'?m not gonna) be (?:around|here|alive|coming back|"
      r"there|"
      r"a (?:problem|burden))(?: \S+){0,3}? (?:by|after|much longer|for (?:long|much)|anymore|for|longer|then|to)\b|"
      r"\b(?:won'?t|wont) be (?:around|here|alive)\b|\bnot (?:going|gonna) to be around\b|\bgone by (?:friday|monday|"
      r"tuesday|wednesday|thursday|saturday|sunday|then|the weekend|next week|morning)\b|\b(?:after|when|once|"
      r"before) i'?m gone\b|"
      r"\bbefore i go\b(?! (?:to|into|back|out|home|in))|\bi'?ll be gone\b|\b(?:this is|this will be|this'?ll be|es)"
      r"(?: probably| likely)? (?:my |mi )?(?:last|final|ultimo) (?:email|message|mensaje|check-?in|note|session)\b|"
      r"\bwon'?t matter (?:to me )?(?:after|anyway|soon)|\bwhere i'?m going\b(?! (?:on|for) (?:vacation|the|my))|"
      r"\bwon'?t need (?:it|them|any of it|most of it|anything) (?:where|after|anymore|much longer)\b|"
      r"\bi (?:don'?t|do not) (?:think|expect) (?:i'?ll|to) be (?:here|around|alive)\b|\bnot sure i'?ll be alive\b|"
      r"\bwhile i still can\b|\byou'?ll understand soon\b|\bya no (?:va|vas) a tener que preocupar\w*\b|"
      r"\bno (?:voy|vamos) a estar (?:aqui|mucho tiempo)\b|\bdon'?t think there are next steps for me\b|"
      r"\b(?:i'?m|im) not (?:going to|gonna) be coming back\b|\bi'?m not coming back\b|\bwon'?t be coming back\b|"
      r"\b(?:tell|say (?:it to|goodbye to)) (?:someone|you) before\.?$|\bwanted (?:you )?to (?:tell|tell someone|"
      r"know) before\.?$|"
      r"\bafter this (?:weekend|week)\b(?: \S+){0,3}? (?:worry|matter)|\bdon'?t (?:have|"
      r"need) to worry about me after\b|"
      r"\bi don'?t (?:think i'?ll|expect to) need\b", needs_now=True, negation="before"),
    C("ws-no-more-appointments", "warning_signs", 0.62,
      r"\b(?:won'?t|wont|will not|don'?t|dont) (?:need|be needing) (?:the|my|any|your|these|those|it|them|"
      r"an?)?(?: \S+){0,3}? "
      r"(?:appointments?|appts?|sessions?|refills?|visits?|it|them|the rest|any after|after (?:this|that|friday))\b|"
      r"\b(?:or )?any (?:after that|others|more after)\b|\bno (?:voy|vamos) a (?:ir|"
      r"necesitar)(?: \S+){0,3}? (?:citas?|ninguna otra)\b|"
      r"\bya no (?:voy a|las voy a|la voy a) necesitar\b|\bni a ninguna otra\b|"
      r"\byou won'?t need to see me\b|\b(?:take|cross) me off the schedule\b|\bdon'?t bother booking\b|"
      r"\bwon'?t be needing it\b|\bcancel (?:everything|all of (?:it|them))\b|\bthe rest of my sessions\b|"
      r"\bgive my (?:spot|slot) to someone\b|\bi don'?t think i'?ll make it to\b", needs_now=True, negation="before"),
    C("ws-goodbye", "warning_signs", 0.65,
      r"\b(?:say|said|saying|to say) (?:my )?(?:goodbyes?|bye)\b|\bthis is goodbye\b|\b(?:goodbye|bye) (?:everyone|"
      r"everybody|all)\b|\bjust wanted to say (?:bye|goodbye)\b|\bgoodbye\.?$|\bgoodbye\b(?! to (?:the|my) (?:old|"
      r"job))|"
      r"\bme despido\b|\badios\b|\bdespidiendose\b|\bsaid what i needed to say\b|\bmade (?:my )?peace with\b|"
      r"\b(?:i'?m|i am|im) at peace\b|\bat peace with (?:it|my decision|everything|this)\b|\bmy decision\b|"
      r"\bthis decision is mine\b|\bfue un gusto conocerl[oa]\b"),
    C("ws-not-your-fault", "warning_signs", 0.6,
      r"\b(?:it|this) (?:wasn'?t|isn'?t|is not|was not) (?:your|anyone'?s|anybody'?s|his|her) fault\b|"
      r"\bdon'?t blame yourself\b|\bplease remember that\b|\btell (?:my|them|the group|her|him|my \w+) (?:i said bye|"
      r"(?:that )?i love|i'?m sorry|it wasn'?t)|\bdile a mi (?:hijo|hija) que (?:lo|la) quiero\b|"
      r"\bdigale a mi (?:hijo|hija) que\b|\btell (?:them|my kids|my son|my daughter|my mom) i'?m sorry\b|"
      r"\bsorry for (?:everything|being such a|being a burden)\b|\bsorry for being a\b|\bdon'?t want (?:them|anyone|"
      r"my \w+) "
      r"(?:there|around|to find me|to see) when it happens\b", negation="none"),
    C("ws-thanks-final", "warning_signs", 0.3,
      r"\b(?:thank (?:you|u)|thanks) for (?:everything|trying|all you(?:'ve| have)? done|being (?:my|good|kind|so)|"
      r"never giving up)|\byou were (?:the only one|always kind|good to me|kind to me)|\bthe only (?:one|person) who "
      r"(?:ever )?(?:really )?(?:listened|tried|cared|me escucho)|\bgracias (?:de todos modos|por todo)\b|"
      r"\bfue la unica que me escucho\b|\bla unica que\b|\btake care of yourself\b|\bcuidese\b|"
      r"\bit'?s been a privilege\b|\bque dios la bendiga\b"),
    C("ws-giving-away", "warning_signs", 0.5,
      r"\b(?:gave|giving|give|given|getting rid of|got rid of|regale|le di|donating)(?: away)?(?: (?:a lot|all|most|"
      r"some) of)? "
      r"(?:my |all my |away my |mis |\w+ |the )?(?:dog|cat|cats|pets?|guitar|stuff|things|belongings|clothes|tools|"
      r"plants|"
      r"jewelry|bike|ps5|sneakers|painting|cosas|plantas|perro|gato|phone number|cat carrier|art supplies|books|"
      r"good pans|everything)\b|\bfound (?:a )?(?:good )?home for\b|\bgiving (?:away )?(?:a lot of|all) my\b|"
      r"\bgiven \w+ to my (?:neighbor|sister|brother|friend|mom)\b|\b(?:new )?(?:owners?|homes?) for (?:my|both my|"
      r"all my|"
      r"the) (?:dog|dogs|cat|cats|pets?|bird|birds)\b|\bsomewhere (?:safe|good) by (?:the end of the week|friday)\b|"
      r"\bwants a bunch of\b|\btake (?:his|her|my) dog\b|\bwon'?t be able to take care of (?:her|him)\b|"
      r"\ble regale\b|\bya regale\b", needs_now=True),
    C("ws-stockpile", "warning_signs", 0.8,
      rf"\b(?:saving|saved|stockpil\w+|collecting|hoarding|stash(?:ed|ing)?|putting aside|put aside|set aside|keeping|"
      rf"kept|guardad[oa]s|guardando)\b(?: \S+){{0,3}}? (?:up )?(?:my |all my |the |all the |of my |"
      rf"extra )?(?:{MEDS})\b|"
      rf"\b(?:i )?counted (?:the |my |all (?:the |my )?)?(?:{MEDS}|them)\b|\b(?:keep|keeps|kept) counting\b|"
      rf"\b(?:i (?:have|got|'?ve got) )?(?:about |like |over )?\d+ (?:of (?:the|my|them|those)|"
      rf"{MEDS})\b(?: \S+){{0,6}}? "
      r"(?:saved|put aside|in (?:a|the|my) (?:shoebox|ziplock|drawer|bag|car|nightstand)|now|tonight|keep|"
      r"by the bed)\b|"
      rf"\b(?:bottle|bottles) of (?:\d+ )?(?:{MEDS}) (?:in|by|on) (?:my|the)\b|\b\d{{3}} count\b|"
      rf"\bmonths? of (?:the |my )?"
      rf"(?:{MED_NAMES})\b|\benough (?:saved|of my meds|pills)\b|\bkeep(?:ing)? them (?:close|hidden|in (?:a|my|the) "
      r"(?:ziplock|car|drawer|bag|nightstand))\b|\blike an exit\b|\ba way out\b|\bhave (?:a lot|enough) saved\b|"
      r"\bya tengo las pastillas contadas\b|\bpastillas contadas\b|\b(?:put|keeping|saving) (?:all of them|them all) "
      r"(?:in|for) one day\b", needs_now=True),
    C("ws-weapon", "warning_signs", 0.6,
      r"\b(?:just )?bought (?:a|my first) gun\b|\b(?:have|got) (?:my |his |her |\w+'?s )?(?:dad'?s |father'?s |"
      r"uncle'?s )?"
      r"(?:hunting )?(?:rifle|gun|pistol) in my (?:closet|room|car|house)\b|\bnot going to say what it'?s for\b",
      needs_now=True, negation="before"),
    C("ws-decided", "warning_signs", 0.35,
      r"\b(?:i'?ve|ive|i have) decided\.|\bi'?m (?:just )?done\b(?! (?:with (?:the|my|this) (?:semester|week|job|"
      r"school|"
      r"work|class|paperwork|form)|being nice|being scared))|\bi'?m (?:so )?tired\.?$|\bdon'?t (?:call|"
      r"worry about me)\b|"
      r"\bplease don'?t (?:call|send anyone|send the police|call the police)\b|\bdon'?t send anyone\b|"
      r"\b(?:calmer|lighter|peaceful|calm) than i have (?:been |felt )?in\b|\b(?:strangely|oddly|weirdly) (?:calm|"
      r"peaceful)\b|"
      r"\bfeel (?:strangely |oddly )?(?:lighter|at peace)\b|\bnot scared (?:of it )?anymore\b|"
      r"\bi'?m not scared of it\b|"
      r"\bdeleted (?:all )?my social media\b|\bcancel(?:l?ed)? my phone plan\b|\bya no puedo mas\b|\bya no aguanto\b|"
      r"\bno aguanto mas\b|\bcan'?t do this anymore\b|\bi give up\b|\bwhen it happens\b|\bi won'?t be\.$",
      negation="none"),
    # ---- self-harm now
    C("sh-act", "self_harm", 0.9,
      r"\b(?:i |i just |i already |already |just )?(?:cut|cutting|cuts|carved|carving|burn(?:ed|ing|t)?|scratch(?:ed|"
      r"ing)?|"
      r"punch(?:ed|ing)?|bang(?:ed|ing)?|hit(?:ting)?|pull(?:ed|ing)?|hurt(?:ing)?|harm(?:ed|ing)?|press(?:ed|ing)?|"
      r"stab(?:bed|bing)?)(?: \S+){0,2}? (?:myself|my (?:arms?|legs?|wrists?|thighs?|skin|stomach|face|head|hair|hand)|"
      r"the wall|my head (?:on|against)|into my|against my)\b|\b(?:i )?cut (?:again|tonight|last night|this morning|"
      r"deeper|twice)\b|\bi cut\.|\bi (?:just )?(?:cut|burned)(?: \S+){0,2}? (?:with|on purpose)\b|"
      r"\bcutting (?:again|right now|tonight)\b|\b(?:i'?m|im|i am) cutting\b|\brelapsed(?: with cutting)?\b|"
      r"\bself.?harm(?:ed|ing)? (?:again|tonight)\b|\bmake myself throw up until\b|\bhurt myself again\b|"
      r"\bme (?:corte|estoy cortando|queme|hice dano)\b|\bcortandome\b", needs_now=True,
      unless=r"\bcut (?:my hair|back|down|off|out|ties|class|the (?:cord|grass))\b"),
    C("sh-intent", "self_harm", 0.9,
      r"\b(?:i'?m|im|i am) (?:going|gonna|about) (?:to )?(?:cut|burn|hurt myself|hit myself|do (?:it|worse|more))\b"
      r"(?! (?:back|down|off|out|ties|class|my hair|the))|\b(?:going to|gonna|want to|need to) cut (?:tonight|again|"
      r"deeper)\b|\bi'?m going to cut\b|\bi (?:want|need|feel like i need) to do (?:worse|more|it again)\b|"
      r"\bthinking about doing it again\b|\bgoing to do (?:it|more) again\b|\bgoing to do more\b|"
      r"\bi want to keep going\b|"
      r"\bquiero (?:cortarme|hacerlo mas|seguir)\b|\bganas de (?:cortarme|hacerme dano|lastimarme)\b|"
      r"\bi'?m going to make myself\b", needs_now=True),
    C("sh-urge-means", "self_harm", 0.85,
      r"\b(?:urges?|cravings?)(?: \S+){0,3}? (?:to (?:cut|hurt myself|burn|self.?harm|scratch)|(?:is|are) (?:really |"
      r"so |super )?"
      r"(?:bad|strong|loud))\b|\b(?:have|holding|got|with) (?:the|a|my) (?:pencil sharpener )?(?:blade|razor|knife|"
      r"navaja)"
      r"(?: \S+){0,3}? (?:next to me|in my hand|with me|out|on (?:my|the) (?:desk|sink)|in my room|here)\b|"
      r"\bin the bathroom with (?:a|my|the) (?:razor|blade|knife)\b|\bknife (?:against|to) my (?:wrist|arm|skin)\b|"
      r"\b(?:bought|got) (?:new )?razors\b|\bmore blades hidden\b|\bhid the blade\b|\bskin is itching for it\b|"
      r"\btengo la navaja\b|\bthe urge (?:is|to)\b", needs_now=True),
    C("injury-now", "self_harm", 0.45,
      r"\b(?:still bleeding|won'?t stop bleeding|it'?s bleeding|there'?s blood|lot of blood|blood everywhere|"
      r"blood on the)\b|"
      r"\bdeeper than (?:before|usual|last time)\b|\b(?:might |will )?need stitches\b|\bthink (?:it'?s|its) broken\b",
      who="any", needs_now=True, stack=True),
    # ---- harm to others
    C("hto-intent", "harm_to_others", 0.92,
      rf"\b{INTEND}\s+(?:\S+\s+){{0,3}}?(?:kill|stab|shoot|hurt|beat|poison|burn|murder|strangle|"
      r"run over|attack|bring (?:my|a|the) \w+'?s? (?:gun|knife)|make (?:him|her|them|sure he|sure she)|get (?:him|"
      r"her|them) "
      r"(?:back|tonight)|find (?:him|her|them)|show (?:him|her|them)|shoot up|take care of)\s+(?!me\b|myself\b|us\b)"
      r"(?:him|her|them|that|this|my|his|her|the|a|\w+)\b", idiom=True, insight=True, needs_now=True),
    C("hto-threat", "harm_to_others", 0.85,
      r"\b(?:he'?s|she'?s|they'?re|he is|she is) going to (?:find out what it feels like|regret|pay|"
      r"get what'?s coming)|"
      r"\bhe'?ll see\b|\bmake sure (?:he|she) (?:never|doesn'?t live)\b|\b(?:doesn'?t|won'?t) live to see\b|"
      r"\b(?:lo|la|los) (?:voy a matar|mato)\b|\bvoy a matar a\b|\bse lo juro\b|\bi'?m not going to be a punchline\b|"
      r"\bbringing something to (?:work|school)\b|\bwith him in it\b|\bdead serious\b", who="any", idiom=True,
      negation="before"),
    C("hto-thoughts", "harm_to_others", 0.6,
      r"\b(?:thoughts?|thinking|picturing|seeing myself|imagining) (?:about |of )?(?:hurting|killing|stabbing|shooting|"
      r"pushing|poisoning|driving (?:my car )?into) (?:my|him|her|them|the|a|\w+)\b(?<!myself)", needs_now=True,
      insight=True),
    C("hto-escalate", "harm_to_others", 0.55,
      r"\bnot just (?:a )?thoughts? anymore\b|\b(?:getting|are getting) (?:really )?stronger\b|"
      r"\bi (?:really )?almost did it\b|"
      r"\bkeep (?:walking|going) to the kitchen\b|\blooking at the knives\b|\b(?:scared|afraid) of what i'?ll do\b",
      needs_now=True, insight=True),
    C("hto-weapon-target", "harm_to_others", 0.7,
      r"\b(?:i'?ve got|i have|i got|i'?m holding|with|brought|bringing|have|tengo|traigo)\b(?: \S+){0,2}? (?:the|my|"
      r"a|his|her|"
      r"el|la|un|\w+'?s) (?:gun|pistol|rifle|knife|bat|hammer|crowbar|tire iron|machete|weapon|pocket knife|ar)\b"
      r"(?: \S+){0,8}? (?:(?:on|in|under|by) (?:the|my) (?:seat|mattress|bag|car|door|truck|troca|hand)|him|her|them|"
      r"tonight|right now|outside|for him|for her)\b|"
      r"\b(?:outside|parked outside|waiting (?:for him|outside)) (?:his|her|their) (?:apartment|house|work|place|"
      r"job)\b|"
      r"\bi know where (?:he|she|they) (?:lives?|works?|parks?|hangs? out)\b", needs_now=True,
      unless=r"\b(?:cut(?:ting)? (?:veg|food|onion)|chop|cooking|for protection|exposure|intrusive|ocd)\w*"),
    # ---- overdose / medical
    C("od-took", "overdose_medical", 0.92,
      rf"\b(?:i |i just |just |ok i |i think i |yo |ya )?(?:took|swallowed|ate|drank|chugged|downed|overdosed|od'd|"
      rf"tome|"
      rf"trague)\b(?: \S+){{0,3}}? (?:all|a bunch|a handful|handful|the whole|a whole|whole|most|half|extra|"
      rf"too (?:many|much)|"
      rf"like \d+|maybe \d+|about \d+|\d+|again|some of|the (?:rest|pills)|my whole|todas|como \d+|"
      rf"\d+ de)\b(?: \S+){{0,5}}? "
      rf"(?:{MEDS}|them|it|bottle|pack|sheet|batteries|dose|of them)\b|"
      rf"\b(?:took|swallowed|drank)(?: \S+){{0,4}}? {MEDS},? (?:like |maybe |about )?(?:most|all|half|\d+|a bunch|"
      rf"the whole|"
      rf"whole)\b|\bi took too (?:many|much)\b|\b(?:ok |so |well )?i (?:just )?took (?:the|"
      rf"all the) pills\b(?! (?:you|that|the "
      r"(?:doctor|dr)|dr|like|this morning|every|as))|"
      rf"\bhad fentanyl in them\b|\b(?:i'?m |been |i'?ve been )?taking (?:extra|more|double)\b(?: \S+){{0,6}}? "
      r"(?:tonight|a day|than|so i can)\b", needs_now=True, requires=_OD_THINGS,
      unless=r"\b(?:by accident|accidentally|by mistake)\b(?! (?:and|now|so))"),
    C("od-took-accident", "overdose_medical", 0.4,
      r"\b(?:took|taken|swallowed)\b(?: \S+){0,6}? (?:by accident|accidentally|by mistake|twice|again|extra|too many|"
      r"double)\b|"
      r"\b(?:accidentally|forgot and) (?:took|take|doubled)\b", needs_now=True, requires=_OD_THINGS),
    C("od-mix", "overdose_medical", 0.88,
      rf"\b(?:mixed|mixing|mezcle|with|plus|and)\b(?: \S+){{0,3}}? (?:{MEDS})(?: \S+){{0,2}}? (?:with|and|plus|con) "
      r"(?:a |the |some |like \d+ )?(?:bottle of |couple (?:of )?|few |lot of |lots of |too much )?(?:vodka|alcohol|"
      r"wine|"
      r"beers?|tequila|drinks|liquor|"
      r"whiskey|rum)\b|\b\d+ drinks and took\b|\btook (?:\d+|some|a few) (?:of )?(?:my )?\w+ with (?:a bottle of )?"
      r"(?:wine|vodka|beer|alcohol)\b|\bhad (?:a couple|a few|like \d+) (?:beers|drinks)\b", needs_now=True,
      requires=_OD_THINGS),
    C("od-symptom", "overdose_medical", 0.45,
      r"\bcan'?t (?:breathe|catch my breath|feel my (?:hands|legs|arms|face)|stay awake|keep my eyes open|"
      r"walk straight|"
      r"stand up)\b|\b(?:hard|trouble) (?:to )?breath(?:e|ing)\b|\bbreathing (?:is )?(?:weird|slow|funny|raro)\b|"
      r"\bbreathing (?:is )?(?:really |very |so )(?:weird|slow|shallow)\b|\brespirando raro\b|\bthroat (?:is |"
      r"feels )?(?:like (?:it'?s|its) )?(?:closing|tight|swelling)|\btongue (?:is )?swelling\b|"
      r"\blips (?:are |look |are turning )?(?:kind of )?(?:blue|swelling)\b|\bchest (?:pain|is (?:really )?tight)\b|"
      r"\bheart (?:is )?(?:racing|going (?:crazy|slow))\b|\bheart rate is \d+|\bfainted\b|\bpassed out\b|"
      r"\bbarely keep my eyes open\b|\bslurring\b|\bseizure\b|\bhives\b|\bvomiting blood\b|\bface (?:is |"
      r"feels )?numb\b|"
      r"\bone side of (?:her|his|my) face\b|\bfever of\b|\bmuscles (?:are |keep )?(?:super )?(?:stiff|twitching|"
      r"jerking)\b|"
      r"\bno puedo respirar\b|\bno responde\b|\bhard to wake\b|\bnot making sense\b|\bwon'?t answer me properly\b|"
      r"\bdrooping\b|\bno contesta bien\b|\bfalling asleep and can'?t\b|\bseeing bugs\b|\bcan'?t feel my\b|"
      r"\bcan barely (?:stand|walk|breathe)\b|\bcan'?t stop throwing up\b", who="any", negation="before",
      needs_now=True, hypo=False, stack=True,
      unless=r"\b(?:can|could|does|do) (?:anxiety|stress|panic|it|this|that|\w+ing) cause\b|\bchecked my heart\b"),
    C("od-symptom-mid", "overdose_medical", 0.3,
      r"\bthrowing up\b|\bvomiting\b|\bshaking (?:so bad|really bad)\b|\bmuy mareada\b|\breally dizzy\b|"
      r"\bstomach (?:hurts|is burning)\b|\bheart is pounding\b|\bcan barely type\b|\bso weak\b|\bestoy vomitando\b|"
      r"\besta vomitando\b|\bchest tightness\b|\bacting really drunk\b", who="any", negation="before", needs_now=True,
      hypo=False, unless=r"\b(?:can|could|does|do) (?:anxiety|stress|panic|it|this|that|\w+ing) cause\b"),
    C("od-symptom-weak", "overdose_medical", 0.15,
      r"\bdizzy\b|\bshaky\b|\bconfused\b|\bsweat(?:y|ing)\b|\bsleepy\b|\bout of it\b|\bheavy\b|\bmareada?\b|"
      r"\bfeel (?:really )?weird\b", who="any", negation="before", needs_now=True, hypo=False),
    C("od-med-context", "overdose_medical", 0.35,
      r"\b(?:since|after) (?:i )?(?:started|starting|taking|took|upping|the new|i started)\b|\bstarted the new\b|"
      r"\bthe new (?:dose|pill|med|medicine|medication)\b|\bnew (?:dose|pill|med|medicine|medication|rx)\b|"
      r"\b(?:took|take) my \w+ (?:like normal|and then|twice)\b|\bdesde que (?:subio|empece|empezo)\b", who="any",
      needs_now=True, hypo=False),
    # ---- acute psychiatric crisis
    C("ac-not-safe", "acute_crisis", 0.92,
      r"\b(?:i'?m |im |i am |still |feel )?not safe\b|\bcan'?t (?:stay|keep (?:myself|me)|be) safe\b|"
      r"\b(?:don'?t|do not|dont) (?:feel )?safe (?:alone|tonight|with myself|at home|in my|being alone|to be alone)\b|"
      r"\bnot safe (?:to be )?alone\b|\b(?:don'?t|do not|can'?t) trust myself\b|\bno me siento segur[oa]\b|"
      r"\bnot safe with myself\b|\bunsafe (?:tonight|right now|alone)\b|\b(?:don'?t|do not) think i can (?:stay|"
      r"keep myself|"
      r"be) safe\b|\bnot sure i can (?:stay|keep myself|be) safe\b|\bdon'?t know if i can (?:stay|keep myself) safe\b",
      negation="none", hypo=True),
    C("ac-voices", "acute_crisis", 0.9,
      r"\b(?:voices?|god|demons?|the tv|the signs|the radio|my dead \w+)\b(?: \S+){0,3}? (?:are |is |were |keep |"
      r"keeps )?"
      r"(?:telling|tell|told|saying|say|says|sending)(?: me)? (?:to|that i|i (?:have|need|should|must)|messages?|"
      r"my mother|"
      r"my neighbor)\b|\bcommand voices\b|\b(?:the )?voices? (?:are|is) (?:back|loud|louder|getting)\b|\blas voces\b|"
      r"\bla voz\b|\b(?:hear|hearing|heard) (?:people|someone|voices|the neighbors|my dead)\b(?: \S+){0,6}? (?:walls|"
      r"whisper\w*|my name|planning|tell(?:ing)? me)\b|\bthe voice says\b|\bme dicen que\b", needs_now=True,
      unless=r"\b(?:doesn'?t scare me|like a memory|not actual voices|in my head when i'?m stressed|falling asleep)\b"),
    C("ac-psychosis", "acute_crisis", 0.55,
      r"\b(?:seeing|see|saw) (?:things|people|stuff|bugs|shadows)(?: \S+){0,3}? (?:that|who) (?:aren'?t|isn'?t|"
      r"are not) there\b|"
      r"\btalking to people who aren'?t there\b|\bpeople in the corners\b|\b(?:microchip|the fbi|cameras in the walls|"
      r"sending (?:me )?messages|poisoning (?:me|the air|the water|my water)|put something in my|"
      r"someone is following me|"
      r"they'?re coming|the shadows)\b|\bdon'?t know what'?s real\b|\bi can fly\b|\bthey know i know\b|"
      r"\bhay camaras\b|\bme quieren matar\b|\blo quieren matar\b|\bnot in my body\b|\bhands don'?t look like mine\b|"
      r"\bpurify my body\b|\bthe final step\b|\bthoughts are racing\b|\bmind is (?:racing|going a million)\b|"
      r"\bplanning to kill me\b", needs_now=True, negation="before"),
    C("ac-no-sleep", "acute_crisis", 0.4,
      r"\bhaven'?t (?:slept|eaten or slept|eaten)(?: \S+){0,2}? (?:in|since|for) (?:\d+|two|three|four|five|six|days|"
      r"\w+day)\b|"
      r"\b(?:up|awake) for (?:\d+|two|three|four|five) (?:days|nights) straight\b|\b(?:hasn'?t|has not) slept in\b|"
      r"\bno (?:he|ha) dormido\b|\b(?:tres|cuatro|\d+) (?:noches|dias) sin dormir\b|\bup (?:\d+|three|four) nights\b",
      needs_now=True, negation="none"),
    C("ac-fear", "acute_crisis", 0.5,
      r"\b(?:scared|afraid|terrified) (?:of )?what i'?(?:ll|m going to|might) do\b|\b(?:scared|afraid) i'?ll do "
      r"(?:something|what)|\bi'?m going to do something\b|\bout of control\b|\blosing my mind\b|\blose my mind\b|"
      r"\bvolver loca\b|\bestoy en crisis\b|\bpanic attack\b(?: \S+){0,8}? (?:won'?t stop|not stopping|hours)\b|"
      r"\bfeel like (?:i'?m going to die|something terrible)\b|\bi think i'?m dying\b|\bi'?m on fire\b|"
      r"\bafraid of what i'?ll do\b|\bi'?m afraid to be alone\b", needs_now=True, idiom=True, negation="before"),
    C("ac-help-now", "acute_crisis", 0.3,
      r"\b(?:i )?need (?:someone|help|to talk to someone|to see someone|to go somewhere)(?: \S+){0,2}? (?:right now|"
      r"now|tonight|"
      r"today)\b|\bplease help me\b|\bplease call me\b|\bsomeone to come\b|\bcan i be seen today\b|\bi need help\b|"
      r"\bplease send someone\b|\bi'?m (?:so |really )?(?:scared|terrified)\b|\btengo (?:mucho )?miedo\b|"
      r"\bi don'?t know what to do\b|\bno se que hacer\b|\bi'?m freaking out\b|\bcan'?t stop (?:shaking|crying)\b|"
      r"\bi'?m scared to (?:move|go|be)\b|\bcan'?t wait until\b|\bwhat do i do\b|\bque hago\b|\bhelp\.?$",
      negation="none"),
    # ---- someone in danger now, reported by the sender (kind fixed in rules.py: minor, abuse, overdose...)
    C("other-selfharm", "minor_in_danger", 0.9,
      r"\b(?:cutting|burning|hurting|banging|hitting|scratching) (?:herself|himself|themselves|her (?:arms?|legs?|"
      r"thighs?|"
      r"wrists?|head)|his (?:arms?|legs?|head|wrists?)|(?:his|her) head on)\b|\b(?:found|walked in on) (?:her|him)\b"
      r"(?: \S+){0,2}? (?:cutting|hurting)|\bla encontre cortandose\b|\bfresh cuts\b|\b(?:she|he) (?:says|"
      r"said) (?:she|he) "
      r"has a (?:razor|knife|blade)\b|\btried to (?:hang|kill|jump)(?: \S+){0,8}? (?:this (?:afternoon|morning)|today|"
      r"tonight|just now)\b|\bwas standing on the (?:balcony|railing|roof)\b|\btried to jump out\b", who="other",
      needs_now=True),
    C("other-overdose", "overdose_medical", 0.9,
      r"\b(?:he|she|they|my \w+|mi \w+)(?: de \d+)?(?: just)? (?:took|swallowed|drank|ate|"
      r"se tomo)\b(?: \S+){0,3}? (?:all|a bunch|"
      r"a handful|the whole|her whole|his whole|most|\d+|no se cuantas|todas|pills)\b|\b(?:she|he) (?:says|said|told)"
      r"(?: \S+){0,3}? (?:took|swallowed) (?:a bunch|all|\d+)|\bempty (?:bottle|pill organizer)\b|"
      r"\bthe pill organizer is empty\b|\bdrinking hand sanitizer\b|\bgiving her pills\b|\bse tomo (?:todas|"
      r"no se cuantas)\b",
      who="other", needs_now=True, requires=_OD_THINGS, negation="before"),
    C("other-suicidal", "minor_in_danger", 0.85,
      r"\b(?:he|she|they|my \w+)\b(?: \S+){0,3}? (?:told me|said|says|texted|posted)(?: \S+){0,4}? (?:that )?(?:he|"
      r"she|they)?"
      r"(?:'s| is| has)? ?(?:going to|gonna|plans? to|has a plan to|will|wants to) (?:kill|hang|jump|do it|shoot|"
      r"end)\b|"
      r"\bplans to kill (?:herself|himself)\b|\bhas a plan to kill\b|\b(?:dijo|me dijo) que se (?:quiere|va a) matar\b|"
      r"\bse quiere matar\b|\b(?:photo|picture) of pills with\b|\b'?goodbye'?\b(?: \S+){0,4}? (?:not answering|"
      r"isn'?t answering)|"
      r"\bdespidiendose\b|\bya no voy a regresar\b|\bmandado un mensaje despidiendose\b|\btexted (?:me|her|"
      r"him) '?sorry for "
      r"everything|\bsaying (?:he|she) wants to die and\b", who="other", needs_now=True, negation="before"),
    C("other-passive", "passive_current", 0.8,
      r"\b(?:he|she|my \w+|mi \w+)\b(?: \S+){0,5}? (?:says|said|saying|keeps saying|told me|wrote|diciendo|dijo|dice)"
      r"(?: \S+){0,3}? (?:that )?(?:he|she|que)?(?: \S+){0,2}? (?:wants to (?:die|go to sleep|go to heaven|join)|"
      r"doesn'?t want to (?:live|be alive|wake up)|wish(?:es)? (?:he|she|i) (?:was|were) (?:dead|never born)|"
      r"a burden|ready to join|quisiera estar muert|ya no quiere vivir|se quiere morir|le da igual vivir|"
      r"que dios se la lleve|"
      r"could just die|'?wants? to go to sleep)|\bse quiere morir\b|\bquiere morirse\b|\bya no quiere vivir\b|"
      r"\ble da igual vivir o morir\b", who="other", needs_now=True, negation="before"),
    C("other-danger-minor", "minor_in_danger", 0.85,
      r"\b(?:locked (?:herself|himself|in) (?:in )?(?:her|his|the) (?:room|bathroom)|(?:is|'s) locked in (?:her|his|"
      r"the) "
      r"(?:room|bathroom)|won'?t open the door|isn'?t answering|not answering|ran away|left (?:him|her|them) alone|"
      r"(?:home|alone) (?:alone )?(?:in the apartment )?since (?:yesterday|this morning|last night)|(?:a|an older|"
      r"a grown) "
      r"man (?:we|she|he) (?:don'?t|doesn'?t) know|30-something man|much older|keeps going in (?:her|his) room|"
      r"coming into (?:her|his) room|(?:hitting|hit) (?:his|her) (?:brother|sister) with|took (?:him|her) in the truck|"
      r"with (?:a|his|her) (?:uncle|man) who|se encerro en su cuarto|se fue de la casa|(?:trying|"
      r"tries) to get her to leave|"
      r"stopped drinking water|pulled all the wires|alone (?:in the apartment|at home) since|refusing to eat)\b",
      who="other", needs_now=True, negation="none"),
    C("other-harm-threat", "harm_to_others", 0.85,
      r"\b(?:he|she|they|my \w+)(?:'s| is| was| just)? (?:told|said|says)(?: \S+){0,4}? (?:he'?s|she'?s|he is|she is|"
      r"they'?re)? ?"
      r"(?:going to|gonna|will)\b(?: \S+){0,5}? (?:stab|shoot|kill|hurt|take care of|with a (?:gun|knife|weapon)|"
      r"'?take care of)|\b(?:loading|loaded) (?:his|her) (?:rifle|gun)\b|\bshoot up\b|\bknife in (?:his|her) "
      r"(?:backpack|bag)\b|\bhid a (?:kitchen )?knife\b|\bknows where (?:his|her) \w+ keeps the\b", who="other",
      needs_now=True),
    C("other-acute", "acute_crisis", 0.8,
      r"\b(?:he|she|they|my \w+)(?:'s| is| has)? (?:hasn'?t slept|been up for|pacing|screaming|barricaded|smashed|"
      r"convinced|"
      r"talking to people|says the (?:staff|neighbors)|lleva tres noches|dice que hay)\b|\btiene un cuchillo\b|"
      r"\bgod told (?:him|her)\b", who="other", needs_now=True),
    # ---- abuse now
    C("abuse-act", "abuse_now", 0.9,
      rf"\b{_SUBJ}(?: \([^)]{{0,60}}\))?(?: \S+){{0,3}}? (?:hitting|hit|beating|beat|choking|choked|punching|punched|"
      rf"kicking|kicked|pushing|pushed|"
      r"slapping|slapped|strangling|grabbed|dragged|slammed|threw|throwing|hurting|put (?:his|her) hands on)\b"
      r"(?! (?:his|her) (?:head|self))(?: \S+){0,3}? (?:me|my|us|him|her|his|the kids|at me|at my)\b|"
      r"\b(?:he|she|they|my \w+)\b(?: \S+){0,3}? (?:hit|hits|hitting|beating|choked|grabbed|pegando) me\b|"
      r"\bput (?:his|her) hands on me\b|\bme (?:esta|estan) (?:golpeando|pegando|amenazando)\b|\bme (?:pego|golpeo)\b|"
      r"\bme est[a-z]* pegando\b", who="any", needs_now=True,
      unless=r"\b(?:used to|years ago|separated|divorced)\b"),
    C("abuse-threat", "abuse_now", 0.9,
      rf"\b{_SUBJ}(?:'s| is| was)? (?:said|says|saying|yelling|shouting|texting me|threatening|threatened|told me)"
      r"(?: \S+){0,6}? (?:(?:he|she|they)(?:'ll| will|'s going to| is going to| was going to)|going to|gonna|he'?d|"
      r"she'?d|"
      r"if i)\b(?: \S+){0,6}? (?:kill|hurt|beat|break|finish|throw|put my head|come up|teach me|get me|worse|or else)|"
      r"\bwill be worse\b|\bworse tonight\b|\b(?:dice|dijo) que (?:me|nos) va a (?:matar|pegar)\b|"
      r"\bme va a (?:matar|pegar)\b|\btrying to kick in the door\b|\bbanging on the (?:door|window)\b|"
      r"\b(?:he|she)'?ll kill me\b|\bhe'?s going to kill me\b|\bhe'?ll make sure\b", who="any", needs_now=True),
    C("abuse-confined", "abuse_now", 0.85,
      r"\b(?:locked|encerro) me (?:in|out)?\b|\b(?:he|she) locked me\b|\bme encerro\b|\bwon'?t let me (?:leave|out|"
      r"go)\b|"
      r"\bno me deja salir\b|\btook my (?:phone|keys|car keys|charger|id|wallet)\b|\b(?:i'?m |"
      r"im )?hiding\b(?: \S+){0,4}? "
      r"(?:room|closet|bathroom)|\bbarricaded\b|\bchair against the door\b|\bin the (?:bathroom|"
      r"closet) (?:with the door "
      r"locked|typing)\b|\bhe'?s (?:listening|outside|parked outside|in the next room|still here)\b|"
      r"\b(?:tablet|computer) he doesn'?t know about\b", who="any", needs_now=True, negation="before"),
    C("abuse-order", "abuse_now", 0.3,
      r"\b(?:there'?s a |there is a |have a |violating (?:the|a|my) )(?:protective|restraining) order\b",
      who="any", needs_now=True),
    C("minor-self-harm-baby", "minor_in_danger", 0.9,
      r"\b(?:going to|gonna) hurt (?:the|my) baby\b|\bshook (?:her|him|the baby)\b|\bhurt my baby to save\b",
      insight=True),
)

# Concepts one of which is a plan or means: together with any ideation they make intent_or_plan.
PLAN_CONCEPTS = frozenset({"intent-verb", "intent-decided", "plan-have", "plan-research", "plan-thinking-method",
                           "means-acquired", "means-have", "means-brought", "means-place", "plan-next-time",
                           "note-written", "ws-stockpile"})
IDEATION_CONCEPTS = frozenset({"ideation-self", "ideation-suicidal", "passive-not-alive", "passive-wish-dead",
                               "passive-better-off", "passive-no-wake", "passive-pray", "passive-hit-by"})


# --------------------------------------------------------------------------- HIPAA rights (standard 9)

# Words for what is in a record.
_REC = (r"(?:records?|chart|file|notes?|progress notes|assessments?|evaluations?|evals?|psych eval|treatment plan|"
        r"safety plan|lab (?:results|work)|labs|bloodwork|(?:psychological )?test(?:ing)? (?:results|report)|"
        r"medication (?:list|history|records)|med list|discharge (?:summary|papers|paperwork)|visit summary|summary|"
        r"intake (?:paperwork|forms?|notes|assessment)|hierarchy|diagnos[ie]s|documentation|paperwork|history|"
        r"expediente|notas|archivo|papeles|evaluacion|diagnostico|plan de tratamiento|records? from|"
        r"designated record set|audio or video|recordings?|letter (?:you|dr\.? \w+|she|he|they) (?:sent|wrote))")
_MY = r"(?:my|his|her|our|their|mi|mis|su|sus|the|all|all of my|all the|\w+'s)"
_PLACE = (r"(?:house|home|apartment|address|place|landline|mailbox|po box|p\.?o\.? box|house phone|parents'? house|"
          r"mom'?s)")
_PARTY = (r"(?:mom|dad|mother|father|parents?|husband|wife|ex|ex-?wife|ex-?husband|sister|brother|brothers|son|"
          r"daughter|"
          r"grandma|grandmother|family|employer|boss|work|job|insurance|insurer|health plan|probation(?: officer)?|"
          r"school|"
          r"teacher|counselor|pcp|primary care(?: doctor)?|doctor|church|pastor|landlord|shelter|housing|va|court|"
          r"pharmacy|"
          r"jail|regional center|eap|cps|dcfs|police|case ?manager|stepdad|stepmom|boyfriend|girlfriend|partner|aunt|"
          r"uncle|"
          r"cousin|friends?|anyone|anybody|anyone else|them|him|her|psychiatrist|therapist|program|agency|the state|"
          r"hermana|hermano|esposo|esposa|mama|papa|escuela|trabajo|seguro|ex esposo|hija|hijo)")

# A sentence that asks for something (the access and amendment patterns need one).
REQUEST = _c(
    r"\b(?:can|could|may|would|will) (?:i|u|you|we|someone|she|he|they|these|those|that|this|it)\b|"
    r"\bi'?d (?:also |really )?like\b|\bi would (?:also )?like\b|\b(?:he|she|they) (?:wants?|would like|asked me)\b|"
    r"\bi (?:want|wanna|need)\b|\bwe need\b|\bi'?m (?:requesting|asking)\b|\bi request\b|\brequest(?:ing)?\b|"
    r"\bplease\b|\bpls\b|\bplz\b|\bis (?:it|there a way) possible\b|\bis there (?:a|any) way\b|\bhow (?:do|can|"
    r"would) (?:i|we)\b|"
    r"\bam i allowed\b|\b(?:do|would) i have (?:a|the) right\b|\bi'?d feel better if\b|\bquiero\b|\bquisiera\b|"
    r"\bnecesito\b|"
    r"\bme (?:puede|pueden|podria|lo puede)\b|\bpuedo\b|\btengo derecho\b|\bpor favor\b|\bgo about\b|\bwhere do i\b|"
    r"\bwhat do (?:i|you) need\b|\bsend me\b|\bemail me\b|\?|\bi'?d (?:rather|prefer)\b|\bpursuant\b|\bfix\b|"
    r"\bcorrect\b|"
    r"\bremove\b|\bchange\b|\bupdate\b|\bdelete\b|\btake (?:it|that) (?:out|off)\b|\bcorrij|\bcambien\b|\bquiten\b")
# A past event attributed to the clinician: "the notes where you decided to change my diagnosis".
ATTRIBUTED = _c(r"\b(?:you|she|he|they|the doctor|dr\.? \w+|someone|we) (?:decided|wanted|had|chose|did|already|"
                r"would)(?: to)?\s*$|"
                r"\bwe(?:'?d| would|'?ll| will)\s*$|\b(?:an|a|monthly|quick|just an)\s*$|"
                r"\b(?:where|when|why|that) (?:you|she|he|they)\s*$|\bthanks? (?:you )?for\s*$|\bfor\s*$")

RIGHTS_PATTERNS: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    "access": (
        ("access-see", _c(
            rf"\b(?:see|read|look at|look through|view|review|inspect|go over|sit down and read|"
            rf"have)\b(?: \S+){{0,2}}? "
            rf"(?:{_MY}|whatever|everything)\b(?: \S+){{0,3}}? {_REC}\b|\bwhat (?:you|she|he|they|the \w+|dr\.? \w+) "
            r"(?:wrote|put|documented|said) (?:about me|in my|after|in (?:the|that)|on paper|when)|\bwhat you wrote\b|"
            rf"\bwhat'?s in my (?:file|chart|record)|\bwhat (?:does|did|exactly is in) my \w+ say\b|\bwhat (?:is|"
            rf"exactly is) in my "
            rf"(?:file|chart|records?)\b|\bwhat do you have in my file\b|\bwhat'?s been written\b|"
            r"\bwhat was written about\b|\bknow what (?:it|my \w+) says\b|\bque dice mi expediente\b|"
            r"\bsaber que dice\b|"
            r"\b(?:quiero|quisiera) (?:ver|leer)\b|\blo que escribio\b")),
        ("access-copy", _c(
            rf"\b(?:a |an |electronic |full |complete )?(?:copy|copies|printout|print out|pdf) (?:of )?(?:{_MY}|"
            rf"everything|"
            rf"whatever|what|that|it|them|this)\b|\b(?:get|have|receive|obtain|print(?: out)?|"
            rf"pick up)\b(?: \S+){{0,2}}? "
            rf"(?:{_MY}|copies of)\b(?: \S+){{0,3}}? {_REC}\b|\b(?:send|email|mail|give|print) me (?:a copy of |"
            rf"copies of )?"
            rf"(?:{_MY}|whatever|everything|the)?\b(?: \S+){{0,3}}? {_REC}\b|\b(?:send|email|"
            rf"mail) (?:{_MY}) (?:\S+ ){{0,3}}?"
            rf"{_REC}\b(?: \S+){{0,3}}? to me\b|\b{_REC} (?:sent|emailed|mailed|sent out) to me\b|\bsend (?:it|"
            rf"them) to me\b|"
            r"\bto me (?:rather than|instead of)\b|\bget (?:all )?my stuff\b|\bmy own (?:copy|records)\b|"
            r"\bone (?:too|for me)\b|"
            r"\ba copy too\b|\bcopy for myself\b|\bsend me a copy\b|\b(?:una )?copia de\b|\bmandeme (?:los|las|mis)\b|"
            r"\bme (?:puede|pueden) (?:dar|mandar) (?:una copia|los papeles|mis|las)\b|\bquiero una copia\b")),
        ("access-request", _c(
            rf"\b(?:request(?:ing)?|requesting access to|access to|obtain|pick up|need|want|like|asking for|ask for)\b"
            rf"(?: a copy of| copies of)?(?: {_MY})?(?: (?:complete|full|entire|whole|mental health|medical|"
            rf"psychiatric|"
            r"psychotherapy|treatment|therapy|medication|progress|session))* (?:records?|chart|file|notes|evaluation|"
            r"psych evaluation)\b(?! to (?:say|show|reflect|be))|\b(?:give|send|email|mail|hand) (?:it|them) to me\b|"
            r"\b(?:send|give) (?:it|them) or show me\b|\bshow me (?:it|my|the|what)\b|\bmy (?:records|chart|"
            r"file)\b(?: \S+){0,3}? (?:sent to me|to me|myself)\b|"
            r"\bi (?:want|'?d like|would like) to (?:read|see) (?:it|them|my|the|what)\b|\bcan i (?:see|read|have|"
            r"get) (?:it|them)\b|"
            r"\bwant to see it\b|\bcould i read it\b|\bi'?d like them\b|\bif i could read it\b")),
    ),
    "amendment": (
        ("amend-verb", _c(
            r"\b(?:correct|fix|change|update|remove|take (?:it |that |this )?(?:out|off)|delete|get rid of|amend|"
            r"corrij\w*|"
            r"correg\w*|cambien|cambiar|quiten|arregl\w+)\b(?: \S+){0,6}? (?:in (?:my|his|her|the) (?:record|chart|"
            r"file|notes?|"
            r"system|expediente)|(?:my|his|her|the) (?:record|chart|file|notes?|diagnosis|address|phone number|number|"
            r"emergency contact|name|pronouns|preferred language|job|date of birth|dob|allergy|history|summary|"
            r"treatment plan|problem list)|on (?:my|the) (?:chart|file|record)|from (?:my|his|her|the) (?:record|"
            r"chart|file|"
            r"notes)|that word|it|that|this|these|the note)\b")),
        ("amend-want", _c(
            r"\b(?:i want|i'?d like|i would like|i need|please have|i'?m asking that)\b(?: \S+){0,5}? (?:removed|"
            r"corrected|"
            r"changed|fixed|taken (?:out|off)|updated|deleted|amended|added|put in|on record)\b|"
            r"\b(?:can|could|will) (?:that|it|this|these|they|those|the \w+)(?: \S+){0,4}? be (?:corrected|fixed|"
            r"changed|removed|"
            r"updated|added|taken (?:out|off)|amended|deleted)\b|\bi want (?:the|my) (?:record|chart|file|"
            r"note) to (?:say|show|"
            r"reflect)\b|\b(?:corrijan(?:lo|la)?|corrijalo|corregirlo|me lo (?:puede|pueden) corregir|"
            r"lo pueden corregir|"
            r"quiero que lo cambien)\b|\b(?:i want|i'?d like) (?:it|that) (?:in my record|on record)\b|"
            r"\b(?:corregir|cambiar) (?:la fecha|el nombre|la direccion|eso|lo que dice)\b")),
        ("amend-pronoun", _c(
            r"\b(?:take|get) (?:it|that|this) (?:out|off|removed)\b|\b(?:remove|fix|correct|delete) (?:it|that|this|"
            r"these|"
            r"them)\b|\bupdate (?:it|them)\b")),
        ("amend-add", _c(
            r"\b(?:add|put|include|list|note)\b(?: \S+){0,4}? (?:to|in|on|into) (?:my|his|her|the) (?:record|chart|"
            r"file|notes?)\b|"
            r"\b(?:add|put) a note (?:in|to|that)\b|\bstatement of disagreement\b|\b(?:my|his|"
            r"her) side\b(?: \S+){0,4}? "
            r"(?:in there|in it|on record|too|with it|added)|\b(?:on|in my|for the) record\b|\bwrite (?:something|"
            r"a statement)\b"
            r"(?: \S+){0,4}? (?:goes in|go with|in there)|\bamendment\b|\baddendum\b|\bdisagree with the diagnosis\b")),
        ("amend-wrong", _c(
            r"\b(?:(?:it|that|this|which)(?:'s| is|s)|(?:it|that) was) (?:not true|wrong|incorrect|not right|"
            r"not accurate|a mistake|"
            r"inaccurate)\b|\b(?:is|are|was) (?:wrong|incorrect|inaccurate|spelled wrong)\b|\bspelled wrong\b|"
            r"\bwrong (?:date|"
            r"name|address|info|information|date of birth|dob)\b|\bmixed (?:me )?up with\b|\bno es cierto\b|"
            r"\besta mal\b|"
            r"\bthat'?s not right\b|\bthere'?s a mistake\b|\bstill lists\b|\bstill (?:says|has|my deadname)\b")),
    ),
    "accounting": (
        ("acct-who", _c(
            r"\bwho (?:else )?(?:have you|has|had|did you|you'?ve|else has|has had|has looked|looked|"
            r"at the county has|else got|"
            r"got|received|has seen|else has seen)\b(?: \S+){0,5}? (?:info|information|records?|file|chart|stuff|"
            r"sent|shared|"
            r"given|told|talked|disclosed|accessed|viewed|access|looked at|letter|copy)\b|\bwho (?:else )?(?:got|"
            r"received|has "
            r"seen) (?:it|them|that)\b|\bwho (?:you'?ve|you have) "
            r"(?:told|given|sent|shared)\b|\bwho (?:did you|you) (?:send|sent|give|gave|tell|told|share|talk)|"
            r"\bwho sent you (?:that|this|it)\b|\bwho (?:knows|got|has) what about me\b|\band to who(?:m)?\b|"
            r"\bwhat (?:you|u) (?:already )?(?:told|sent|shared|gave|said to)\b|\bwhat (?:she|he|they) (?:was|"
            r"were) told\b|"
            r"\bwho (?:they'?ve|it'?s|they have|it has|they|it) (?:been )?(?:sent|shared|given|went) to\b|"
            r"\bwho (?:my|his|her) (?:info|information|records?) (?:was|were|went|has been|have been)\b")),
        ("acct-list", _c(
            r"\b(?:list|accounting|report|record|printout|log) of (?:all )?(?:the )?(?:disclosures|everyone|everybody|"
            r"places|agencies|every time|the places|who (?:you|has|have|got|received|saw|looked|my|it|the))\b|"
            r"\b(?:list|accounting) of (?:disclosures|the agencies)\b|"
            r"\blist of disclosures\b|\baccounting of (?:all )?disclosures\b|\bevery time my records were released\b")),
        ("acct-did-you", _c(
            rf"\b(?:has|have|did|was|were|had) (?:{_MY}|any of (?:my|his|her)|anything|anyone|somebody|anybody|"
            rf"someone|you)"
            r"(?: \S+){0,3}? (?:been |go |gone |went )?(?:sent|shared|given|released|disclosed|go|gone|went|part of|"
            r"tell|told|"
            r"send|give|gave|share|talk(?:ed)? to|call(?:ed)?|requested)\b(?: \S+){0,6}? (?:about me|my|me|to|with|"
            r"them|"
            r"dcfs|cps|va|court|police|school|insurance|employer|work|probation|anyone|anything|him|her|his)\b|"
            r"\bwhat (?:did you|have you|was|has been|'?s been|you'?ve|you) (?:already )?(?:tell|told|send|sent|"
            r"share|shared|"
            r"given|gave)\b|\bwhat(?: \w+)?(?:'?s| was| has| have) been (?:shared|sent|given|released)\b|"
            r"\b(?:if|whether) (?:the |my |any )?(?!(?:i|you|we)\b)\w+(?:'s \w+)? (?:got|received|has gotten|"
            r"was sent)\b|"
            r"\b(?:if|whether) (?:any of it|any of my \w+|anything|my info|it|they|my \w+|you|u|the county|anyone|"
            r"his records)"
            r"(?: \S+){0,2}? "
            r"(?:went|was sent|has been sent|has already been sent|go|gone|shared|sent|was ever shared|went out)\b|"
            r"\banyone (?:outside|from your office|at the clinic|there)\b(?: \S+){0,6}? (?:viewed|looked|accessed|"
            r"sent|give)|"
            r"\bcon quien (?:han )?compart\w+|\ba quien (?:le )?(?:han )?(?:mandado|mandaron|dado)\b|"
            r"\bsi (?:le )?(?:mandaron|compartieron) (?:algo|informacion)\b|\bquien tiene acceso\b|\bmandaron algo\b")),
    ),
    "restriction": (
        ("restrict-dont", _c(
            r"\b(?:do not|don'?t|dont|never|not to|please not|can you not|could you not|i'?d rather you not|you not)\b"
            r"(?: \S+){0,1}? (?:share|send|give|tell|discuss|release|disclose|talk (?:about|to)|bill|report|mention|"
            r"put|include|"
            rf"let|call|contact)\b(?: \S+){{0,5}}? (?:(?:with|to) (?:my |the |his |her |our )?{_PARTY}|(?:my |the |"
            rf"his |her )?"
            rf"{_PARTY}\b(?: \S+){{0,3}}? (?:anything|any ?(?:info|information)|about)|anything about|information|info|"
            r"records?|(?:therapy |session |visit )?notes|diagnosis|about me|my case|my treatment)\b|"
            rf"\b(?:do not|don'?t|dont|never|you not|please not) (?:tell|give|let) (?:my |the |his |her )?{_PARTY}\b")),
        ("restrict-want", _c(
            rf"\b(?:do not|don'?t|dont|never) want (?:my |the |his |her |any |anyone |anybody |anything |them |him |"
            rf"her |it |"
            rf"\w+'s )(?:\S+ ){{0,4}}?(?:to (?:know|get|see|find out|be shared|have|read|access|be told|hear)|"
            rf"getting|seeing|"
            r"knowing|shared|going (?:to|anywhere)|sent|reported|billed|told|in their system|reading|receiv\w+|updates|"
            r"reports)\b|\b(?:not|never) (?:be |to be )?(?:shared|reported|given|released|disclosed|billed) (?:with|"
            r"to)\b|"
            r"\b(?:limit|restrict\w*)\b(?: \S+){0,4}? (?:what|who|my|his|her|disclosures|information|from being|"
            r"access)\b|"
            r"\bkeep (?:it|this|them|my \w+|the \w+) (?:separate|private|from)\b|\brevoke\b|"
            r"\bcan (?:you|we) (?:not|limit|block)\b|\bcan we stop that\b|\bblock that\b|"
            r"\b(?:isn'?t|not|is not|no longer) allowed to (?:get|have|see|know)\b|\bshould(?:n'?t| not) (?:be given|"
            r"get|"
            r"receive|be)\b(?: \S+){0,2}? (?:any )?(?:info|information)|\bnot (?:getting|get) (?:any )?(?:updates|info|"
            r"information)\b|\bnothing (?:else )?(?:goes|going|sent) to\b|\bonly (?:my treatment team|the attendance|"
            r"she gets|ustedes y yo|me \(|the school counselor)\b|\bbut nobody else\b|\bnot (?:everyone|the (?:vice|"
            r"shelter "
            r"director|other staff))\b|\bact like you don'?t know me\b|\b(?:take|remove) (?:her|him|them) off\b|"
            r"\bremove (?:my |his |her )?\w+ from (?:getting|my)\b|"
            r"\bremoved from getting\b|\bnothing (?:shared|sent|given|released) (?:with|to)\b|\bkept private\b|"
            r"\bkeep (?:this|it) private\b|\b(?:letters?|reports?) (?:only say|not (?:include|mention|say))\b|"
            r"\blocked down\b|\bflagged so only\b|\bnot (?:be )?allowed\b|\bno (?:tiene|tienen) permiso\b|"
            r"\bno (?:le |les )?(?:den|de|compartan|manden)\b(?: \S+){0,3}? (?:informacion|nada)\b|"
            r"\bno quiero que (?:mi informacion |mis \w+ )?(?:se comparta|compartan|sepa|sepan|le den)\b|"
            r"\bno (?:hable|hablen) de mi\b|\bya no quiero que compartan\b|\bnot (?:tell|give) (?:him|her|them)\b|"
            rf"\b(?:can|could) (?:she|he|they|my {_PARTY}) not (?:see|get|read|know|have)\b|"
            r"\bstop (?:that|sharing|sending)\b(?: \S+){0,4}? (?:going forward|anymore|to)|\bnot (?:share|"
            r"send) (?:them|it)\b")),
    ),
    "confidential_communication": (
        ("cc-only", _c(
            r"\bonly (?:call|text|email|e-mail|contact|use|reach|send|mail|write)\b|\b(?:call|text|email|contact|"
            r"reach|write) "
            r"(?:me )?only\b|\b(?:text|email|e-mail|mail) only\b|\bonly (?:by )?(?:text|email|my cell|on my cell|"
            r"my work)\b|"
            r"\b(?:cell|email) only\b|\bsolo (?:a mi |al |por |a este )?(?:cel|celular|mensaje|texto|correo|email)\b|"
            r"\bescriban solo\b|\bonly text\b")),
        ("cc-not-house", _c(
            r"\b(?:do not|don'?t|dont|stop|no|please no|never)\b(?: \S+){0,1}? (?:call(?:ing)?|mail(?:ing)?|"
            r"send(?:ing)?|leave|"
            r"leaving|text(?:ing)?|email(?:ing)?|say)\b(?: \S+){0,5}? (?:house|home|apartment|landline|voicemails?|"
            r"messages?|message with|old (?:place|address|work|number)|the house|house phone|reminder (?:texts|"
            r"postcards)|"
            r"postcards|parents'?|mom'?s house|my work|the school address|work number|before \d)\b|"
            r"\bno (?:voicemails?|messages|calls|llamadas|letters|mail)\b|\b(?:don'?t|"
            r"do not) leave (?:a )?(?:voicemails?|"
            r"messages?)\b|\bno me (?:llame|llamen|manden|mande)\b|\bno (?:mande|manden|le manden) (?:nada|cartas)\b|"
            r"\bno (?:quiero que )?(?:le )?manden cartas\b|\bno llamen a mi\b|\bno deje mensaje\b|"
            r"\bexplanation of benefits\b|\beob\b")),
        ("cc-instead", _c(
            r"\b(?:instead of|rather than) (?:my |the |his |her )?(?:home|house|the portal|text|calling|"
            r"the automated phone "
            r"call|my apartment|mine|gmail|phone|landline|regular phone calls|apartment|old one|the one in my file|"
            r"email)\b|"
            r"\bnot (?:to )?(?:my |the )(?:gmail|portal|landline|home (?:phone|number|address)|house|apartment|"
            r"old (?:one|email|"
            r"number|address)|group home)\b|\b(?:call|email|text) me,? not\b|"
            r"\b(?:use|send|email|call|text|mail|reach|contact)\b(?: \S+){0,4}? (?:my|this|the) (?:work |new |"
            r"personal |private |"
            r"office )?(?:email|e-mail|cell|number|gmail|address|po box|p\.?o\.? box|office number)\b,?(?: \S+){0,3}? "
            r"(?:only|instead|from now on|not|rather)\b|,? not (?:by )?(?:text|texts|regular phone calls|phone calls|"
            r"calls|"
            r"voicemails?)\b|\binstead of (?:hers|his|theirs)\b|\bfrom now on\b(?: \S+){0,6}? (?:use|send|email|call|"
            r"text|mail)\b|"
            r"\b(?:send|mail|direct)\b(?: \S+){0,4}? (?:to (?:my|the) (?:po box|p\.?o\.? box|sister'?s|mom'?s|"
            r"cousin'?s|"
            r"front desk|clinic front desk|office)|to this (?:email|address))\b|\bcall me at (?:work|my office)\b|"
            r"\b(?:blocked|private) number\b|\bcaller id\b|\bsubject line\b|\block screen\b|\bpreviews?\b|"
            r"\bdon'?t (?:say|mention) (?:you'?re|it'?s|where|the name)\b|\bjust say it'?s\b|\bdirectly on his phone\b|"
            r"\bplease (?:only )?text me\b|\bcan (?:you|u) only text\b|\ba mi correo y no a mi casa\b|"
            r"\bemail me directly\b|"
            r"\bpor mensaje de texto\b|\bmy (?:personal|private) email\b(?: \S+){0,3}? only|\bonly show up in my\b|"
            r"\bcall me (?:only )?between\b|\bmail comes to mine\b|\bnot to (?:my|the) (?:house|home)\b|"
            r"\b(?:rather not|prefer not to) use the portal\b|\bsend (?:them|it|letters|mail|things|"
            r"everything) to my \w+'?s\b")),
    ),
}

# A sentence asking what a form *is*, thanking for records already received, or a past request.
NOT_REQUEST = _c(
    r"\bwhat (?:is|'s|s|does|are) (?:a |an |the |this |that )?['\"]?[^.?!]{0,60}?(?:form|paper|mean|for|thing|"
    r"letter)\b|"
    r"\bwhat'?s the difference\b|\b(?:thank|thanks|thx|ty|gracias|appreciate)\b[^.?!]{0,80}?\b(?:for|por)\b|"
    r"\b(?:i|we|just|finally|i'?ve|she|he) (?:got|received|picked up|reviewed|read through|went through)\b[^.?!]{0,40}?"
    r"\b(?:records?|copy|copia|papeles|list|letter|chart|file|accounting|disclosures)\b|\b(?:recibi|"
    r"arrived)\b[^.?!]{0,30}|"
    r"\bwhat(?: is|'s| does| are)? (?:a |an |the |this |that )?['\"]|\bwhat (?:is|"
    r"does) (?:an? )?\w+(?: \w+){0,3} mean\b|\bque es\b|\bpara que sirve\b|\bdo i have to (?:fill|sign)\b|"
    r"\bif i don'?t (?:want|sign)\b")
NOT_ASKING = _c(
    r"\b(?:not asking (?:you )?(?:to do anything|for anything)|i don'?t (?:need|think i need) (?:anything|it|to change "
    r"anything)|just curious|solo (?:tengo )?curiosidad|in case i need it later|nothing i need to do)\b")
# Consent given, not a restriction: "you can leave voicemails", "it's fine to call my home number".
PERMISSION = _c(
    r"\b(?:you can|it'?s (?:fine|ok|okay) (?:to|if)|is (?:allowed|fine) to|feel free to|i'?m (?:fine|ok|okay) with|"
    r"whatever is easier|por mi no hay problema|does that mean you'?ll only|please let her|please let him)\b")
PLACE = _c(rf"\b{_PLACE}\b")

# --------------------------------------------------------------------------- purpose and clinical questions

_DAY = (r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thurs?|fri|sat|sun|tmrw|tomorrow|"
        r"today|tonight|next week|this week|lunes|martes|miercoles|jueves|viernes|sabado|domingo|manana|hoy)")
_APPT = (r"(?:appointment|appt|session|visit|intake|group|med check|check-?in|follow.?up|evaluation|assessment|"
         r"meeting|cita|sesion|consulta|slot)")

# (purpose, rule name, weight, pattern). A weight below 1 is a weak cue: it wins only when nothing stronger does.
PURPOSE_PATTERNS: tuple[tuple[str, str, float, re.Pattern[str]], ...] = (
    ("scheduling", "sched-change", 1.0, _c(
        rf"\b(?:reschedul\w*|cancel(?:l?ed|l?ing)?|postpone|re-?book|push (?:it |us |me |my \w+ |our \w+ )?(?:to|back)|"
        rf"move (?:it|my|our|the|us|me|to|\w+'?s (?:appt|appointment|session)|{_DAY})|switch (?:to|from|my|our|today|"
        rf"the)|change (?:my|the|our) (?:{_APPT}|time|day)|(?:book|schedule|set up|make|get|request|need|want|like) "
        rf"(?:an? |my |the |a first |a new |a follow.?up |monthly |a final |a joint )?(?:{_APPT}|check-?ins|sessions)|"
        r"(?:can|could) (?:we|i) (?:do|move|switch|push|make it|meet|get in|come in|come|go back|try|skip|bring|have|"
        r"start)|"
        r"(?:can|could) (?:you|u) (?:move|switch|push|fit|see) (?:me|us|it|my)|can'?t (?:make it|make (?:the|my|our|"
        r"today|"
        rf"tomorrow|{_DAY})|come|do (?:mornings|afternoons|{_DAY})|be there)|won'?t be able to (?:make|come|attend)|"
        r"not (?:going to|gonna) make (?:it|the)|i won'?t be at|need to (?:miss|cancel|change|move|reschedule)|"
        rf"(?:missed|miss|forgot about|no-?showed|slept through)\b(?: \S+){{0,3}}? (?:{_APPT}|it|today|yesterday)|"
        r"any (?:openings|availability|cancellations)|do you have (?:anything|any (?:openings|evening|time|slots?)|"
        r"an opening|"
        rf"evening)|(?:phone|video|telehealth|zoom|in person)(?: \S+){{0,2}}? (?:instead|this week|today)|instead of "
        rf"(?:in person|{_DAY}|video|phone)|get back on (?:your|the) schedule|every other week|(?:weekly|monthly) "
        r"(?:again|instead)|more often|(?:running|be|i'?ll be|gonna be|"
        r"going to be) (?:\w+ )?(?:\d+ ?-? ?\d* min(?:utes)? )?"
        r"(?:late|behind)|running behind|stuck (?:at|behind|in)|waiting for (?:the )?host|(?:the )?(?:link|passcode)\b"
        r"(?: \S+){0,4}? (?:expired|work|not working|asking|wrong)|i'?m (?:in the lobby|here now|in the waiting room)|"
        r"(?:an? )?(?:earlier|later|sooner|evening|weekend|saturday) (?:appointment|appt|time|slot|session)|"
        r"come in (?:earlier|early|sooner|today|tomorrow|instead)|get in sooner|sooner than|restart (?:therapy|"
        r"sessions)|"
        r"come back to therapy|take a break from|calendar invite|half hour sessions|(?:let me know|please let me know) "
        r"(?:if|what)(?: \S+){0,4}? works|can'?t come in|cambiar (?:mi|la) cita|(?:hacer|dar|tienen|hay|necesito|"
        r"quiero) "
        r"(?:una )?cita|citas? (?:en|por) la (?:manana|tarde)|cancelar|reagendar|reprogramar|no (?:voy|vamos) a poder "
        r"(?:ir|llegar)|no puedo (?:manana|ir|llegar)|(?:podemos|se puede) (?:hacer|pasar|cambiar|venir)|puedo ir el|"
        r"llego (?:como )?\d+ minutos tarde|pasar(?:la)? al|tiene algo el|en vez del?|se me olvido la cita)\b")),
    ("scheduling", "sched-weak", 0.6, _c(
        rf"\b(?:{_DAY}|\d{{1,2}}(?::\d\d)? ?(?:am|pm)?) (?:at \d+ )?(?:works|is good|is fine|is perfect)\b|"
        r"\b(?:works|is good) for me\b|\bany (?:day|time|weekday)\b|\bi'?m (?:free|available)\b|\bafter \d\b|"
        r"\b(?:mornings|afternoons|evenings) (?:are|work) best\b")),
    ("reminder", "remind-ask", 1.0, _c(
        rf"\b(?:what time is|what time'?s|when is (?:my|our|the)|is (?:my|our|the|it|her|his|"
        rf"\w+'?s) (?:next )?(?:{_APPT})?\b"
        rf"(?: \S+){{0,3}}? (?:still|on {_DAY}|at \d|in person|on video|tomorrow|today|the \d)|(?:do i|does (?:he|"
        rf"she)) "
        rf"still have|still on for|still good for|is (?:\w+ )?still on|still (?:on|happening)\b|confirm(?:ing|"
        rf"ed)? (?:for|my|our|the|"
        rf"{_DAY}|\d|that|i'?m|we)|just confirming|^confirmed|which (?:building|room|office|clinic|location|"
        rf"one is right)|"
        r"where do i go|did i miss my|in person or (?:on )?(?:video|phone)|is (?:it|that) at the (?:center|clinic)|"
        rf"(?:the )?\d+(?:st|nd|rd|th)? or (?:the )?\d+|(?:first|next) (?:appointment|appt) (?:with you )?is|"
        r"keep (?:our|my) (?:\w+ )?(?:slot|appointment|time)|is (?:next )?\w+ a holiday|i forgot if its|"
        r"remind me (?:which|what time|when|where)|mi cita (?:es|del)|confirmo|ahi (?:estare|nos vemos)|sigue (?:la|"
        r"mi|siendo)|"
        r"a que hora (?:es|pasa)|me puede recordar la hora|presencial o|when is my next|is it (?:tomorrow|today|at \d)|"
        rf"(?:tomorrow|{_DAY}) at \d+,? right|right\? the|session moved to)\b")),
    ("reminder", "remind-weak", 0.5, _c(
        rf"\bsee you (?:then|there|at|on|next|soon|{_DAY})|\bi'?ll be there\b|\bwe'?ll be there\b|^(?:ok|okay|yes|"
        rf"yep|sure|"
        rf"perfect|great|got it)\b[^.?!]{{0,20}}(?:{_DAY}|\d)|\bsounds good\b|\bsoudns good\b|\btalk (?:{_DAY}|then|"
        rf"soon)\b|"
        rf"\b{_DAY} (?:is|at \d+ is) (?:fine|good|perfect|still perfect)\b|\bsi,? ahi\b")),
    ("treatment_instructions", "instr-recall", 1.0, _c(
        r"\b(?:remind me (?:the|what|again|how|if)|was it\b|did you say|just to (?:be sure|double.?check|confirm|"
        r"clarify)|"
        r"(?:make|making) sure i (?:understood|have it right|got it right|'?m doing (?:it|this) right)|the (?:bottle|"
        r"paper|label|"
        r"instructions?) (?:says|said)|as directed|i forgot (?:what|if|how|which|the)|se me olvido|me recuerda|"
        r"no me acuerdo|"
        r"supposed to|want to be sure|want to make sure i|am i doing (?:it|this) right|i lost the|can you send (?:it|"
        r"the \w+) "
        r"again|what was the (?:name|breathing|grounding|skill|'?stop'?|'?tipp'?)|which app|what was the|"
        r"you said (?:to|it|the|"
        r"\d|not)|you told me (?:to|once)|i think you told me|like you (?:said|told me|showed)|right\?|"
        r"is it \d+ (?:or|of)|"
        r"do i (?:take|do|fill|rate|keep|schedule|still do|follow|write|just)|should i be taking|"
        r"how long am i supposed|"
        r"(?:before|after) (?:bed|meals|food|eating)|with (?:or without )?food|empty stomach|o (?:cada|en la)|¿era\b|"
        r"era primero)\b")),
    ("treatment_instructions", "instr-topic", 0.6, _c(
        r"\b(?:homework|worksheet|exercise|diary card|thought record|sleep (?:log|diary)|mood chart|log sheet|handout|"
        r"hierarchy|exposure|ladder|sticker chart|reward chart|behavior plan|bedtime routine|routine|worry time|"
        r"breathing|"
        r"grounding|body scan|special time|calm-?down corner|opposite action|behavioral activation|taper|starter pack|"
        r"safety plan|skill|dose|tablet|pill|injection|shot|ejercicio|hoja de registro|rutinas?|tecnica|pastilla|"
        r"inyeccion|"
        r"dosis)\b")),
    ("information", "info-admin", 1.0, _c(
        r"\b(?:letter (?:for|to|saying|from|confirming|that)|(?:a|the|an) (?:\w+ )?letter\b|note (?:for|to|saying|"
        r"that)|"
        r"a note\b|form|forms|paperwork|fmla|sdi|ssi|disability (?:paperwork|office|form)|jury duty|hours|open (?:on|"
        r"saturdays|"
        r"sundays|late)|closed (?:on|for)|address|parking|fax|number for|phone number for|what'?s the number|"
        r"(?:the|a) (?:\w+ )?group|program|class(?:es)?|cost|fee|sliding scale|for free|is it free|insurance|medi-?cal|"
        r"medicare|bill|billing|copay|where (?:do|can|is|did) (?:i|the|you)|how do i (?:get|transfer|sign|request|"
        r"find)|"
        r"do you (?:have|offer|take|do|guys|know|record)|is there (?:a|any)|link|resend|name of (?:the|that)|"
        r"prior auth\w*|"
        r"pharmacy|refill|prescription|waitlist|interpreter|transportation|ride program|wheelchair|records?|release|"
        r"roi|"
        r"food (?:bank|pantry)|resources|support groups?|voucher|proof|attendance|verif\w+|reference|"
        r"strategies for the "
        r"classroom|accommodation|carta|formulario|papeles|grupo|horario|direccion|clinica|abren|cuanto|tienen|"
        r"programa|"
        r"what happens to my file|how long do you keep|do you guys|crisis line|988|911|help line|the number)\b")),
    ("other", "other-social", 0.8, _c(
        r"\b(?:thank|thanks|thx|ty|gracias|congrat\w*|happy (?:birthday|holidays|new year|thanksgiving)|feliz|"
        r"good news|"
        r"guess what|i got the (?:job|apartment)|just wanted to (?:say|share|tell|let)|update:|quick update|"
        r"complain\w*|queja|"
        r"can we talk about|talk about (?:it|this|that) (?:next|on|in|thursday)|want to talk about|"
        r"i'?d like to talk about|"
        r"bring it up|process it|just venting|need to vent|rant|i'?m (?:so )?(?:mad|angry|furious|pissed|proud)|"
        r"proud of|just so you know|fyi|wanted you to know|no need to reply|you'?re welcome|de nada|felicidades|"
        r"saludos|bendiciones|feedback|remove me|unsubscribe|stop sending|lol you'?ll never|can we practice|have you "
        r"(?:read|seen|heard)|did you see|podemos hablar|lo podemos hablar|hablarlo|can we (?:talk|discuss|go over|"
        r"work on)|"
        r"i want to work on|we can talk|ready to talk)\b")),
)

CQ_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cq-med-change", _c(
        r"\b(?:go(?:ing)? (?:up|down|back up|back down)(?! the stairs)|bump(?:ed)? (?:it )?up|(?:can you|could you|"
        r"to) up my|"
        r"increase|decrease|lower(?:ing)?|raise (?:it|the|my)|higher dose|double up|(?:switch|change)(?:ing)? (?:my |"
        r"the )?"
        r"(?:med|meds|medication|medicine|dose|pill|antidepressant)|switch(?:ing)? (?:to|from) (?:the )?\w+(?:ine|am|"
        r"one|ex|ol)\b|"
        r"switch to something|try (?:something|another|a different|going|lowering|coming off)|try something else|"
        r"something else (?:for|instead|that)|med change|(?:stop|quit)(?:ping)? (?:taking|the \w+|it|my meds|all)|"
        r"come off|"
        r"coming off|taper|wean|skip (?:tonight'?s|a|my) dose|add (?:an? )?(?:antidepressant|medication|med|"
        r"mood stabilizer|"
        r"something (?:for|to help))|split my|take (?:it|them) (?:earlier|at night|in the morning) instead|"
        r"instead of morning|"
        r"(?:la|lo) (?:bajamos|subimos|debo dejar|puedo bajar|puedo subir|podemos bajar)|bajar(?:la)? la dosis|"
        r"subir(?:la)? otra vez|otra medicina|dejar(?:la)?\?|earlier or lower|lower the dose|can i take it earlier|"
        r"do i need to stop|should i stop|can i just stop|should we (?:change|switch|lower|increase|go|try)|"
        r"restart at|try (?:a )?medication|should i (?:keep|go) (?:going|up|on)|take (?:the whole|all) (?:dose|"
        r"of it) at "
        r"night|instead of dividing|la dosis en la noche)\b")),
    ("cq-generic", _c(
        r"\b(?:is it|is that|is this|would it be|will it be|would that be) (?:ok|okay|safe|bad|dangerous|normal|"
        r"possible|worth|"
        r"a problem)\b|\bis (?:it|that|this) (?:normal|weird|bad|dangerous|a bad sign|a thing)\b|\bis this a thing\b")),
    ("cq-safety", _c(
        r"\b(?:can|could|should) i (?:take|drink|use|mix|split|crush|keep|be|still|start|"
        r"stop)\b(?: \S+){0,5}? (?:with|on|while|"
        r"together|alongside|instead|concerned|worried|weekends|breaks)\b|\bis (?:it|that|this) (?:normal|"
        r"a side effect|the "
        r"(?:med|meds|medicine|medication|lithium|depression|anxiety|\w+ine|\w+am)|ocd|adhd|ptsd|depression|anxiety|"
        r"bipolar|"
        r"dangerous|bad|an emergency|a panic attack|sundowning|trauma|grief|dissociation|related|weird|a bad sign)\b|"
        r"\bside effects?\b|\bserotonin syndrome\b|\bshould (?:i|we|he|she) (?:be (?:worried|concerned)|go (?:to|"
        r"somewhere|in)|"
        r"stop|keep|take|try|switch|see|get|wait|talk|skip|lower|increase|call|be talking|be seeing|restart|just)\b|"
        r"\bwhat (?:should|do|can) (?:i|we) do\b|\bwhat do i do\b|\bque (?:hago|debo hacer|hacemos|puedo hacer)\b|"
        r"\bes normal\b|\bes por la medicina\b|\bes (?:grave|cierto|adictiv\w+)\b|\bpuedo tomar\b|\b(?:debo|"
        r"deberia) tomar\b|"
        r"\bhay (?:otra|alguna) medicina\b|\bes un efecto\b|\bla debo dejar\b|\bse la podemos\b|"
        r"\bis (?:\w+ )?ok to use with\b|"
        r"\bwhat would happen\b|\bwhat would the symptoms be\b|\bhow many \w+ is too many\b|\bhow much is too much\b|"
        r"\bdoes being on\b|\bwould (?:that|it) be a problem with\b|\bdoes it count as\b|\bhow (?:many|"
        r"much)(?: \S+){0,6}? "
        r"(?:would it take|to not wake up|is lethal)\b|\bwill it kill me\b|\bdose where \w+ becomes toxic\b|"
        r"\bbecomes toxic\b|\btell me what to do\b|\bno se si ir al hospital\b|\bshould i go to the (?:er|hospital)\b|"
        r"\bis (?:that|this|it) (?:withdrawal|mania|psychosis|a relapse|an overdose)\b|\bgo slower\b|"
        r"\bcan i (?:start|stop|keep) (?:taking )?\w+|\bis there (?:a |an |any )?(?:\S+ ){0,2}(?:option|shot|"
        r"medication|"
        r"medicine|treatment|pill|something (?:i can take|for|else|besides))\b|\bsomething i could switch to\b|"
        r"\bwould something else (?:work|help)\b|\bis it safe\b")),
    ("cq-diagnosis", _c(
        r"\b(?:do (?:you think )?i have (?!to\b|a right|the right)|do you think (?:i|he|she|my|this|it|that)|"
        r"could (?:my|this|it|that|i|he|she)(?: \w+){0,2} be|(?:wondering|wonder|think) if i (?:have|might have|"
        r"could have)|"
        r"screening|tell the difference|how to (?:ask|talk to|support|help|tell) (?:him|her|them|my)|"
        r"is (?:this|that|it) the \w+ thing|talk about (?:switching|changing|going up|lowering|a med|whether)|"
        r"would (?:\w+ ){1,3}be better (?:for|than)|should i (?:work on|stick to)|ready for the|"
        r"am i (?:bipolar|a narcissist|depressed|autistic)|am i\?|is (?:this|that|it) (?:adhd|ocd|ptsd|autism|"
        r"depression|bipolar|"
        r"grief|trauma)|(?:should|could) (?:he|she|i|we) (?:be evaluated|get (?:him|her|me) evaluated|be tested)|"
        r"evaluated for|"
        r"tested for|is that something (?:we|you) (?:can test|should be working)|is there (?:a )?(?:test|medication|"
        r"medicine|something)|"
        r"would (?:it|therapy|\w+ therapy|that|i|group therapy|couples|\w+) (?:help|be better|work|qualify)|"
        r"is it worth (?:it|trying)|worth trying|any tips|tips\?|coping strategies|how (?:do|can|should|"
        r"would) i (?:even )?"
        r"(?:support|talk|handle|help|tell|know|cope|deal|answer|stop|act)|not sure how to (?:support|help|talk|"
        r"handle)|"
        r"how do i know if|what signs|is there anything (?:we|i) should|can (?:anxiety|stress|therapy|"
        r"depression) (?:cause|make)|"
        r"why do i keep|what'?s the difference between (?:anxiety|a panic|depression|grief|ocd|adhd|bipolar|"
        r"\w+ and (?:a )?"
        r"(?:panic|anxiety|depression|ocd))|sera (?:depresion|trauma)|eso es trauma|necesita medicina|"
        r"como se si|es (?:depresion|ansiedad|trauma)|ustedes ven eso|should i see somebody|should i go somewhere|"
        r"do i need to be on|would i qualify|need to go to the er|take (?:him|her) (?:in|to the er)|call 911|"
        r"(?:could|is) (?:this|that|it|my \w+)(?: \S+){0,4}? (?:related to|caused by|from (?:my|the))|"
        r"does the difference matter|"
        r"can therapy make|is that weird|should (?:we|i) be talking to|long.term|make things worse)\b")),
)
# A clinical question is asked ("?", "can I", "should we"), and it is about health, not a form or a parking lot.
CQ_FRAME = _c(r"\?|\b(?:can|could|should|would|will|do|does|is|am|are) (?:i|we|you|u|he|she|it|this|that|they)\b|"
              r"\b(?:i want to|i'?d like to|wondering|want to know|please|maybe we|thinking (?:about|of)|let'?s|"
              r"can we)\b|"
              r"\b(?:que hago|puedo|debo|que debo|no se si|not sure how|don'?t know how to|tell me what)\b")
CLINICAL = _c(
    rf"\b(?:{MEDS}|dose|doses|side effects?|symptoms?|anxiety|anxious|depress\w*|panic|sleep\w*|diagnos\w*|therapy|ocd|"
    r"adhd|ptsd|bipolar|mood|flashbacks?|nightmares?|tantrums?|autis\w*|trauma|grief|thoughts?|dissociat\w*|evaluat\w*|"
    r"tested|level|drink\w*|alcohol|weed|pregnan\w*|periods?|tremors?|shak\w*|dizzy|weight|crying|irritable|nervous|"
    r"worse|hear\w*|voices|dementia|confus\w*|eat\w*|behavior|narcissist|non-?binary|emdr|ketamine|vaping|nicotine|"
    r"cleanse|supplements?|omega|vitamin|depresion|ansiedad|medicina|pastillas?|dosis|pesadillas?|trauma|suicid\w*|"
    r"feel\w*|exposures?|cry|memory|remember|checking|brain|zaps?|tired|jittery|groggy|sleepy|stiff|fever|rash|"
    r"heart|chest|breath\w*|seizure|dreams?|appetite|mutismo|agresivo|olvidadiz\w*|sundowning|urges?|cut\w*|blood|"
    r"razor|die|dying|kill\w*|hurt\w*|overdos\w*|hospital|er|psychiatr\w*|therap\w*|counsel\w*|coping|stress|angry|"
    r"anger|psychotic|genetic|crisis|lloro|siento|peor|terapia|cortar\w*|navaja|morir|matar|dbt)\b")

# A clinical question that is only a reminder of what was already prescribed.
INSTR_RECALL = _c(
    r"\b(?:remind me|was it\b|did you say|you said (?:to|it|the|\d|not|at first)|like you said|(?:the|my) (?:doctor|"
    r"nurse)"
    r" (?:said|told)|just to (?:be sure|double.?check|confirm)|make sure i understood|the (?:bottle|paper|label|"
    r"instructions?)"
    r" (?:says|said)|as directed|i forgot (?:what|if|how|which)|se me olvido|me recuerda|no me acuerdo|supposed to|"
    r"you told me once|i think you told me|right\?|the plan was|me explico|me dijo que|as you said)")

# Thanks, news, complaints: the plain "other" purpose (used to keep a thanks from reading as information).
OTHER_CUES = _c(
    r"\b(?:thank|thanks|thx|ty|gracias|congrat\w*|happy (?:birthday|holidays|new year|thanksgiving)|feliz|good news|"
    r"guess what|i got the (?:job|apartment)|just wanted to (?:say|share|tell|let)|update:|quick update|complain\w*|"
    r"queja)\b")
