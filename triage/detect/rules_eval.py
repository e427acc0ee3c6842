"""Measure the rule detector on labelled training files: per-label precision/recall/F1 and speed.

    python -m triage.detect.rules_eval [FILES...]   (default: models/data/train-a.jsonl and train-b.jsonl)
    python -m triage.detect.rules_eval --errors emergent models/data/train-a.jsonl   (list the misses)

It refuses the held-out test split: nobody tunes on it. Output is counts and ids only (the messages
are synthetic, but error listings print their new text, so keep them out of logs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from triage.detect import PURPOSES, RIGHTS, Detection, Text
from triage.detect.rules import RuleDetector

DEFAULT_FILES = ("models/data/train-a.jsonl", "models/data/train-b.jsonl")
_HELD_OUT = "test.jsonl"


def _load(path: Path) -> list[dict[str, object]]:
    if path.name == _HELD_OUT:
        raise SystemExit(f"refusing {path}: the held-out test split is not for tuning")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _counts(pairs: Iterable[tuple[bool, bool]]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of (gold, predicted) pairs."""
    tp = fp = fn = 0
    for gold, got in pairs:
        tp += gold and got
        fp += got and not gold
        fn += gold and not got
    return tp, fp, fn


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _line(name: str, tp: int, fp: int, fn: int) -> str:
    p, r, f = _prf(tp, fp, fn)
    return f"  {name:<28} P={p:.3f} R={r:.3f} F1={f:.3f}  (tp={tp} fp={fp} fn={fn})"


def evaluate(rows: Sequence[dict[str, object]], detections: Sequence[Detection]) -> list[str]:
    out: list[str] = []
    n = len(rows)
    # emergent
    tp = sum(1 for r, d in zip(rows, detections, strict=True) if r["emergent"] and d.emergent)
    fp = sum(1 for r, d in zip(rows, detections, strict=True) if not r["emergent"] and d.emergent)
    fn = sum(1 for r, d in zip(rows, detections, strict=True) if r["emergent"] and not d.emergent)
    out.append(_line("emergent", tp, fp, fn))
    kind_ok = sum(1 for r, d in zip(rows, detections, strict=True)
                  if r["emergent"] and d.emergent and r["emergent_kind"] == d.emergent_kind)
    out.append(f"  {'emergent kind (of true pos.)':<28} accuracy={kind_ok / tp if tp else 0.0:.3f} ({kind_ok}/{tp})")
    hard = [(r, d) for r, d in zip(rows, detections, strict=True) if r.get("hard_negative")]
    flagged = sum(1 for _, d in hard if d.emergent)
    out.append(f"  {'hard negatives flagged':<28} {flagged}/{len(hard)} = {flagged / len(hard) if hard else 0.0:.3f}")
    by_hn = Counter(str(r["hard_negative"]) for r, d in hard if d.emergent)
    if by_hn:
        out.append("    by kind: " + ", ".join(f"{k}={v}" for k, v in sorted(by_hn.items())))
    # rights
    micro = [0, 0, 0]
    pairs = list(zip(rows, detections, strict=True))
    for right in RIGHTS:
        t, f_, m = _counts((right in r["hipaa_rights"], right in d.rights) for r, d in pairs)  # type: ignore[operator]
        micro = [micro[0] + t, micro[1] + f_, micro[2] + m]
        out.append(_line(f"right:{right}", t, f_, m))
    out.append(_line("rights (micro)", *micro))
    any_tp = sum(1 for r, d in zip(rows, detections, strict=True) if r["hipaa_rights"] and d.rights)
    any_fp = sum(1 for r, d in zip(rows, detections, strict=True) if not r["hipaa_rights"] and d.rights)
    any_fn = sum(1 for r, d in zip(rows, detections, strict=True) if r["hipaa_rights"] and not d.rights)
    out.append(_line("any right requested", any_tp, any_fp, any_fn))
    # purpose
    f1s = []
    for purpose in PURPOSES:
        t = sum(1 for r, d in zip(rows, detections, strict=True) if r["purpose"] == purpose and d.purpose == purpose)
        f_ = sum(1 for r, d in zip(rows, detections, strict=True) if r["purpose"] != purpose and d.purpose == purpose)
        m = sum(1 for r, d in zip(rows, detections, strict=True) if r["purpose"] == purpose and d.purpose != purpose)
        f1s.append(_prf(t, f_, m)[2])
        out.append(_line(f"purpose:{purpose}", t, f_, m))
    acc = sum(1 for r, d in zip(rows, detections, strict=True) if r["purpose"] == d.purpose) / n if n else 0.0
    out.append(f"  {'purpose macro-F1':<28} {sum(f1s) / len(f1s):.3f}   accuracy={acc:.3f}")
    # clinical question
    t = sum(1 for r, d in zip(rows, detections, strict=True) if r["clinical_question"] and d.clinical_question)
    f_ = sum(1 for r, d in zip(rows, detections, strict=True) if not r["clinical_question"] and d.clinical_question)
    m = sum(1 for r, d in zip(rows, detections, strict=True) if r["clinical_question"] and not d.clinical_question)
    out.append(_line("clinical_question", t, f_, m))
    return out


