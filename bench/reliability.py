"""The standing reliability suite, full version (prints; exits 1 if any check failed).

SIGKILLs the host 10 times at random moments during a 300-item document batch, then up to 10
times during a detect-batch (once in its preparation, once in its scoring, then at short random
gaps while it still runs: the vectorised detect-batch often ends before all 10), and checks
that each job completes, every result parses, no item is missing or doubled, and no temp file
or stored request is left. The short version runs in CI as `tests/e2e/test_reliability.py`.

    .venv/bin/python bench/reliability.py [--kills 10] [--items 300] [--timestamps 150000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.reliability import Outcome, detect_batch, document_batch


def show(name: str, outcome: Outcome) -> bool:
    restarts = outcome.restart_seconds
    slowest = f"{max(restarts):.2f}" if restarts else "-"
    print(
        f"{name:<36} {outcome.kills:>2} SIGKILLs  job {outcome.elapsed:6.1f} s  "
        f"restart max {slowest} s  problems: {len(outcome.problems)}",
        flush=True,
    )
    for problem in outcome.problems[:20]:
        print(f"    {problem}")
    return not outcome.problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--timestamps", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        ok &= show(
            f"document batch, {args.items} items",
            document_batch(Path(tmp), args.items, args.kills, seed=args.seed),
        )
    with tempfile.TemporaryDirectory() as tmp:
        ok &= show(
            f"detect-batch, {args.timestamps} timestamps",
            detect_batch(Path(tmp), args.timestamps, args.kills, seed=args.seed, gap=(0.05, 0.4)),
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
