"""The trained detectors: the shipped models load and answer sensibly; tampered or foreign models are refused;
training never reads the test split and is reproducible."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import sklearn

from triage.detect import RIGHTS, Detection, Evidence, Text
from triage.detect.data import DataError, reconcile, training_files
from triage.detect.model import MANIFEST, ModelError, TrainedDetector, trained_or_rules, write_artifact
from triage.detect.train import train

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
DATA = MODELS / "data"


@pytest.fixture(scope="module")
def detector() -> TrainedDetector:
    """The shipped models alone: these tests do not depend on the rule-based detector's state."""
    return TrainedDetector.load(MODELS, rules=False)


class StubRules:
    """A rule-based detector that says one fixed thing, to test how its answer is combined."""

    name = "stub-rules"

    def __init__(self, answer: Detection) -> None:
        self.answer = answer

    def detect(self, text: Text) -> Detection:
        return self.answer

    def detect_many(self, texts: Sequence[Text]) -> list[Detection]:
        return [self.answer for _ in texts]


def _copy_models(tmp_path: Path) -> Path:
    out = tmp_path / "models"
    out.mkdir()
    for name in ("features.skops", "heads.skops", MANIFEST):
        shutil.copy(MODELS / name, out / name)
    return out


def _set_digest(folder: Path, name: str) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(manifest))


# ---------------------------------------------------------------------- the shipped models

def test_shipped_models_load_with_a_version_name(detector: TrainedDetector) -> None:
    assert detector.name.startswith("model-") and len(detector.name) == len("model-") + 12
    for v in detector.features.vectorizers:
        assert not hasattr(v, "stop_words_")


def test_emergent_message_is_flagged_with_its_sentence(detector: TrainedDetector) -> None:
    text = Text("", "hey. i wanted to say the appointment thursday is fine. but honestly i have been saving my "
                    "lithium for weeks and tonight i am going to swallow all of it. i'm done")
    d = detector.detect(text)
    assert d.emergent and d.emergent_score >= detector.thresholds["emergent"]
    assert d.emergent_kind
    assert d.detector == detector.name
    evidence = d.evidence_for("emergent")
    assert evidence and evidence[0].source == "model:emergent"
    assert evidence[0].phrase and evidence[0].phrase in text.new_text
    assert "lithium" in evidence[0].phrase or "tonight" in evidence[0].phrase


def test_plain_scheduling_is_not_emergent(detector: TrainedDetector) -> None:
    d = detector.detect(Text("change of plans", "Hi, could we push my Wednesday 3pm session to Friday morning? "
                                                "My car is in the shop. Thank you!"))
    assert not d.emergent
    assert d.purpose == "scheduling"
    assert d.evidence_for("scheduling")[0].source == "model:scheduling"


def test_crisis_footer_and_quoted_crisis_never_flag(detector: TrainedDetector) -> None:
    footer = "Jordan Lee, LCSW\nIf this is an emergency, call 911 or the 988 Suicide & Crisis Lifeline."
    quoted = "On Mon, Jan 5 Pat wrote:\n> i want to kill myself tonight, i have the gun loaded\n"
    texts = [Text("Re: group", "ok see you at group on tuesday", quoted, footer),
             Text("", "", quoted, footer)]
    for d in detector.detect_many(texts):
        assert not d.emergent
        assert not d.evidence_for("emergent")


def test_rights_requests_are_recognised(detector: TrainedDetector) -> None:
    texts = [Text("", "Could you send me a full copy of my chart, including the therapy notes? I need it for "
                      "a new provider."),
             Text("", "Please don't leave voicemails at my house number anymore. Only text or call my cell.")]
    access, confidential = detector.detect_many(texts)
    assert "access" in access.rights and access.evidence_for("access")[0].source == "model:access"
    assert "confidential_communication" in confidential.rights
    assert all(r in RIGHTS for r in access.rights + confidential.rights)


def test_detect_many_matches_detect(detector: TrainedDetector) -> None:
    texts = [Text("", "can i get a letter for my job saying i attend weekly?"), Text("", "thanks!!")]
    assert detector.detect_many(texts) == [detector.detect(t) for t in texts]


def test_rules_are_combined_with_the_model(detector: TrainedDetector) -> None:
    rule = Detection(True, 1.0, "overdose_medical", ("restriction",), "other", False,
                     (Evidence("emergent", "took the whole bottle", "rule:overdose-taken"),
                      Evidence("restriction", "not my mom", "rule:restrict-person")), "stub-rules")
    combined = TrainedDetector(detector.features, detector.heads, detector.manifest, detector.version,
                               StubRules(rule))
    d = combined.detect(Text("", "Could you send me a copy of my treatment plan? thanks"))
    assert combined.name == f"{detector.version}+stub-rules" == d.detector
    assert d.emergent and d.emergent_kind == "overdose_medical" and d.emergent_score >= 0.95  # the floor
    assert [e.source for e in d.evidence_for("emergent")] == ["rule:overdose-taken"]  # the model did not say so
    assert d.rights == ("access", "restriction")  # the model's and the rules' rights
    assert d.evidence_for("access")[0].source == "model:access"
    assert d.evidence_for("restriction")[0].source == "rule:restrict-person"


