"""The trained detector: loads the models written by `triage train` and assesses messages with them.

Loading refuses, with a message naming the file and the reason:
- a file whose sha256 does not match ``manifest.json`` (changed or corrupted after training);
- models saved by another scikit-learn version (the manifest's, and each estimator's own record of it);
- a skops file holding any type outside TRUSTED_TYPES (skops never unpickles; we also never widen trust).

How the trained models and the rule-based detector are combined (when the rules are installed). The rules
were written from the training messages, so no honest figure says how much to trust them against the
models; the combination is fixed, not learned, and leans to recall:
- emergent: flagged when the model's calibrated probability reaches its threshold OR the rules flag it.
  A rule hit of kind intent_or_plan, overdose_medical or harm_to_others puts a floor of FLOOR_SCORE under
  the score; any other rule hit a floor at the threshold. The kind is the rules' when they flagged it.
- rights: the union of the model's and the rules' rights. Clinical question: either says so.
- purpose: the model's alone (it beat the rules on cross-validation).

A positive always carries evidence: the sentence of the sender's new text that most raised that label's
score (each sentence scored alone by the same linear model), with source ``model:<label>``, and the rules'
own evidence (``rule:...``) when they found it. ``Detection.detector`` is ``model-<first 12 hex of the
manifest's sha256>``, followed by ``+<rules name>`` when the rules took part. Nothing here logs message text.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from triage.detect import RIGHTS, Detection, Detector, Evidence, Text
from triage.detect.features import FeatureSpace, sentences
from triage.detect.heads import Heads
from triage.errors import TriageError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FILES = ("features.skops", "heads.skops")
# Every type the skops files may hold. Loading refuses any other (skops.io.load(trusted=...)).
TRUSTED_TYPES = (
    "builtins.dict", "builtins.list", "builtins.str", "builtins.int", "builtins.float", "builtins.bool",
    "builtins.tuple", "builtins.NoneType", "numpy.ndarray",
    "sklearn.linear_model._logistic.LogisticRegression",
)
# Rules whose emergent kind sets a floor under the emergent score: these are never missed.
FLOOR_KINDS = ("intent_or_plan", "overdose_medical", "harm_to_others")
FLOOR_SCORE = 0.95
BATCH = 512


class ModelError(TriageError):
    """A trained model cannot be used; the message names the file and the reason."""


def default_models_dir() -> Path:
    """$TRIAGE_MODELS, else models/ beside the package (the repository's shipped models)."""
    env = os.environ.get("TRIAGE_MODELS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"


# ---------------------------------------------------------------------- skops files, written reproducibly

def write_artifact(obj: object, path: Path) -> str:
    """Write obj with skops, byte for byte the same for the same obj; returns the sha256.

    skops names its array files after id() and stamps the time: both are replaced by stable values."""
    import skops.io as sio

    raw = sio.dumps(obj)
    src = zipfile.ZipFile(io.BytesIO(raw))
    schema = json.loads(src.read("schema.json"))
    ids: dict[int, int] = {}

    def renumber(node: object) -> None:
        if isinstance(node, dict):
            if "__id__" in node:
                node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
            if "file" in node and isinstance(node["file"], str) and node["file"].endswith(".npy"):
                old = int(node["file"][:-4])
                node["file"] = f"{ids.setdefault(old, len(ids) + 1)}.npy"
            for value in node.values():
                renumber(value)
        elif isinstance(node, list):
            for value in node:
                renumber(value)

    renumber(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        entries = {"schema.json": json.dumps(schema, indent=1, sort_keys=True).encode()}
        for name in src.namelist():
            if name != "schema.json":
                entries[f"{ids[int(name[:-4])]}.npy"] = src.read(name)
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, entries[name], compresslevel=9)
    data = out.getvalue()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _types_in(data: bytes, path: Path) -> set[str]:
    try:
        schema = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelError(f"{path}: not a skops file ({type(exc).__name__})") from None
    found: set[str] = set()
    stack: list[object] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def read_artifact(path: Path, expected_sha256: str) -> object:
    """Load one skops file after checking its digest and that it holds trusted types only."""
    import skops.io as sio
    from sklearn.exceptions import InconsistentVersionWarning

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model file: {exc.strerror}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise ModelError(f"{path}: sha256 {actual[:16]}... does not match the manifest's {expected_sha256[:16]}...: "
                         "the file changed after training; restore it or run `triage train`")
    untrusted = sorted(_types_in(data, path) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelError(f"{path}: holds types outside the trusted list: {', '.join(untrusted)}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            return sio.loads(data, trusted=list(TRUSTED_TYPES))
        except InconsistentVersionWarning as exc:
            raise ModelError(f"{path}: saved by scikit-learn {exc.original_sklearn_version}, this is "
                             f"{exc.current_sklearn_version}; run `triage train` to rebuild the models") from None
        except Exception as exc:  # a skops file we cannot read is refused, whatever went wrong inside it
            raise ModelError(f"{path}: cannot load: {type(exc).__name__}") from None


def read_manifest(folder: Path) -> tuple[dict[str, object], str]:
    """The manifest and the model version it names ("model-" + 12 hex of its sha256)."""
    import sklearn

    path = folder / MANIFEST
    try:
        raw = path.read_bytes()
        manifest = json.loads(raw)
    except FileNotFoundError:
        raise ModelError(f"{path}: no manifest: run `triage train`") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the manifest ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise ModelError(f"{path}: not a manifest this version of triage reads")
    saved = manifest.get("sklearn_version")
    if saved != sklearn.__version__:
        raise ModelError(f"{path}: models saved by scikit-learn {saved}, this is {sklearn.__version__}; "
                         "run `triage train` to rebuild them")
    return manifest, "model-" + hashlib.sha256(raw).hexdigest()[:12]


# ---------------------------------------------------------------------- the detector

def trained_or_rules(folder: Path | None = None) -> Detector:
    """The trained detector of `folder` when its models are there and pass every check, else the rules.

    No models (no manifest): the rule-based detector, silently. Models refused (digest, version, types):
    the rule-based detector, and the reason logged as an error (file and reason only, no message text)."""
    folder = folder or default_models_dir()
    if (folder / MANIFEST).exists():
        try:
            return TrainedDetector.load(folder)
        except ModelError as exc:
            log.error("trained models refused, assessing with the rule-based detector: %s", exc)
    from triage.detect.rules import RuleDetector

    return RuleDetector()


def rule_detector() -> Detector | None:
    """The rule-based detector when it is installed (its hits are features and floors), else None."""
    try:
        from triage.detect.rules import RuleDetector
    except ImportError:
        return None
    return RuleDetector()


class TrainedDetector:
    """Implements the Detector protocol with the trained models of one folder (and the rules, if any)."""

    def __init__(self, features: FeatureSpace, heads: Heads, manifest: dict[str, object], version: str,
                 rules: Detector | None = None) -> None:
        self.features = features
        self.heads = heads
        self.manifest = manifest
        self.version = version
        self.rules = rules
        self.name = f"{version}+{rules.name}" if rules is not None else version
        self.thresholds = heads.thresholds
        rows = heads.coefficient_rows()
        self._weights = np.vstack(list(rows.values())).T  # features x labels, to score sentences
        self._row = {k: i for i, k in enumerate(rows)}

    @classmethod
    def load(cls, folder: Path | None = None, *, rules: bool = True) -> TrainedDetector:
        """Load and check the models of `folder` (default: default_models_dir()); `rules=False` assesses
        with the trained models alone (to measure them)."""
        started = time.perf_counter()
        folder = folder or default_models_dir()
        manifest, version = read_manifest(folder)
        digests = manifest.get("files")
        if not isinstance(digests, dict) or set(digests) != set(FILES):
            raise ModelError(f"{folder / MANIFEST}: must list exactly {', '.join(FILES)}")
        feats = read_artifact(folder / "features.skops", str(digests["features.skops"]))
        heads_state = read_artifact(folder / "heads.skops", str(digests["heads.skops"]))
        try:
            features = FeatureSpace.from_state(feats)  # type: ignore[arg-type]
            cal = manifest["calibration"]["emergent"]  # type: ignore[index]
            thresholds = {k: float(v) for k, v in manifest["thresholds"].items()}  # type: ignore[attr-defined]
            heads = Heads.from_state(heads_state, (float(cal["a"]), float(cal["b"])), thresholds)  # type: ignore[arg-type]
            missing = {"emergent", "clinical_question", *RIGHTS} - set(thresholds)
            if missing:
                raise KeyError(f"thresholds for {', '.join(sorted(missing))}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{folder}: the models do not fit together ({type(exc).__name__}: {exc})") from None
        if features.n_features != heads.emergent.coef_.shape[1]:
            raise ModelError(f"{folder}: features.skops and heads.skops come from different trainings")
        combined = rule_detector() if rules else None
        if rules and combined is None:
            log.warning("the rule-based detector is missing: assessing with the trained models alone")
        detector = cls(features, heads, manifest, version, combined)
        log.info("loaded %s from %s in %.2f s", detector.name, folder, time.perf_counter() - started)
        return detector

    # ------------------------------------------------------------------ the protocol

    def detect(self, text: Text) -> Detection:
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[Text]) -> list[Detection]:
        out: list[Detection] = []
        for start in range(0, len(texts), BATCH):
            out.extend(self._batch(texts[start:start + BATCH]))
        return out

    def _batch(self, texts: Sequence[Text]) -> list[Detection]:
        ruled: list[Detection | None] = list(self.rules.detect_many(texts)) if self.rules else [None] * len(texts)
        scores = self.heads.scores(self.features.transform(texts))
        th = self.thresholds
        plans = []
        for i, text in enumerate(texts):
            rule = ruled[i]
            own = bool(text.new_text.strip())  # quoted history and signatures alone never flag
            p = float(scores.emergent[i])
            model_emergent = own and p >= th["emergent"]
            rule_emergent = rule is not None and rule.emergent
            emergent = model_emergent or rule_emergent
            if rule_emergent and rule is not None:
                p = max(p, FLOOR_SCORE if rule.emergent_kind in FLOOR_KINDS else th["emergent"])
            kind = ""
            if emergent:
                if rule_emergent and rule is not None and rule.emergent_kind:
                    kind = rule.emergent_kind
                elif scores.kinds:
                    kind = scores.kinds[int(np.argmax(scores.kind[i]))]
                else:
                    kind = "acute_crisis"
            model_rights = {r for k, r in enumerate(RIGHTS) if scores.rights[i, k] >= th[r]}
            rights = tuple(r for r in RIGHTS if r in model_rights or (rule is not None and r in rule.rights))
            purpose = scores.purposes[int(np.argmax(scores.purpose[i]))]
            model_clinical = bool(scores.clinical[i] >= th["clinical_question"]) or purpose == "clinical_question"
            clinical = model_clinical or (rule is not None and rule.clinical_question)
            # (label, coefficient row for the model's sentence or "" when the model did not say so, weight)
            wanted: list[tuple[str, str, float]] = []
            if emergent:
                wanted.append(("emergent", "emergent" if model_emergent else "", p))
            wanted += [(r, r if r in model_rights else "", float(scores.rights[i, RIGHTS.index(r)])) for r in rights]
            if purpose != "other" and not (purpose == "clinical_question" and clinical):
                wanted.append((purpose, f"purpose:{purpose}", float(np.max(scores.purpose[i]))))
            if clinical:
                wanted.append(("clinical_question", "clinical_question" if model_clinical else "",
                               float(scores.clinical[i])))
            plans.append((emergent, p, kind, rights, purpose, clinical, wanted, rule))
        phrases = self._phrases(texts, [[row for _, row, _ in plan[6] if row] for plan in plans])
        detections = []
        for i, (emergent, p, kind, rights, purpose, clinical, wanted, rule) in enumerate(plans):
            evidence: list[Evidence] = []
            for label, row, weight in wanted:
                if row:
                    evidence.append(Evidence(label, phrases[i].get(row, ""), f"model:{label}", round(weight, 4)))
                if rule is not None:  # the rules that found this label, for the record
                    evidence.extend(e for e in rule.evidence if e.label == label)
            detections.append(Detection(emergent, round(p, 4), kind, rights, purpose, clinical, tuple(evidence),
                                        self.name))
        return detections

    def _phrases(self, texts: Sequence[Text], rows: list[list[str]]) -> list[dict[str, str]]:
        """For each message, the sentence of its new text that scores highest on each wanted label.

        Sentences are scored on every new-text block when the message is emergent; otherwise on the word
        block alone: character n-grams cost most of the time and add little to finding the sentence."""
        full: list[str] = []
        words: list[str] = []
        spans: list[tuple[bool, int, int]] = []
        for text, wanted in zip(texts, rows, strict=True):
            parts = full if "emergent" in wanted else words
            start = len(parts)
            if wanted:
                parts.extend(sentences(text.new_text) or ([text.subject.strip()] if text.subject.strip() else []))
            spans.append((parts is full, start, len(parts)))
        scored = {True: self.features.transform_new(full) @ self._weights if full else None,
                  False: self.features.transform_new(words, ("new_word",)) @ self._weights if words else None}
        out: list[dict[str, str]] = []
        for (is_full, start, end), wanted in zip(spans, rows, strict=True):
            chosen: dict[str, str] = {}
            table, parts = scored[is_full], full if is_full else words
            if end > start and table is not None:
                for row in wanted:
                    chosen[row] = parts[start + int(np.argmax(table[start:end, self._row[row]]))]
            out.append(chosen)
        return out
