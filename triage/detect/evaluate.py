"""`triage evaluate`: figures of a detector on a labelled file (the held-out test split by default).

Printed: precision, recall and F1 per label; the emergent false negatives by id (and kind), the hard
negatives flagged emergent; rights per right, message level (any request) and exact set; the purpose
confusion matrix and macro-F1 (as the file labels it, and under the README reconciliation of data.py);
clinical question. Ids only: no message text is printed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from triage.detect import EMERGENT_KINDS, PURPOSES, RIGHTS, Detection, Detector
from triage.detect.data import Example, read_examples

CRITICAL_KINDS = ("intent_or_plan", "overdose_medical", "harm_to_others")  # never to be missed


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn,
            "tp": tp, "fp": fp, "fn": fn}


def _binary(gold: Sequence[bool], pred: Sequence[bool]) -> dict[str, float | int]:
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if p and not g)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g and not p)
    return _prf(tp, fp, fn)


def _purpose(gold: Sequence[str], pred: Sequence[str]) -> dict[str, object]:
    matrix = [[sum(1 for g, p in zip(gold, pred, strict=True) if g == a and p == b) for b in PURPOSES]
              for a in PURPOSES]
    per = {c: _binary([g == c for g in gold], [p == c for p in pred]) for c in PURPOSES}
    present = [c for c in PURPOSES if per[c]["support"]]
    macro = sum(float(per[c]["f1"]) for c in present) / len(present) if present else 0.0
    accuracy = sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold) if gold else 0.0
    return {"labels": list(PURPOSES), "confusion": matrix, "per_class": per, "macro_f1": round(macro, 4),
            "accuracy": round(accuracy, 4)}


def reliability(p: Sequence[float], y: Sequence[bool]) -> dict[str, object]:
    """The calibration check: Brier score, and per probability bin the mean score against the observed rate."""
    scores, gold = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    bins = []
    for lo, hi in ((0.0, 0.05), (0.05, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 0.95), (0.95, 1.01)):
        inside = (scores >= lo) & (scores < hi)
        if inside.any():
            bins.append({"bin": f"{lo:.2f}-{min(hi, 1.0):.2f}", "n": int(inside.sum()),
                         "mean_score": round(float(scores[inside].mean()), 4),
                         "observed": round(float(gold[inside].mean()), 4)})
    brier = float(np.mean((scores - gold) ** 2)) if len(scores) else 0.0
    return {"brier": round(brier, 4), "bins": bins}


def metrics(examples: Sequence[Example], detections: Sequence[Detection]) -> dict[str, object]:
    """All figures of detections against the examples' labels (ids only, no text)."""
    pairs = list(zip(examples, detections, strict=True))
    emergent = _binary([e.emergent for e, _ in pairs], [d.emergent for _, d in pairs])
    by_kind = {}
    for kind in EMERGENT_KINDS:
        rows = [d.emergent for e, d in pairs if e.emergent and e.emergent_kind == kind]
        if rows:
            by_kind[kind] = {"n": len(rows), "caught": sum(rows), "recall": round(sum(rows) / len(rows), 4)}
    misses = [{"id": e.id, "kind": e.emergent_kind, "score": d.emergent_score}
              for e, d in pairs if e.emergent and not d.emergent]
    hard = [(e, d) for e, d in pairs if e.hard_negative and not e.emergent]
    hard_kinds: dict[str, list[int]] = {}
    for e, d in hard:
        hard_kinds.setdefault(e.hard_negative, [0, 0])
        hard_kinds[e.hard_negative][0] += int(d.emergent)
        hard_kinds[e.hard_negative][1] += 1
    false_alarms = [{"id": e.id, "hard_negative": e.hard_negative, "score": d.emergent_score}
                    for e, d in pairs if d.emergent and not e.emergent]

    per_right = {r: _binary([r in e.rights for e, _ in pairs], [r in d.rights for _, d in pairs]) for r in RIGHTS}
    requests = [(e, d) for e, d in pairs if e.rights]
    exact = sum(1 for e, d in requests if set(e.rights) == set(d.rights))
    micro_tp = sum(int(v["tp"]) for v in per_right.values())
    micro_fp = sum(int(v["fp"]) for v in per_right.values())
    micro_fn = sum(int(v["fn"]) for v in per_right.values())
    rights_wrong = [{"id": e.id, "gold": list(e.rights), "predicted": list(d.rights)}
                    for e, d in pairs if set(e.rights) != set(d.rights)]
    return {
        "n": len(pairs),
        "emergent": {**emergent, "by_kind": by_kind, "false_negatives": misses,
                     "critical_misses": [m for m in misses if m["kind"] in CRITICAL_KINDS],
                     "false_positives": false_alarms,
                     "hard_negatives": {"n": len(hard), "flagged": sum(int(d.emergent) for _, d in hard),
                                        "rate": round(sum(int(d.emergent) for _, d in hard) / len(hard), 4)
                                        if hard else 0.0,
                                        "by_kind": hard_kinds}},
        "rights": {"per_right": per_right, "micro": _prf(micro_tp, micro_fp, micro_fn),
                   "message_level": _binary([bool(e.rights) for e, _ in pairs], [bool(d.rights) for _, d in pairs]),
                   "exact_set": {"requests": len(requests), "correct": exact,
                                 "accuracy": round(exact / len(requests), 4) if requests else 0.0},
                   "wrong": rights_wrong},
        "purpose": _purpose([e.purpose_raw for e, _ in pairs], [d.purpose for _, d in pairs]),
        "purpose_reconciled": _purpose([e.purpose for e, _ in pairs], [d.purpose for _, d in pairs]),
        "clinical_question": _binary([e.clinical_question for e, _ in pairs], [d.clinical_question for _, d in pairs]),
        "emergent_calibration": reliability([d.emergent_score for _, d in pairs], [e.emergent for e, _ in pairs]),
    }


