"""Sentences and ConText-style modifiers for the rule detector. Pure; regexes compiled at import.

The idea is medspaCy's ConText (Harkema et al. 2009), written small: a concept found in a sentence
(a crisis phrase, say) is *modified* by trigger words near it in the same sentence or clause:

- negation ("not", "no thoughts of", "nunca") before it in its clause, or a resolution after it
  ("... are gone", "... passed");
- history ("used to", "years ago", "in 2019", "hace años"), unless the sentence also says now/tonight/again;
- hypothesis ("if I ever", "what happens if", "hypothetically", "si algún día");
- a joke or idiom marker in the sentence ("lol", "haha", "jk"), unless "not joking";
- OCD insight anywhere in the message ("I know it's the OCD", "I would never").

All matching is on a *normalized* copy of the text with exactly the same length as the original
(lower case, accents folded, curly quotes straightened), so an offset found in the copy is an offset
in the original and evidence can be quoted in the sender's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Sentence",
    "clause_start",
    "current",
    "historical",
    "hypothetical",
    "insight",
    "joking",
    "mask_idioms",
    "negated",
    "normalize",
    "not_joking",
    "split_sentences",
]

# One character in, one character out: offsets in the normalized text are offsets in the original.
_FOLD = str.maketrans({
    "á": "a", "à": "a", "â": "a", "ä": "a", "ã": "a", "é": "e", "è": "e", "ê": "e", "ë": "e",
    "í": "i", "ì": "i", "î": "i", "ï": "i", "ó": "o", "ò": "o", "ô": "o", "ö": "o", "õ": "o",
    "ú": "u", "ù": "u", "û": "u", "ü": "u", "ñ": "n", "ç": "c",
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2014": "-", "\u2013": "-", "\u00a0": " ", "\u200b": " ",
})


def normalize(text: str) -> str:
    """Lower case, accents folded, quotes straightened; same length as `text`."""
    low = text.lower()
    if len(low) != len(text):  # a few characters (U+0130) lower-case to two: keep their first
        low = "".join(ch.lower()[:1] or ch for ch in text)
    return low.translate(_FOLD)


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int  # offsets in the text the sentence was cut from
    end: int
    norm: str  # the normalized sentence (same length as the original slice)
    index: int  # position in the message


# A sentence ends at . ! ? (or runs of them, or an ellipsis) followed by space, at a line that looks
# finished, or at a blank line. A long line without final punctuation is taken as wrapped text.
_END = re.compile(r"[.!?]+(?=\s|$)|\n")
_WRAP = 60  # a line at least this long with no final punctuation continues on the next line


def split_sentences(norm: str, limit: int = 400) -> list[Sentence]:
    """Sentences of normalized text, at most `limit` of them (the rest of a huge message is skipped)."""
    out: list[Sentence] = []
    start = 0
    n = len(norm)
    for m in _END.finditer(norm):
        if m.group() == "\n":
            line_start = norm.rfind("\n", 0, m.start()) + 1
            line = norm[line_start:m.start()].rstrip()
            nxt = norm[m.end():m.end() + 1]
            if len(line) >= _WRAP and line[-1:].isalnum() and nxt not in ("\n", ""):
                continue  # wrapped line: the sentence goes on
        end = m.end()
        _add(out, norm, start, end)
        start = end
        if len(out) >= limit:
            return out
    if start < n:
        _add(out, norm, start, n)
    return out


def _add(out: list[Sentence], norm: str, start: int, end: int) -> None:
    piece = norm[start:end]
    stripped = piece.strip()
    if not stripped or not any(c.isalnum() for c in stripped):
        return
    lead = len(piece) - len(piece.lstrip())
    s = start + lead
    e = s + len(stripped)
    out.append(Sentence(s, e, norm[s:e], len(out)))


# --------------------------------------------------------------------------- modifiers

# Clause edges: a negation or a hypothesis does not reach past these.
_CLAUSE = re.compile(r"[,;:()]| - |\b(?:but|however|though|although|except|yet|pero|aunque|sino|and|y)\b")

_NEG = re.compile(
    r"\b(?:not|no|never|nor|without|nothing|none|zero|denied|denies|deny|nunca|ni|sin|tampoco|"
    r"dont|didnt|doesnt|wont|cant|cannot|havent|hasnt|isnt|arent|wasnt|werent|wouldnt|shouldnt|"
    r"no longer|nowhere near)\b|n't\b")
# Negation words that do not negate what follows.
_PSEUDO_NEG = re.compile(
    r"\b(?:not only|no doubt|no matter|not (?:even )?(?:joking|kidding)|no joke|not sure (?:if|why|how|what)|"
    r"don'?t know (?:if|why|how|what|who|where|whether)|no se (?:si|por que|que|como)|not just (?:a )?thoughts?|"
    r"can'?t stop|cannot stop|no puedo (?:mas|parar|dejar)|no one|nobody|not anymore|not (?:even )?close|"
    r"don'?t care|didn'?t care|never mind|nevermind|no idea|not (?:a|the) (?:plan|trip)|"
    r"can'?t (?:take|do|handle|stand) (?:it|this)|not like|don'?t see the point|not sure i'?ll|haven'?t done anything|"
    r"don'?t know what to do|no se que hacer|not even|nothing (?:else|left)|can'?t make (?:myself|them))\b")
_NEG_WINDOW = 32  # characters before a concept in which a negation counts (about five words)

# A resolution after the concept: "the thoughts about jumping are gone", "the urges passed".
_RESOLVED = re.compile(
    r"^[^.!?]{0,40}?\b(?:(?:is|are|was|were|have|has|had)(?: all| finally)? (?:gone|passed|over|stopped|better)|"
    r"went away|came and went|passed after|se (?:fueron|pasaron|quito)|ya paso)\b")

_HISTORY = re.compile(
    r"\b(?:used to|years? ago|long time ago|(?:when|since) (?:i|he|she) (?:was|were) (?:a |in |little|young|"
    r"younger|\d+|a teen)|as a (?:kid|teen|teenager|child)|in (?:19|20)\d\d|back in|last (?:year|christmas|"
    r"spring|summer|fall|winter|thanksgiving|semester)|in my (?:teens|twenties|20s|30s|youth)|anniversary|"
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|a few|several) (?:years|yrs|decades)(?: ago| since|"
    r" clean| sober)?|"
    r"(?:\d+|one|two|three|four|five|six) months (?:ago|since|clean)|it'?s been (?:\d+|over a|about|almost) \w+ since|"
    r"haven'?t (?:done it|cut|self.?harmed|hurt myself|had (?:one|an? (?:episode|attempt))) (?:in|for|since)|"
    r"old (?:scars?|journals?|records|discharge|hospital)|the scars|history of|in the past|before we met|"
    r"my (?:last|previous|first|old) (?:attempt|hospitalization|overdose|therapist)|since my (?:attempt|overdose)|"
    r"hace (?:\w+ )?(?:anos|meses|tiempo)|cuando (?:era|tenia|estaba)|el ano pasado|"
    r"(?:that|it) was (?:over |about |almost |like )?(?:\d+|a long time|years|ages|a while|decades|\w+ years)|"
    r"(?:i|he|she) tried to (?:kill|hang|end|overdose|take my|jump)|(?:at|age) (?:1[0-9]|[2-9]\d)(?! ?(?:am|pm|:|"
    r"o'?clock|min))|"
    r"when (?:my |his |her )?\w+ was (?:a kid|little|young|a teen)|(?:my|the|his|her) (?:suicide )?attempt\b|"
    r"after my (?:overdose|attempt|hospitalization))\b")
_CURRENT = re.compile(
    r"\b(?:tonight|tonite|right now|today|this (?:morning|afternoon|evening|week|weekend)|just now|again|"
    r"currently|at the moment|lately|these days|ahorita|ahora mismo|esta noche|hoy|otra vez|todavia|"
    r"still|all day|now)\b")
# "now" alone is a weak sign of the present: "i'm 34 now", "i'm safe now" are about calm history.
_WEAK_NOW = re.compile(r"\b(?:i'?m|im|i am|he'?s|she'?s|they'?re|its|it'?s) (?:\w+ ){0,3}now\b|\bnow (?:i'?m|im)\b")

_HYPOTHESIS = re.compile(
    r"\b(?:if (?:i|you|someone|somebody|anyone|anybody|a (?:client|person|patient|friend|kid)|my \w+|he|she|they|we)"
    r"(?: \w+)? (?:ever|were to|did|said|told|tell|wanted|says|tells|decide|decides|started|start|felt)|"
    r"if (?:i|someone|my \w+) (?:ever )?(?:got|get) (?:really )?(?:bad|worse|sick|suicidal|that bad)|"
    r"if you(?:'re| are) (?:experiencing|having|feeling|in crisis|thinking|struggling)|"
    r"if someone|if anyone|what if|what (?:happens|would happen)|hypothetical(?:ly)?|in case|"
    r"would (?:you|it|that) (?:have to|need to|be)|do you have to (?:report|call|tell)|say i wanted|"
    r"for (?:my|a|our) (?:class|paper|story|essay|assignment|project|book|novel)|si (?:algun dia|alguien|un dia)|"
    r"asking for (?:a friend|my own knowledge))\b")

_JOKE = re.compile(r"\blo+l\b|\blmao\b|\blmfao\b|\bha(?:ha)+h?\b|\bhehe\b|\bjk\b|\bja(?:ja)+\b|\bkidding\b|"
                   r"\U0001F602|\U0001F923|\U0001F480|\U0001F605|\U0001F644")
_NOT_JOKE = re.compile(r"\bnot (?:even )?(?:joking|kidding)|\bno joke\b|\bdead serious\b|\bfor real\b|"
                       r"\bi'?m serious\b|\bseriously\b(?! though)|\bno es broma\b|\bhablo en serio\b")

_INSIGHT = re.compile(
    r"\b(?:ocd|toc|intrusive|ego.?dystonic|erp|exposure (?:log|plan|homework|hierarchy|#)|call of the void|"
    r"i would never|i'?d never|i would not ever|never (?:act|do) (?:on )?(?:it|that|anything)|nunca le haria|"
    r"(?:not|aren'?t|isn'?t) (?:a |my )?(?:real )?(?:desires?|wish(?:es)?|what i want)|"
    r"know (?:it'?s|they'?re|that'?s) (?:not real|the (?:ocd|anxiety)|intrusive|just)|brain (?:being a jerk|misfiring)|"
    r"thank you brain|horrif(?:ies|ied|ying)|makes? me (?:feel )?sick|se que es (?:el toc|la ansiedad))\b")

# Idioms and figures of speech that use crisis words harmlessly. Their spans are blanked out of the
# normalized text before any concept is matched (same length: offsets stay put).
_IDIOMS = re.compile(
    r"\bdying (?:to|for|over|of|here)\b|\bto die for\b|\bdie (?:of|from) (?:embarrassment|shame|laughing|boredom)|"
    r"\bdied (?:laughing|of laughter)\b|\b(?:is|are|was|were|'s|s|been) killing (?:me|it|my)\b|\bkilling it\b|"
    r"\bkill(?:s|ed|ing)? (?:two birds|time)\b|"
    r"\b(?:boss|teacher|coach|mom|mother|dad|sister|brother|parents|family|wife|girlfriend|supervisor|manager)"
    r"(?:'s| is| are)? (?:going to|gonna|would|will|'ll) (?:literally )?(?:kill|murder) me\b|\bwants? me dead\b|"
    r"\bcould (?:kill|murder|strangle)\b|\bkiller\b|\bdead tired\b|\bdead from\b|\bliterally dead\b|"
    r"\b(?:i'?m|im|so) (?:so )?dead\b(?! serious)|\bbored (?:i could die|to death)|\b(?:rather|'d rather) die than\b|"
    r"\b(?:phone|battery|car|laptop|tablet|charger|computer) (?:is |was )?(?:dying|died|dead)\b|"
    r"\bmakes? me want to (?:die|jump|kill|scream|cry)|\bearly grave\b|\bdeath of me\b|\bheart attack\b|"
    r"\bme muero de\b|\bme mata (?:este|el|la|esta)\b|\bestoy que me muero\b|\bnearly (?:died|killed)\b|"
    r"\bscared to death\b|\bto death\b|\bdrop dead\b|\bshoot me\b|\bmurder (?:a|for)\b|\bwas murder\b|"
    r"\bswallow me whole\b|\b(?:traffic|parking|work|school|this|that) (?:was|is) murder\b|\blose my mind haha\b|"
    r"\bkill(?:ing)? (?:the|my) (?:mood|vibe|buzz)\b|\bover my dead body\b|\bdeadline\b|\bdead ?name\b")


def mask_idioms(norm: str) -> str:
    """The normalized text with idiom spans blanked (same length)."""
    if not _IDIOMS.search(norm):
        return norm
    return _IDIOMS.sub(lambda m: " " * len(m.group()), norm)


def clause_start(text: str, pos: int) -> int:
    """Where the clause holding `pos` starts (after the last comma, "but", "and"...). Only the 200 characters
    before `pos` are looked at: every caller looks at most that far back anyway, and it keeps this linear."""
    lo = max(0, pos - _LOOKBACK)
    start = lo
    for m in _CLAUSE.finditer(text, lo, pos):
        start = m.end()
    return start


_LOOKBACK = 200


def negated(sentence: str, start: int, end: int, inside: bool = False) -> bool:
    """A negation before the concept in its clause (about six words), or (`inside`) within the matched
    phrase itself ("i'm not suicidal"), or a resolution after it ("the thoughts ... are gone")."""
    lo = max(clause_start(sentence, start), start - _NEG_WINDOW)
    scope = sentence[lo:end - 1] if inside else sentence[lo:start]
    for m in _NEG.finditer(scope):
        if not _pseudo_around(scope, m.start()):
            return True
    return bool(_RESOLVED.match(sentence, end))


def _pseudo_around(text: str, pos: int) -> bool:
    # a pseudo-negation may start a word or two before the negation word ("i don't know if")
    lo = max(0, pos - 8)
    return any(m.start() <= pos < m.end() for m in _PSEUDO_NEG.finditer(text, lo, min(len(text), pos + 40)))


def historical(sentence: str) -> bool:
    """The sentence tells calm history and says nothing of now."""
    if not _HISTORY.search(sentence):
        return False
    for m in _CURRENT.finditer(sentence):
        if m.group() == "now" and _WEAK_NOW.search(sentence):
            continue
        return False
    return True


def current(sentence: str) -> bool:
    return bool(_CURRENT.search(sentence))


def hypothetical(sentence: str, start: int) -> bool:
    """A hypothesis trigger before the concept in the same sentence."""
    return bool(_HYPOTHESIS.search(sentence, 0, start))


def joking(sentence: str) -> bool:
    return bool(_JOKE.search(sentence)) and not _NOT_JOKE.search(sentence)


def not_joking(sentence: str) -> bool:
    """'not even joking', 'for real': the sentence says the one before was meant."""
    return bool(_NOT_JOKE.search(sentence))


def insight(text: str) -> bool:
    """OCD-style insight anywhere in the message: the thought is unwanted and recognised as such."""
    return bool(_INSIGHT.search(text))
