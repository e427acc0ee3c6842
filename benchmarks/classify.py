"""Classification benchmark (issue 4): messages per second on one core for parse, detect and both; model load.

Builds N messages (default 10,000) of mixed length from the training data: each body is one labelled
message, sometimes repeated two to eight times to make a long one, as bytes built with the stdlib email
package (plain, or multipart with an HTML alternative). Then, pinned to one core with one BLAS thread:
  (a) parse alone: triage.parse.parse on the bytes;
  (b) detect alone: the detector on the parsed Texts, in batches (detect_many) and one by one (detect);
  (c) both: parse then detect, batch by batch;
  (d) load: a fresh process importing triage and loading the models (cold), and a load in this process.
Run: .venv/bin/python benchmarks/classify.py [--messages 10000] [--models DIR] [--batch 256]
     [--model-only | --rules-only]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from threadpoolctl import threadpool_limits  # noqa: E402

from triage.detect import Text  # noqa: E402
from triage.parse import parse  # noqa: E402


def bodies() -> list[tuple[str, str]]:
    """(subject, body) of the training messages (never the test split)."""
    out = []
    for name in ("train-a.jsonl", "train-b.jsonl"):
        with (ROOT / "models" / "data" / name).open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                out.append((row["subject"], row["body"]))
    return out


def build(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    source = bodies()
    raws = []
    for i in range(n):
        subject, body = source[rng.randrange(len(source))]
        repeat = rng.choice((1, 1, 1, 1, 1, 2, 3, 4, 8, 16))  # mostly short, some long rambling ones
        if repeat > 1:
            extra = [source[rng.randrange(len(source))][1].split("\n\n")[0] for _ in range(repeat - 1)]
            body = "\n\n".join([*extra, body])
        msg = EmailMessage()
        msg["From"] = f"client{i % 700}@example.com"
        msg["To"] = "clinician@dmh.example.org"
        msg["Subject"] = subject or "(no subject)"
        msg["Message-ID"] = f"<bench-{i}@example.com>"
        msg["Date"] = "Mon, 16 Nov 2026 09:00:00 -0800"
        msg.set_content(body)
        if rng.random() < 0.3:
            msg.add_alternative("<html><body><p>" + body.replace("\n", "<br>") + "</p></body></html>", subtype="html")
        raws.append(bytes(msg))
    return raws


def cold_load(models: Path | None, which: str) -> float:
    """Seconds for a fresh interpreter to import triage and load the detector."""
    code = """import sys, time
t = time.perf_counter()
from pathlib import Path
from triage.detect.model import TrainedDetector, rule_detector
folder = Path(sys.argv[2]) if sys.argv[2] else None
d = rule_detector() if sys.argv[1] == "rules" else TrainedDetector.load(folder, rules=sys.argv[1] == "both")
print(time.perf_counter() - t)
"""
    argv = [which, str(models) if models else ""]
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--models", type=Path, default=None, help="models folder (default: the shipped models)")
    ap.add_argument("--batch", type=int, default=256)
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--model-only", action="store_true", help="the trained models without the rules")
    which.add_argument("--rules-only", action="store_true", help="the rule-based detector alone")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    with threadpool_limits(limits=1):
        run(args)


def run(args: argparse.Namespace) -> None:
    from triage.detect.model import TrainedDetector, rule_detector

    raws = build(args.messages)
    size = sum(len(r) for r in raws) / len(raws)
    print(f"{len(raws)} messages, mean {size / 1024:.1f} KB, one core")

    started = time.perf_counter()
    which = "rules" if args.rules_only else "model" if args.model_only else "both"
    detector = rule_detector() if which == "rules" else TrainedDetector.load(args.models, rules=which == "both")
    warm = time.perf_counter() - started
    if detector is None:
        sys.exit("the rule-based detector is not installed")
    cold = cold_load(args.models, which)
    print(f"detector {detector.name}: load {cold:.2f} s in a fresh process (imports included), "
          f"{warm:.2f} s here")

    started = time.perf_counter()
    messages = [parse(r) for r in raws]
    t_parse = time.perf_counter() - started
    print(f"parse alone:            {len(raws) / t_parse:8.0f} messages/s")

    texts = [Text.from_message(m) for m in messages]
    started = time.perf_counter()
    for i in range(0, len(texts), args.batch):
        detector.detect_many(texts[i:i + args.batch])
    t_detect = time.perf_counter() - started
    print(f"detect alone (batched): {len(texts) / t_detect:8.0f} messages/s")

    sample = texts[:1000]
    started = time.perf_counter()
    for t in sample:
        detector.detect(t)
    print(f"detect one at a time:   {len(sample) / (time.perf_counter() - started):8.0f} messages/s")

    started = time.perf_counter()
    for i in range(0, len(raws), args.batch):
        batch = [Text.from_message(parse(r)) for r in raws[i:i + args.batch]]
        detector.detect_many(batch)
    t_both = time.perf_counter() - started
    rate = len(raws) / t_both
    print(f"parse + detect:         {rate:8.0f} messages/s  (goal >= 500, floor 100)")


if __name__ == "__main__":
    main()
