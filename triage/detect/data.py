"""The labelled messages under models/data/: reading them, reconciling the two writers, grouping copies.

Reading is shared by `train` (which never opens test.jsonl) and `evaluate` (the only reader of test.jsonl).

Two writers labelled the training files. They agree on the README rules except in two places, which are
reconciled here, in code, so that the models learn one rule (see `reconcile`):

1. Crisis messages with something else buried in them ("can we move to Wednesday? also I've been burning
   myself again..."). README: `other` includes "crisis messages whose main point is the crisis". train-a
   labels almost all of them `other`; train-b often labels them with the buried purpose. Mapping: an
   emergent message's purpose is `other`. (`clinical_question`, the boolean, is kept: it is true whenever
   any part asks for advice.)
2. Rights requests that are the message's business (purpose `information` or `other`, no scheduling or
   clinical part). Both writers label access and accounting requests `information` (the client asks to be
   given something: records, a list of disclosures) and confidential-communication requests `other`;
   train-b labels some amendment and restriction requests `information`. Mapping: `information` when the
   set includes access or accounting, else `other`.

Copies: train-b lists its variants in train-b.variants.tsv; train-a's 180 noisy copies are not listed and
are found by similarity of the new text (`groups`). Cross-validation keeps each group in one fold.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triage.detect import EMERGENT_KINDS, PURPOSES, RIGHTS, Text
from triage.errors import TriageError

TEST_NAME = "test.jsonl"
COPY_SIMILARITY = 0.6  # cosine of character n-grams of the new text above which two messages are one group


class DataError(TriageError):
    """The labelled data cannot be used (missing, malformed, or the held-out test split)."""


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: Text
    emergent: bool
    emergent_kind: str
    rights: tuple[str, ...]  # in RIGHTS order
    purpose: str  # reconciled (see `reconcile`)
    purpose_raw: str  # as the writer labelled it
    clinical_question: bool
    hard_negative: str
    lang: str


def refuse_test(path: Path) -> None:
    """Training and tuning never read the held-out split."""
    if path.name == TEST_NAME:
        raise DataError(f"{path}: {TEST_NAME} is the held-out test split; no training step may read it "
                        "(only `triage evaluate` does)")


def training_files(data: Path) -> list[Path]:
    """The training files of a directory (train-*.jsonl), or the one file given. Never test.jsonl."""
    refuse_test(data)
    if data.is_dir():
        files = sorted(p for p in data.glob("*.jsonl") if p.name != TEST_NAME)
        if not files:
            raise DataError(f"{data}: no training files (*.jsonl other than {TEST_NAME})")
        return files
    if not data.is_file():
        raise DataError(f"{data}: no such file or directory")
    return [data]


def variant_files(data: Path) -> list[Path]:
    folder = data if data.is_dir() else data.parent
    return sorted(folder.glob("*.variants.tsv"))


def reconcile(row: dict[str, object]) -> str:
    """The purpose under the README rules (module docstring): deterministic, from the row's own labels."""
    purpose = str(row.get("purpose") or "other")
    rights = set(row.get("hipaa_rights") or ())  # type: ignore[call-overload]
    if row.get("emergent"):
        return "other"
    if rights and purpose in ("information", "other"):
        return "information" if rights & {"access", "accounting"} else "other"
    return purpose


def read_examples(path: Path) -> list[Example]:
    """One file of labelled messages. Raises DataError naming the file and line of a bad row."""
    examples = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            examples.append(_example(row))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}:{n}: bad row: {type(exc).__name__}: {exc}") from None
    return examples


def _example(row: dict[str, object]) -> Example:
    rights = set(row["hipaa_rights"])  # type: ignore[call-overload]
    kind = str(row.get("emergent_kind") or "")
    purpose = str(row["purpose"])
    if not rights <= set(RIGHTS) or purpose not in PURPOSES or (kind and kind not in EMERGENT_KINDS):
        raise ValueError("label outside the vocabulary")
    lang = str(row.get("lang") or "")
    text = Text.from_body(str(row.get("subject") or ""), str(row["body"]), "es" if lang == "es" else "")
    return Example(str(row["id"]), text, bool(row["emergent"]), kind, tuple(r for r in RIGHTS if r in rights),
                   reconcile(row), purpose, bool(row["clinical_question"]), str(row.get("hard_negative") or ""),
                   lang)


def digest(paths: Sequence[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def groups(examples: Sequence[Example], variant_maps: Sequence[Path] = ()) -> np.ndarray:
    """A group number per example: a variant or noisy copy shares its original's group.

    Listed variants (``*.variants.tsv``: variant, original) are joined, then any two messages whose new
    texts are near copies (character n-gram cosine >= COPY_SIMILARITY). Deterministic."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from triage.detect.features import normalize

    index = {e.id: i for i, e in enumerate(examples)}
    parent = list(range(len(examples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    for path in variant_maps:
        with path.open(encoding="utf-8", newline="") as fh:
            for rec in csv.DictReader(fh, delimiter="\t"):
                i, j = index.get(rec.get("variant", "")), index.get(rec.get("original", ""))
                if i is not None and j is not None:
                    union(i, j)
    docs = [normalize(f"{e.text.subject} {e.text.new_text}") for e in examples]
    if len(docs) > 1:
        x = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False).fit_transform(docs)
        for start in range(0, len(docs), 512):  # blocks of rows keep memory small
            sim = (x[start:start + 512] @ x.T).toarray()
            rows, cols = np.nonzero(sim >= COPY_SIMILARITY)
            for i, j in zip(rows + start, cols, strict=True):
                if i < j:
                    union(int(i), int(j))
    roots = [find(i) for i in range(len(examples))]
    numbers = {r: n for n, r in enumerate(dict.fromkeys(roots))}
    return np.array([numbers[r] for r in roots])
