"""Features for the trained detectors: TF-IDF blocks over the parts of a message. Pure.

A message becomes one sparse row made of separate blocks:

- ``new_word`` and ``new_char``: word 1-2-grams and character 2-5-grams (inside word boundaries) of the
  sender's new text. Character n-grams carry typos, missing apostrophes and Spanish inflections that word
  n-grams miss.
- ``subject``: word n-grams of the subject line.
- ``context`` (available, not used by the shipped models): word n-grams of the quoted history and the
  signature, down-weighted, in their own columns, so a quoted crisis could never borrow the weight the
  same words have in the new text.

Each head reads only some blocks (heads.HEAD_BLOCKS): emergent and rights read the new text only, never
the subject, quoted history or signature, so a crisis-line footer or a quoted crisis cannot flag.

The rule-based detector's hits are *not* features: the rules were written from these same training
messages and are right on almost all of them, so a model given them as features learns to trust them
alone, and its cross-validation figures mean nothing. The rules are combined afterwards (model.py).

Fitted vectorizers are kept as plain arrays (terms and idf) and rebuilt on load: a skops file of a fitted
TfidfVectorizer stores its vocabulary as thousands of JSON nodes (20 MB, slow to load); arrays are small
and fast. No vectorizer keeps ``stop_words_`` (the terms it dropped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.detect import Text

MAX_NEW = 20_000  # characters of new text read (a crisis may sit late in a long message)
MAX_SUBJECT = 300
MAX_CONTEXT = 3_000  # quoted history is context only: its beginning is enough
MAX_SENTENCES = 60  # sentences scored for evidence per message

_ACCENTS = str.maketrans({
    "á": "a", "à": "a", "â": "a", "ä": "a", "ã": "a", "é": "e", "è": "e", "ê": "e", "ë": "e",
    "í": "i", "ì": "i", "î": "i", "ï": "i", "ó": "o", "ò": "o", "ô": "o", "ö": "o", "õ": "o",
    "ú": "u", "ù": "u", "û": "u", "ü": "u", "ñ": "n", "ç": "c", "’": "'", "‘": "'", "´": "'", "`": "'",
    "“": '"', "”": '"', "¿": " ", "¡": " ", "\u00a0": " ",
})
_URL = re.compile(r"https?://\S+|www\.\S+")
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_PHONE = re.compile(r"(?:\(?\d{3}\)?[\s.-]*)?\d{3}[\s.-]\d{4}\b")
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")  # don't -> dont: clients write both
_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.MULTILINE)
_QUOTE_MARK = re.compile(r"^\s*>+\s?", re.MULTILINE)


def normalize(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe, placeholders for addresses and numbers of people."""
    s = text.lower().translate(_ACCENTS)
    s = _URL.sub(" xurl ", s)
    s = _EMAIL.sub(" xemail ", s)
    s = _PHONE.sub(" xphone ", s)
    s = _APOSTROPHE.sub("", s)
    return _SPACE.sub(" ", s).strip()


def sentences(text: str) -> list[str]:
    """The sentences (or lines) of a text, as written, for evidence: at most MAX_SENTENCES."""
    found = [m.group(0).strip() for m in _SENTENCE.finditer(text[:MAX_NEW])]
    return [s for s in found if len(s) >= 2][:MAX_SENTENCES]


def _context(text: Text) -> str:
    # Quote marks carry no meaning; the signature is context, like the quoted history.
    quoted = _QUOTE_MARK.sub("", text.quoted_text[:MAX_CONTEXT])
    return f"{text.signature[:500]}\n{quoted}"


SOURCES = {
    "new": lambda t: t.new_text[:MAX_NEW],
    "subject": lambda t: t.subject[:MAX_SUBJECT],
    "context": _context,
}


@dataclass(frozen=True, slots=True)
class BlockSpec:
    """How one block is built: which part of the message, which n-grams, what weight."""

    name: str
    source: str  # a key of SOURCES
    analyzer: str  # "word" or "char_wb"
    ngram: tuple[int, int]
    min_df: int
    weight: float = 1.0
    max_features: int | None = None


# Chosen on cross-validation across the two writers of the training data (see MODEL_CARD.md). A
# down-weighted context block (quoted history and signature, BlockSpec("context", "context", "word", (1, 2),
# 3, 0.3)) was measured and left out: it made every head generalise worse to the other writer, whose
# reply chains and footers differ.
DEFAULT_BLOCKS = (
    BlockSpec("new_word", "new", "word", (1, 2), 2),
    BlockSpec("new_char", "new", "char_wb", (2, 5), 2),
    BlockSpec("subject", "subject", "word", (1, 2), 2, 0.5),
)
_TOKEN_PATTERN = r"(?u)\b\w+\b"  # keep one-letter words: "i" is who is at risk


