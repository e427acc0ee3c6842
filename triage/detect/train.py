"""`triage train`: rebuild every model from the labelled data, reproducibly, and write them with skops.

Steps (fixed seeds, one thread, no clock: the same data gives the same files byte for byte):

1. Read the training files of the data folder (never test.jsonl: refused by name), reconcile the two
   writers' purpose labels (data.reconcile) and group each copy or variant with its original (data.groups).
2. Grouped, stratified 5-fold cross-validation: in each fold the features and all heads are fitted on
   four fifths and score the fifth. The out-of-fold scores give the emergent calibration (Platt), every
   threshold (emergent: the highest whose recall reaches TARGET_RECALL; rights and clinical question:
   best F1) and the cross-validation figures written to the manifest. The models read text only (the
   rule-based detector, written from these same messages, is combined with them at assessment time, see
   model.py), so these out-of-fold figures are honest.
3. Features and heads fitted on all the training data, written as features.skops and heads.skops, with
   manifest.json: their sha256, the scikit-learn version, thresholds, calibration, data digests, figures.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triage.detect import PURPOSES, RIGHTS, Detection
from triage.detect.data import DataError, Example, digest, groups, read_examples, training_files, variant_files
from triage.detect.features import FeatureSpace
from triage.detect.heads import HEAD_BLOCKS, SEED, HeadParams, Heads, Labels, Scores, fit_platt
from triage.detect.model import FILES, FLOOR_KINDS, FLOOR_SCORE, MANIFEST, TRUSTED_TYPES, write_artifact

log = logging.getLogger(__name__)

FOLDS = 5
TARGET_RECALL = 0.98  # emergent: recall reached on out-of-fold scores at the chosen threshold
_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)


@dataclass(frozen=True, slots=True)
class OutOfFold:
    """Every example scored by the fold that did not train on it."""

    decision: np.ndarray
    kind: np.ndarray  # str: the kind head's choice ("" when the fold had no kind head)
    rights: np.ndarray
    purpose: np.ndarray  # n x len(PURPOSES)
    clinical: np.ndarray


def labels(examples: Sequence[Example]) -> Labels:
    return Labels(
        emergent=np.array([e.emergent for e in examples], dtype=bool),
        kind=np.array([e.emergent_kind for e in examples], dtype=object),
        rights=np.array([[r in e.rights for r in RIGHTS] for e in examples], dtype=bool).reshape(-1, len(RIGHTS)),
        purpose=np.array([e.purpose for e in examples], dtype=object),
        clinical=np.array([e.clinical_question for e in examples], dtype=bool),
    )


def _folds(y: np.ndarray, group: np.ndarray, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=SEED)
    return list(cv.split(np.zeros(len(y)), y, group))


def _place(scores: Scores) -> tuple[np.ndarray, np.ndarray]:
    """Purpose probabilities in PURPOSES order, and the kind chosen (a fold may lack a class)."""
    purpose = np.zeros((len(scores.emergent), len(PURPOSES)))
    for j, name in enumerate(scores.purposes):
        purpose[:, PURPOSES.index(name)] = scores.purpose[:, j]
    if scores.kinds:
        kind = np.array([scores.kinds[k] for k in np.argmax(scores.kind, axis=1)], dtype=object)
    else:
        kind = np.full(len(scores.emergent), "", dtype=object)
    return purpose, kind


def cross_validate(examples: Sequence[Example], group: np.ndarray, params: HeadParams,
                   folds: int = FOLDS) -> OutOfFold:
    y = labels(examples)
    n = len(examples)
    oof = OutOfFold(np.zeros(n), np.full(n, "", dtype=object), np.zeros((n, len(RIGHTS))),
                    np.zeros((n, len(PURPOSES))), np.zeros(n))
    texts = [e.text for e in examples]
    for train_idx, test_idx in _folds(y.emergent, group, folds):
        space = FeatureSpace.fit([texts[i] for i in train_idx])
        heads = Heads.fit(space.transform([texts[i] for i in train_idx]), y.subset(train_idx), params, space.slices)
        scores = heads.scores(space.transform([texts[i] for i in test_idx]))
        purpose, kind = _place(scores)
        oof.decision[test_idx] = scores.decision
        oof.kind[test_idx] = kind
        oof.rights[test_idx] = scores.rights
        oof.purpose[test_idx] = purpose
        oof.clinical[test_idx] = scores.clinical
    return oof


def emergent_threshold(p: np.ndarray, y: np.ndarray, target: float = TARGET_RECALL) -> float:
    """The highest threshold whose recall reaches target: the fewest false alarms at that recall."""
    positives = max(int(y.sum()), 1)
    best = 0.0
    for t in np.unique(np.round(p, 6)):
        if ((p >= t) & y).sum() / positives >= target:
            best = float(t)
        else:
            break
    return best


def best_f1_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The threshold of best F1 on the grid; 0.5 when there are no positives. Ties: nearest to 0.5."""
    if not y.any():
        return 0.5
    best, best_f1 = 0.5, -1.0
    for t in sorted(_GRID, key=lambda t: abs(t - 0.5)):
        pred = p >= t
        tp = int((pred & y).sum())
        f1 = 2 * tp / (int(pred.sum()) + int(y.sum())) if tp else 0.0
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return best


