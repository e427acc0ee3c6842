"""The trained heads over the shared features: fit, score, and the thresholds that turn scores into labels.

One logistic regression per question, each on the same feature row (see features.py):

- emergent: binary, balanced classes; its decision value is calibrated by a Platt sigmoid fitted on
  out-of-fold decision values of grouped cross-validation (what CalibratedClassifierCV(method="sigmoid",
  ensemble=False) does, done by hand so that the folds keep copies with their originals);
- emergent kind: multinomial, on emergent messages only;
- rights: one-vs-rest, one binary model per right, each with its own threshold;
- purpose: multinomial over PURPOSES;
- clinical question: binary, with its own threshold.

Scores are probabilities; thresholds are chosen on out-of-fold probabilities (train.py) and kept in the
manifest with the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from triage.detect import EMERGENT_KINDS, PURPOSES, RIGHTS

SEED = 0
# Which feature blocks each head reads (features.py). Emergent and rights read only the sender's new text:
# the subject and reply chains are where one writer's habits live, and leaving them out generalised better
# to the other writer; it also means a quoted crisis or a footer cannot flag. Purpose and clinical question
# also read the subject ("change of time", "refill").
HEAD_BLOCKS = {
    "emergent": ("new_word", "new_char"),
    "kind": ("new_word", "new_char"),
    "rights": ("new_word", "new_char"),
    "purpose": ("new_word", "new_char", "subject"),
    "clinical": ("new_word", "new_char", "subject"),
}


@dataclass(frozen=True, slots=True)
class HeadParams:
    """Regularisation of each head (inverse strength C), chosen on grouped cross-validation."""

    emergent_c: float = 16.0
    kind_c: float = 4.0
    rights_c: float = 4.0
    purpose_c: float = 1.0
    clinical_c: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.__slots__}  # type: ignore[attr-defined]


def _binary(c: float) -> LogisticRegression:
    # liblinear: fast on wide sparse rows; random_state fixes its coordinate order.
    return LogisticRegression(C=c, class_weight="balanced", solver="liblinear", random_state=SEED, max_iter=1000)


def _multi(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", solver="lbfgs", max_iter=3000)


@dataclass
class Heads:
    emergent: LogisticRegression
    kind: LogisticRegression | None  # None when the training data held fewer than two kinds
    rights: dict[str, LogisticRegression | None]  # None: a right never requested in the data (never predicted)
    purpose: LogisticRegression
    clinical: LogisticRegression
    calibration: tuple[float, float] = (1.0, 0.0)  # Platt: p = sigmoid(a * decision + b)
    thresholds: dict[str, float] = field(default_factory=dict)  # "emergent", "clinical_question", each right
    _cache: tuple[np.ndarray, np.ndarray, dict[str, slice]] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ fit

    @classmethod
    def fit(cls, x: sp.csr_matrix, y: Labels, params: HeadParams, slices: dict[str, slice]) -> Heads:
        """Fit every head; a head sees only its HEAD_BLOCKS (other columns are zero while it is fitted,
        so their weights stay exactly zero and scoring can use the whole row)."""
        xs = {head: _only(x, blocks, slices) for head, blocks in HEAD_BLOCKS.items()}
        emergent = _binary(params.emergent_c).fit(xs["emergent"], y.emergent)
        kind = None
        pos = np.flatnonzero(y.emergent)
        if len(set(y.kind[pos])) >= 2:
            kind = _multi(params.kind_c).fit(xs["kind"][pos], y.kind[pos])
        rights: dict[str, LogisticRegression | None] = {}
        for k, right in enumerate(RIGHTS):
            col = y.rights[:, k]
            rights[right] = _binary(params.rights_c).fit(xs["rights"], col) if 0 < col.sum() < len(col) else None
        purpose = _multi(params.purpose_c).fit(xs["purpose"], y.purpose)
        clinical = _binary(params.clinical_c).fit(xs["clinical"], y.clinical)
        return cls(emergent, kind, rights, purpose, clinical)

    # ------------------------------------------------------------------ score

    def scores(self, x: sp.csr_matrix) -> Scores:
        """Every head's probabilities with one sparse-dense product (what predict_proba computes, without
        its per-call input checks, which cost more than the arithmetic on one message)."""
        weights, bias, parts = self._stacked()
        z = np.asarray(x @ weights) + bias
        n = x.shape[0]

        def cols(name: str) -> np.ndarray:
            return z[:, parts[name]]

        decision = cols("emergent")[:, 0]
        a, b = self.calibration
        emergent = _sigmoid(a * decision + b)
        kind_p, kinds = (np.zeros((n, 0)), [])
        if self.kind is not None:
            kind_p, kinds = _softmax(cols("kind")), [str(c) for c in self.kind.classes_]
        rights = np.zeros((n, len(RIGHTS)))
        for k, right in enumerate(RIGHTS):
            if self.rights[right] is not None:
                rights[:, k] = _sigmoid(cols(right)[:, 0])
        purpose_p = _softmax(cols("purpose"))
        purposes = [str(c) for c in self.purpose.classes_]
        clinical = _sigmoid(cols("clinical")[:, 0])
        return Scores(decision, emergent, kind_p, kinds, rights, purpose_p, purposes, clinical)

    def _stacked(self) -> tuple[np.ndarray, np.ndarray, dict[str, slice]]:
        if self._cache is None:
            models: dict[str, LogisticRegression] = {"emergent": self.emergent, "purpose": self.purpose,
                                                     "clinical": self.clinical}
            if self.kind is not None:
                models["kind"] = self.kind
            models.update({r: m for r, m in self.rights.items() if m is not None})
            parts, start = {}, 0
            for name, model in models.items():
                parts[name] = slice(start, start + model.coef_.shape[0])
                start += model.coef_.shape[0]
            weights = np.vstack([m.coef_ for m in models.values()]).T.copy()
            bias = np.concatenate([m.intercept_ for m in models.values()])
            self._cache = (weights, bias, parts)
        return self._cache

    def coefficient_rows(self) -> dict[str, np.ndarray]:
        """The weight vector behind each positive label, to find the sentence that drove it."""
        rows = {"emergent": self.emergent.coef_[0], "clinical_question": self.clinical.coef_[0]}
        for right, model in self.rights.items():
            if model is not None:
                rows[right] = model.coef_[0]
        for i, purpose in enumerate(self.purpose.classes_):
            rows[f"purpose:{purpose}"] = self.purpose.coef_[i]
        return rows

    # ------------------------------------------------------------------ persistence (skops: plain types)

    def state(self) -> dict[str, object]:
        return {"format": 1, "emergent": self.emergent, "kind": self.kind,
                "rights": {r: m for r, m in self.rights.items()}, "purpose": self.purpose,
                "clinical": self.clinical}

    @classmethod
    def from_state(cls, state: dict[str, object], calibration: tuple[float, float],
                   thresholds: dict[str, float]) -> Heads:
        if state.get("format") != 1:
            raise ValueError(f"unknown heads format {state.get('format')!r}")
        rights = dict(state["rights"])  # type: ignore[call-overload]
        if set(rights) != set(RIGHTS):
            raise ValueError("the rights heads do not match RIGHTS")
        heads = cls(state["emergent"], state["kind"], rights, state["purpose"], state["clinical"],  # type: ignore[arg-type]
                    calibration, dict(thresholds))
        if not set(str(c) for c in heads.purpose.classes_) <= set(PURPOSES):
            raise ValueError("the purpose head has classes outside PURPOSES")
        if heads.kind is not None and not set(str(c) for c in heads.kind.classes_) <= set(EMERGENT_KINDS):
            raise ValueError("the kind head has classes outside EMERGENT_KINDS")
        return heads


@dataclass(frozen=True, slots=True)
class Labels:
    """The training targets as arrays, one row per example."""

    emergent: np.ndarray  # bool
    kind: np.ndarray  # str, "" when not emergent
    rights: np.ndarray  # bool, n x len(RIGHTS)
    purpose: np.ndarray  # str
    clinical: np.ndarray  # bool

    def subset(self, idx: np.ndarray) -> Labels:
        return Labels(self.emergent[idx], self.kind[idx], self.rights[idx], self.purpose[idx], self.clinical[idx])


@dataclass(frozen=True, slots=True)
class Scores:
    decision: np.ndarray  # emergent decision values (before calibration)
    emergent: np.ndarray  # calibrated probability
    kind: np.ndarray  # n x len(kinds)
    kinds: list[str]
    rights: np.ndarray  # n x len(RIGHTS), probability per right
    purpose: np.ndarray  # n x len(purposes)
    purposes: list[str]
    clinical: np.ndarray  # probability


def _only(x: sp.csr_matrix, blocks: tuple[str, ...], slices: dict[str, slice]) -> sp.csr_matrix:
    mask = np.zeros(x.shape[1])
    for block in blocks:
        if block in slices:
            mask[slices[block]] = 1.0
    return sp.csr_matrix(x.multiply(mask.reshape(1, -1)))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fit_platt(decision: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Sigmoid calibration of decision values (Platt), fitted on out-of-fold values."""
    model = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000).fit(decision.reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])
