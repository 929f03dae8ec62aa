"""How long ``make test`` takes on a fresh clone (issue 13: <= 10 minutes, no tier dropped).

    .venv/bin/python scripts/bench/test_duration.py            # clone HEAD into a temporary directory, time make test
    .venv/bin/python scripts/bench/test_duration.py --quick    # print the last recorded measurement, labelled so

A real measurement takes longer than the whole of ``make bench-quick``'s minute (and installs a virtualenv and
LocalStack), so the quick mode prints what the last full run recorded in ``docs/benchmarks/recorded.json``, with its
date, never as re-measured.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench import recorded  # noqa: E402

NAME = "make_test_fresh_clone"
GOAL_MINUTES = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="print the recorded measurement")
    args = parser.parse_args()
    if args.quick:
        print(recorded.line(NAME))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "chitram"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        started = time.monotonic()
        result = subprocess.run(["make", "test"], cwd=clone, check=False)
        minutes = (time.monotonic() - started) / 60
    met = result.returncode == 0 and minutes <= GOAL_MINUTES
    why = "" if result.returncode == 0 else f"make test failed (exit {result.returncode})"
    recorded.record(
        NAME,
        f"{minutes:.1f}min",
        f"<={GOAL_MINUTES:.0f}min",
        met=met,
        command="scripts/bench/test_duration.py",
        why=why,
    )
    print(recorded.line(NAME).replace(", not re-measured", ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