def _vectorizer(spec: BlockSpec, vocabulary: list[str] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=spec.analyzer, ngram_range=spec.ngram, min_df=spec.min_df,
                           max_features=spec.max_features, lowercase=False, sublinear_tf=True,
                           token_pattern=_TOKEN_PATTERN if spec.analyzer == "word" else None,
                           dtype=np.float64, vocabulary=vocabulary)


class FeatureSpace:
    """Fitted blocks: `transform` turns Texts into one sparse matrix, block after block."""

    def __init__(self, specs: Sequence[BlockSpec], vectorizers: Sequence[TfidfVectorizer]) -> None:
        self.specs = tuple(specs)
        self.vectorizers = tuple(vectorizers)
        sizes = [len(v.vocabulary_) for v in self.vectorizers]
        edges = np.cumsum([0, *sizes])
        names = [s.name for s in self.specs]
        self.slices = {name: slice(int(edges[i]), int(edges[i + 1])) for i, name in enumerate(names)}
        self.n_features = int(edges[-1])

    # ------------------------------------------------------------------ fit and transform

    @classmethod
    def fit(cls, texts: Sequence[Text], specs: Sequence[BlockSpec] = DEFAULT_BLOCKS) -> FeatureSpace:
        vectorizers = []
        for spec in specs:
            v = _vectorizer(spec)
            v.fit(_documents(texts, spec))
            if hasattr(v, "stop_words_"):  # the terms it dropped: a vocabulary nobody needs (older sklearn)
                del v.stop_words_
            vectorizers.append(v)
        return cls(specs, vectorizers)

    def transform(self, texts: Sequence[Text]) -> sp.csr_matrix:
        docs: dict[str, list[str]] = {}  # blocks of one source share its normalized text
        blocks = []
        for spec, v in zip(self.specs, self.vectorizers, strict=True):
            if spec.source not in docs:
                docs[spec.source] = _documents(texts, spec)
            blocks.append(v.transform(docs[spec.source]) * spec.weight)
        return sp.hstack(blocks, format="csr")

    def transform_new(self, parts: Sequence[str], blocks: Sequence[str] | None = None) -> sp.csr_matrix:
        """Rows for pieces of new text alone (sentences, for evidence): only the new-text blocks (or those
        of `blocks`) are filled, the others are empty."""
        out = []
        normalized = [normalize(p) for p in parts]
        for spec, v in zip(self.specs, self.vectorizers, strict=True):
            if spec.source == "new" and (blocks is None or spec.name in blocks):
                out.append(v.transform(normalized) * spec.weight)
            else:
                out.append(sp.csr_matrix((len(parts), len(v.vocabulary_))))
        return sp.hstack(out, format="csr")

    # ------------------------------------------------------------------ persistence as plain arrays

    def state(self) -> dict[str, object]:
        """Plain types and numpy arrays only, for skops."""
        blocks = []
        for spec, v in zip(self.specs, self.vectorizers, strict=True):
            terms = sorted(v.vocabulary_, key=v.vocabulary_.__getitem__)
            blocks.append({
                "name": spec.name, "source": spec.source, "analyzer": spec.analyzer,
                "ngram_min": spec.ngram[0], "ngram_max": spec.ngram[1], "min_df": spec.min_df,
                "weight": spec.weight, "max_features": spec.max_features or 0,
                "terms": np.array(terms, dtype=str), "idf": np.asarray(v.idf_, dtype=np.float64),
            })
        return {"format": 1, "blocks": blocks}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> FeatureSpace:
        if state.get("format") != 1:
            raise ValueError(f"unknown feature format {state.get('format')!r}")
        specs, vectorizers = [], []
        for b in state["blocks"]:  # type: ignore[attr-defined]
            spec = BlockSpec(str(b["name"]), str(b["source"]), str(b["analyzer"]),
                             (int(b["ngram_min"]), int(b["ngram_max"])), int(b["min_df"]), float(b["weight"]),
                             int(b["max_features"]) or None)
            if spec.source not in SOURCES or spec.analyzer not in ("word", "char_wb"):
                raise ValueError(f"unknown block {spec.name!r}")
            v = _vectorizer(spec, [str(t) for t in b["terms"]])
            v.idf_ = np.asarray(b["idf"], dtype=np.float64)
            specs.append(spec)
            vectorizers.append(v)
        return cls(specs, vectorizers)


def _documents(texts: Iterable[Text], spec: BlockSpec) -> list[str]:
    get = SOURCES[spec.source]
    return [normalize(get(t)) for t in texts]