# ---------------------------------------------------------------------- refused models

def test_tampered_model_file_is_refused(tmp_path: Path) -> None:
    folder = _copy_models(tmp_path)
    data = bytearray((folder / "heads.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "heads.skops").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"heads\.skops: sha256 .* does not match the manifest"):
        TrainedDetector.load(folder)


def test_manifest_of_another_sklearn_version_is_refused(tmp_path: Path) -> None:
    folder = _copy_models(tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["sklearn_version"] = "1.4.2"
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=rf"manifest\.json: models saved by scikit-learn 1\.4\.2, this is "
                                         rf"{sklearn.__version__}"):
        TrainedDetector.load(folder)


def test_estimator_saved_by_another_sklearn_version_is_refused(tmp_path: Path) -> None:
    """Even with a manifest that claims this version, an estimator's own record of its version counts."""
    folder = _copy_models(tmp_path)
    path = folder / "heads.skops"
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "schema.json":
                data = data.replace(json.dumps(json.dumps(sklearn.__version__)).encode(),
                                    json.dumps(json.dumps("1.4.2")).encode())
            dst.writestr(name, data)
    path.write_bytes(out.getvalue())
    _set_digest(folder, "heads.skops")
    with pytest.raises(ModelError, match=r"heads\.skops: saved by scikit-learn 1\.4\.2"):
        TrainedDetector.load(folder)


def test_untrusted_type_is_refused(tmp_path: Path) -> None:
    from sklearn.preprocessing import StandardScaler

    folder = _copy_models(tmp_path)
    write_artifact({"format": 1, "x": StandardScaler()}, folder / "heads.skops")
    _set_digest(folder, "heads.skops")
    with pytest.raises(ModelError, match=r"heads\.skops: holds types outside the trusted list: .*StandardScaler"):
        TrainedDetector.load(folder)


def test_refused_models_fall_back_to_the_rules(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("triage.detect.rules")
    folder = _copy_models(tmp_path)
    (folder / "features.skops").write_bytes(b"not a model")
    detector = trained_or_rules(folder)
    assert not detector.name.startswith("model-")
    assert "features.skops: sha256" in caplog.text


# ---------------------------------------------------------------------- training

def test_train_refuses_the_test_split(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"test\.jsonl is the held-out test split"):
        train(DATA / "test.jsonl", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # A folder is read for its training files only.
    assert "test.jsonl" not in [p.name for p in training_files(DATA)]


def test_reconcile_is_the_documented_mapping() -> None:
    assert reconcile({"emergent": True, "purpose": "scheduling", "hipaa_rights": []}) == "other"
    assert reconcile({"emergent": False, "purpose": "other", "hipaa_rights": ["access"]}) == "information"
    assert reconcile({"emergent": False, "purpose": "information", "hipaa_rights": ["amendment"]}) == "other"
    assert reconcile({"emergent": False, "purpose": "scheduling", "hipaa_rights": ["restriction"]}) == "scheduling"


def _subset(folder: Path) -> Path:
    """About 300 training messages, every label represented, and a test.jsonl that must not be read."""
    folder.mkdir()
    rows = [json.loads(line) for line in (DATA / "train-b.jsonl").read_text().splitlines()]
    keep = [r for i, r in enumerate(rows[:851]) if i % 3 == 0 or (r["emergent"] and i % 2 == 0)]
    (folder / "train-x.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))
    (folder / "test.jsonl").write_text("this is not JSON and must never be read\n")
    return folder


def test_training_is_reproducible(tmp_path: Path) -> None:
    data = _subset(tmp_path / "data")
    first = train(data, tmp_path / "one", folds=3)
    second = train(data, tmp_path / "two", folds=3)
    assert first == second
    for name in ("features.skops", "heads.skops", MANIFEST):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert set(first["data"]) == {"train-x.jsonl"}  # type: ignore[arg-type]
    a, b = TrainedDetector.load(tmp_path / "one", rules=False), TrainedDetector.load(tmp_path / "two", rules=False)
    texts = [Text("", "i can't keep myself safe tonight, i have the pills out"),
             Text("", "can we do next tuesday instead?")]
    assert a.name == b.name
    assert a.detect_many(texts) == b.detect_many(texts)
