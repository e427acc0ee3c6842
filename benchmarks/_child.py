"""Runs one triage measurement in a fresh process so its peak memory is its own."""

from __future__ import annotations

import resource
import sys
import time

from triage.config import load_config
from triage.logs import setup_logging
from triage.worker import Worker, open_store


def main() -> None:
    config = load_config(sys.argv[1])
    setup_logging("WARNING", "text")
    store, crypto = open_store(config)
    worker = Worker(config, store, crypto)
    if sys.argv[2] == "first":
        start = time.perf_counter()
        results = worker.poll_all()
        seconds = time.perf_counter() - start
        n = sum(r.total("recorded") for r in results)
        errors = [r.error for r in results if r.error]
        print(f"first ingest: {n} recorded in {seconds:.2f} s; errors: {errors or 'none'}")
    else:
        worker.poll_all()  # connect and log in: the kept connection
        rounds = 20
        start = time.perf_counter()
        for _ in range(rounds):
            worker.poll_all()
        per = (time.perf_counter() - start) / rounds / len(worker.mailboxes) * 1000
        print(f"(d) idle poll, kept connection: {per:.2f} ms per mailbox "
              f"(includes the store's bookkeeping of the poll)")
    worker.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    extra = f", largest parser process {children:.0f} MB" if children else ""
    print(f"(e) peak memory ({sys.argv[2]}): {peak:.0f} MB{extra}")


if __name__ == "__main__":
    main()
