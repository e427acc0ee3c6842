"""The `train` and `evaluate` subcommands; cli.py adds them with `register(subparsers)`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from triage.detect.model import default_models_dir

    models = default_models_dir()
    train = subparsers.add_parser("train", help="rebuild the detectors' models from labelled data (never test.jsonl)")
    train.add_argument("--data", type=Path, default=models / "data",
                       help=f"folder of training files, train-*.jsonl and *.variants.tsv (default {models / 'data'})")
    train.add_argument("--out", type=Path, default=models, help=f"where the models go (default {models})")
    train.set_defaults(func=cmd_train)

    ev = subparsers.add_parser("evaluate", help="figures of the trained detectors on a labelled file")
    ev.add_argument("--data", type=Path, default=models / "data" / "test.jsonl",
                    help="labelled JSON lines (default: the held-out test split)")
    ev.add_argument("--models", type=Path, default=models, help=f"trained models (default {models})")
    which = ev.add_mutually_exclusive_group()
    which.add_argument("--model-only", action="store_true", help="the trained models alone, without the rules")
    which.add_argument("--rules-only", action="store_true", help="the rule-based detector alone, for comparison")
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.set_defaults(func=cmd_evaluate)


def cmd_train(args: argparse.Namespace) -> int:
    from triage.detect.evaluate import report
    from triage.detect.train import train

    started = time.perf_counter()
    manifest = train(args.data, args.out)
    print(report(manifest["cross_validation"],  # type: ignore[arg-type]
                 "trained models alone, grouped 5-fold cross-validation (out-of-fold)"))
    print(f"thresholds: {json.dumps(manifest['thresholds'], sort_keys=True)}")
    print(f"wrote {', '.join(manifest['files'])} and manifest.json to {args.out} "  # type: ignore[arg-type]
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from triage.detect.evaluate import evaluate, report
    from triage.detect.model import TrainedDetector, rule_detector

    started = time.perf_counter()
    if args.rules_only:
        detector = rule_detector()
        if detector is None:
            print("triage: the rule-based detector (triage.detect.rules) is not installed", file=sys.stderr)
            return 1
    else:
        detector = TrainedDetector.load(args.models, rules=not args.model_only)
    loaded = time.perf_counter() - started
    figures, seconds = evaluate(args.data, detector)
    if args.json:
        print(json.dumps({"detector": detector.name, "data": str(args.data), **figures}, indent=2))
        return 0
    print(report(figures, f"{detector.name} on {args.data}"))
    print(f"load {loaded:.2f} s; detect {int(figures['n']) / max(seconds, 1e-9):.0f} messages/s")  # type: ignore[call-overload]
    return 0
