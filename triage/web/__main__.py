"""`python -m triage.web serve|user ...`: the same commands as `triage serve|user`, runnable on their own."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from triage.errors import TriageError
from triage.web.commands import register


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m triage.web")
    parser.add_argument("-c", "--config", default=os.environ.get("TRIAGE_CONFIG", "config.toml"))
    register(parser.add_subparsers(metavar="COMMAND"))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TriageError as exc:
        print(f"triage: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