def _errors(label: str, rows: Sequence[dict[str, object]], texts: Sequence[Text],
            detections: Sequence[Detection]) -> list[str]:
    out = []
    for r, t, d in zip(rows, texts, detections, strict=True):
        if label == "emergent":
            wrong = bool(r["emergent"]) != d.emergent
            gold, got = f"{r['emergent']}/{r['emergent_kind']}/{r.get('hard_negative', '')}", \
                f"{d.emergent}/{d.emergent_kind}/{d.emergent_score}"
        elif label == "kind":
            wrong = bool(r["emergent"]) and d.emergent and r["emergent_kind"] != d.emergent_kind
            gold, got = str(r["emergent_kind"]), d.emergent_kind
        elif label == "rights":
            wrong = set(r["hipaa_rights"]) != set(d.rights)  # type: ignore[arg-type]
            gold, got = str(sorted(r["hipaa_rights"])), str(sorted(d.rights))  # type: ignore[arg-type]
        elif label == "purpose":
            wrong = r["purpose"] != d.purpose
            gold, got = str(r["purpose"]), d.purpose
        else:
            wrong = bool(r["clinical_question"]) != d.clinical_question
            gold, got = str(r["clinical_question"]), str(d.clinical_question)
        if wrong:
            ev = "; ".join(f"{e.source}:{e.phrase[:60]}" for e in d.evidence if e.label in (label, "emergent")
                           or (label == "rights" and e.label in RIGHTS) or label in ("purpose", "cq"))
            new = " ".join(t.new_text.split())[:400]
            out.append(f"{r['id']}  gold={gold}  got={got}\n    NEW: {new}\n    EV: {ev}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m triage.detect.rules_eval", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=list(DEFAULT_FILES))
    parser.add_argument("--errors", choices=["emergent", "kind", "rights", "purpose", "cq"],
                        help="list the messages this label gets wrong")
    args = parser.parse_args(argv)
    detector = RuleDetector()
    all_rows: list[dict[str, object]] = []
    all_det: list[Detection] = []
    total_time = 0.0
    for name in args.files:
        rows = _load(Path(name))
        texts = [Text.from_body(str(r.get("subject", "")), str(r.get("body", ""))) for r in rows]
        t0 = time.perf_counter()
        detections = detector.detect_many(texts)
        elapsed = time.perf_counter() - t0
        total_time += elapsed
        print(f"{name}: {len(rows)} messages, {len(rows) / elapsed:,.0f} messages/s")
        for line in evaluate(rows, detections):
            print(line)
        if args.errors:
            for line in _errors(args.errors, rows, texts, detections):
                print(line)
        all_rows += rows
        all_det += detections
    if len(args.files) > 1:
        rate = len(all_rows) / total_time
        print(f"all files: {len(all_rows)} messages, {rate:,.0f} messages/s (rules only, one core)")
        for line in evaluate(all_rows, all_det):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
