"""``make bench-quick``: one line per issue-13 goal, ``name value goal met|missed``, in under a minute.

    .venv/bin/python scripts/bench/quick.py

Thumbnails are measured here (a short run of ``scripts/bench/thumbnails.py``: the real phone JPEGs, the dense
restart-marker file and the 24 MP file, median of 5, peak RSS of ours at 24 MP). The other goals belong to other
scripts, run as child processes when they exist; the contract is that such a script, given ``--quick``, prints
its own goal lines in the same ``name value goal met|missed`` shape (any other output is passed through as
comments). A goal with no script is printed as ``not measured ... missed`` with what would measure it: a goal is
never reported met without a measurement.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench import thumbnails  # noqa: E402

QUICK_INPUTS = ("jolla", "iphone", "iphone-rst4", "24MP")
_GOAL_LINE = re.compile(r"^\S+ .+ (met|missed)\b")

# Goals measured by other engineers' scripts: (script, goal names it is expected to print, the goal text).
OTHER_GOALS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "scripts/bench/cold_start.py",
        (("cold_start_api_import", "<= 250ms over a bare interpreter"), ("cold_start_processor_import", "<= 350ms")),
    ),
    (
        "scripts/bench/package_size.py",
        (("package_size", "each function's code package small, layer sizes stated"),),
    ),
    ("scripts/bench/upload_ready.py", (("upload_to_ready_p95_c20", "<= 2.5s (40 uploads, c=20)"),)),
    ("scripts/bench/read_path.py", (("reads_p99_c20", "<= 50ms (c=20)"),)),
    ("scripts/bench/test_duration.py", (("make_test_fresh_clone", "<= 10min"),)),
)


def _other(script: str, goals: tuple[tuple[str, str], ...], budget_s: float) -> list[str]:
    path = ROOT / script
    if not path.exists():
        return [f"{name} not-measured {goal} missed: not measured ({script} does not exist)" for name, goal in goals]
    try:
        proc = subprocess.run(
            [sys.executable, str(path), "--quick"],
            capture_output=True,
            text=True,
            timeout=max(5.0, budget_s),
            check=False,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return [f"{name} not-measured {goal} missed: {script} --quick ran out of time" for name, goal in goals]
    lines = [line for line in proc.stdout.splitlines() if _GOAL_LINE.match(line)]
    if not lines:
        why = (proc.stderr.strip().splitlines() or ["no goal lines printed"])[-1]
        return [f"{name} not-measured {goal} missed: {script} --quick: {why}" for name, goal in goals]
    return lines


def main() -> None:
    start = time.monotonic()
    variants = ("ours", "ours-before", "naive", "vips-thumbnail", "vips-cascade")
    report = thumbnails.run(QUICK_INPUTS, repeat=5, memory_for=("24MP",), memory_variants=("ours",), only=variants)
    for name, value, goal, ok in thumbnails.goal_lines(report):
        print(f"{name} {value} {goal} {thumbnails.verdict(ok)}", flush=True)
    for script, goals in OTHER_GOALS:
        remaining = 55.0 - (time.monotonic() - start)
        for line in _other(script, goals, remaining):
            print(line, flush=True)


if __name__ == "__main__":
    main()