def _line(name: str, m: dict[str, object]) -> str:
    return (f"  {name:<28} P {float(m['precision']):.3f}  R {float(m['recall']):.3f}  F1 {float(m['f1']):.3f}"  # type: ignore[arg-type]
            f"  (support {m['support']}, fp {m['fp']}, fn {m['fn']})")


def report(m: dict[str, object], title: str = "") -> str:
    """The figures as text for a terminal."""
    em: dict = m["emergent"]  # type: ignore[assignment]
    lines = [title] if title else []
    lines.append(f"messages: {m['n']}")
    lines.append("emergent")
    lines.append(_line("emergent", em))
    for kind, k in em["by_kind"].items():
        lines.append(f"    {kind:<26} recall {k['recall']:.3f} ({k['caught']}/{k['n']})")
    hn = em["hard_negatives"]
    lines.append(f"  hard negatives flagged emergent: {hn['flagged']}/{hn['n']} ({hn['rate']:.1%})")
    for kind, (flagged, n) in sorted(hn["by_kind"].items()):
        lines.append(f"    {kind:<26} {flagged}/{n}")
    if "emergent_calibration" in m:
        cal: dict = m["emergent_calibration"]  # type: ignore[assignment]
        lines.append(f"  calibration: Brier {cal['brier']:.4f}; " + "; ".join(
            f"{b['bin']}: {b['mean_score']:.2f} vs {b['observed']:.2f} (n {b['n']})" for b in cal["bins"]))
    lines.append(f"  critical misses (intent/plan, overdose, threat): {len(em['critical_misses'])}")
    lines.append("  false negatives: " + (", ".join(f"{x['id']} ({x['kind']}, {x['score']:.2f})"
                                                   for x in em["false_negatives"]) or "none"))
    flagged_hard = [x for x in em["false_positives"] if x["hard_negative"]]
    lines.append(f"  false positives: {len(em['false_positives'])}; hard negatives among them: "
                 + (", ".join(f"{x['id']} [{x['hard_negative']}]" for x in flagged_hard) or "none"))
    rights: dict = m["rights"]  # type: ignore[assignment]
    lines.append("hipaa rights")
    for right, r in rights["per_right"].items():
        lines.append(_line(right, r))
    lines.append(_line("micro (all rights)", rights["micro"]))
    lines.append(_line("message level (any request)", rights["message_level"]))
    ex = rights["exact_set"]
    if "wrong" in rights:
        lines.append("  wrong sets: " + (", ".join(f"{w['id']} {'+'.join(w['gold']) or '-'} -> "
                                                   f"{'+'.join(w['predicted']) or '-'}" for w in rights["wrong"])
                                         or "none"))
    lines.append(f"  exact set right: {ex['correct']}/{ex['requests']} requests ({ex['accuracy']:.3f})")
    for key, name in (("purpose", "as labelled"), ("purpose_reconciled", "README reconciliation")):
        pm: dict = m[key]  # type: ignore[assignment]
        lines.append(f"purpose ({name}): macro-F1 {pm['macro_f1']:.3f}, accuracy {pm['accuracy']:.3f}")
        short = [p[:8] for p in PURPOSES]
        lines.append("  gold \\ predicted      " + " ".join(f"{s:>8}" for s in short))
        for name_, row in zip(PURPOSES, pm["confusion"], strict=True):
            lines.append(f"  {name_:<22}" + " ".join(f"{v:>8}" for v in row))
        lines.extend(_line(c, pm["per_class"][c]) for c in PURPOSES)
    lines.append("clinical question")
    lines.append(_line("clinical_question", m["clinical_question"]))  # type: ignore[arg-type]
    return "\n".join(lines)


def evaluate(data: Path, detector: Detector) -> tuple[dict[str, object], float]:
    """Run a detector over a labelled file: (figures, seconds spent detecting)."""
    examples = read_examples(data)
    started = time.perf_counter()
    detections = detector.detect_many([e.text for e in examples])
    return metrics(examples, detections), time.perf_counter() - started
