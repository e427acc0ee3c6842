"""`python -m triage.web serve|user ...`: the same commands as `triage serve|user` (the one CLI)."""

from __future__ import annotations

import sys

from triage.cli import main

if __name__ == "__main__":
    sys.exit(main())