def oof_detections(oof: OutOfFold, calibration: tuple[float, float], thresholds: dict[str, float]) -> list[Detection]:
    """What the trained models alone would have said for each training example, from out-of-fold scores."""
    a, b = calibration
    p = 1.0 / (1.0 + np.exp(-np.clip(a * oof.decision + b, -50, 50)))
    out = []
    for i in range(len(p)):
        emergent = bool(p[i] >= thresholds["emergent"])
        purpose = PURPOSES[int(np.argmax(oof.purpose[i]))]
        rights = tuple(r for k, r in enumerate(RIGHTS) if oof.rights[i, k] >= thresholds[r])
        clinical = bool(oof.clinical[i] >= thresholds["clinical_question"]) or purpose == "clinical_question"
        out.append(Detection(emergent, float(p[i]), str(oof.kind[i]) if emergent else "", rights, purpose, clinical,
                             (), "cross-validation"))
    return out


def train(data: Path, out: Path, *, params: HeadParams | None = None, folds: int = FOLDS,
          target_recall: float = TARGET_RECALL) -> dict[str, object]:
    """Rebuild the models from the training data under `data` into `out`; returns the manifest written."""
    from threadpoolctl import threadpool_limits

    from triage.detect.evaluate import metrics

    params = params or HeadParams()
    files = training_files(data)  # refuses test.jsonl
    maps = variant_files(data)
    examples = [e for f in files for e in read_examples(f)]
    ids = [e.id for e in examples]
    if len(set(ids)) != len(ids):
        raise DataError(f"{data}: duplicate ids across the training files")
    started = time.perf_counter()
    with threadpool_limits(limits=1):  # one core, and bit-for-bit the same sums every time
        group = groups(examples, maps)
        y = labels(examples)
        oof = cross_validate(examples, group, params, folds)
        calibration = fit_platt(oof.decision, y.emergent)
        a, b = calibration
        p = 1.0 / (1.0 + np.exp(-np.clip(a * oof.decision + b, -50, 50)))
        thresholds = {"emergent": emergent_threshold(p, y.emergent, target_recall)}
        thresholds.update({r: best_f1_threshold(oof.rights[:, k], y.rights[:, k]) for k, r in enumerate(RIGHTS)})
        thresholds["clinical_question"] = best_f1_threshold(oof.clinical, y.clinical)
        cv_figures = metrics(examples, oof_detections(oof, calibration, thresholds))
        # The manifest keeps the figures and the missed emergent ids, not every false alarm's id.
        cv_figures["emergent"]["false_positives"] = [x for x in cv_figures["emergent"]["false_positives"]  # type: ignore[index]
                                                     if x["hard_negative"]]
        cv_figures["rights"].pop("wrong")  # type: ignore[attr-defined]
        texts = [e.text for e in examples]
        space = FeatureSpace.fit(texts)
        heads = Heads.fit(space.transform(texts), y, params, space.slices)
    out.mkdir(parents=True, exist_ok=True)
    digests = {"features.skops": write_artifact(space.state(), out / "features.skops"),
               "heads.skops": write_artifact(heads.state(), out / "heads.skops")}
    assert tuple(digests) == FILES
    import sklearn
    import skops

    manifest: dict[str, object] = {
        "format": 1,
        "files": digests,
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "numpy_version": np.__version__,
        "python": platform.python_version_tuple()[0] + "." + platform.python_version_tuple()[1],
        "trusted_types": list(TRUSTED_TYPES),
        "data": digest([*files, *maps]),
        "examples": len(examples),
        "groups": len(set(group.tolist())),
        "seed": SEED,
        "folds": folds,
        "target_recall": target_recall,
        "hyperparameters": params.as_dict(),
        "head_blocks": {k: list(v) for k, v in HEAD_BLOCKS.items()},
        "features": {"blocks": [{"name": s.name, "source": s.source, "analyzer": s.analyzer, "ngram": list(s.ngram),
                                 "min_df": s.min_df, "weight": s.weight} for s in space.specs],
                     "n_features": space.n_features},
        "rules": {"combination": "or", "floor_kinds": list(FLOOR_KINDS), "floor_score": FLOOR_SCORE,
                  "note": "the rule-based detector is combined at assessment time (model.py), not trained on"},
        "calibration": {"emergent": {"method": "platt-on-grouped-oof", "a": round(a, 8), "b": round(b, 8)}},
        "thresholds": {k: round(v, 6) for k, v in thresholds.items()},
        "label_mapping": "triage.detect.data.reconcile: emergent -> purpose other; rights-only requests -> "
                         "information when access or accounting is asked for, else other",
        "cross_validation": cv_figures,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    log.info("trained on %d examples in %.1f s", len(examples), time.perf_counter() - started)
    return manifest
