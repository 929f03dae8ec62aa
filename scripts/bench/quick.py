"""``make bench-quick``: one line per issue-13 goal, ``name value goal met|missed``, in under a minute.

    .venv/bin/python scripts/bench/quick.py

Measured here: thumbnails (a short run of ``scripts/bench/thumbnails.py``: the real phone JPEGs, the dense
restart-marker file and the 24 MP file, median of 3, peak RSS of ours at 24 MP; the 48 MP file one pass, and the
HEIC and the PNG reported beside it, one pass), cold start
(``cold_start.py --quick``: the built package as Lambda unzips it, 3 runs) and the package sizes
(``package_size.py --quick``: ``build/package``, built first if missing) and the processing cost per upload
(``upload_cost.py --quick``: one pass over the 12/24/48 MP JPEGs and the HEIC). Recorded, not re-measured (each needs
the local stack or a fresh clone, minutes rather than seconds): local throughput (upload -> ready p95, reads p99)
and a fresh clone's ``make test``, printed from ``docs/benchmarks/recorded.json`` with the date and command of
the measurement (``scripts/bench/recorded.py``; the full scripts update it). A goal is never reported met without
a measurement; every missed line says why and what would close it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench import recorded, thumbnails  # noqa: E402

QUICK_INPUTS = ("jolla", "iphone", "iphone-rst4", "24MP")
# One pass each (the naive baseline takes ~6 s a pass at 48 MP): the 48 MP goals, and HEIC and PNG reported.
ONE_PASS_INPUTS = ("48MP", "heic", "png")
_GOAL_LINE = re.compile(r"^\S+ .+ (met|missed)\b")

# Goals measured by other scripts: (script, its arguments for a short run, the goals it prints).
OTHER_GOALS: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], ...] = (
    (
        "scripts/bench/cold_start.py",
        ("--quick",),
        (("cold_start_api_cpu", "<= 250ms over a bare interpreter"), ("cold_start_processor_cpu", "<= 350ms")),
    ),
    (
        "scripts/bench/package_size.py",
        ("--quick",),
        (("package_size", "each function's code package small, layer sizes stated"),),
    ),
    (
        "scripts/bench/upload_cost.py",
        ("--quick",),
        (("upload_cost_per_million_lambda", "12/24/48 MP and HEIC stated in docs/capacity.md"),),
    ),
)
# Recorded by the slow scripts (scripts/bench/recorded.py), printed with their date.
RECORDED_GOALS = ("upload_to_ready_p95_c20", "reads_p99_c20", "make_test_fresh_clone")
OTHER_BUDGET_S = 40.0


def _other(script: str, args: tuple[str, ...], goals: tuple[tuple[str, str], ...]) -> list[str]:
    path = ROOT / script
    if not path.exists():
        return [f"{name} not-measured {goal} missed: not measured ({script} does not exist)" for name, goal in goals]
    try:
        proc = subprocess.run(
            [sys.executable, str(path), *args],
            capture_output=True,
            text=True,
            timeout=OTHER_BUDGET_S,
            check=False,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return [
            f"{name} not-measured {goal} missed: {script} {' '.join(args)} ran past {OTHER_BUDGET_S:.0f}s"
            for name, goal in goals
        ]
    lines = [line for line in proc.stdout.splitlines() if _GOAL_LINE.match(line)]
    if not lines:
        why = (proc.stderr.strip().splitlines() or ["no goal lines printed"])[-1]
        return [f"{name} not-measured {goal} missed: {script}: {why}" for name, goal in goals]
    return lines


def main() -> None:
    variants = ("ours", "ours-before", "naive", "vips-thumbnail", "vips-cascade")
    report = thumbnails.run(QUICK_INPUTS, repeat=3, memory_for=("24MP",), memory_variants=("ours",), only=variants)
    once = thumbnails.run(ONE_PASS_INPUTS, repeat=1, memory_for=(), only=variants)
    for name, value, goal, ok in thumbnails.goal_lines(report) + thumbnails.goal_lines(once):
        print(f"{name} {value} {goal} {thumbnails.verdict(ok, name)}", flush=True)
    for line in thumbnails.reported_lines(once):
        print(line, flush=True)
    for script, args, goals in OTHER_GOALS:
        for line in _other(script, args, goals):
            print(line, flush=True)
    for name in RECORDED_GOALS:
        print(recorded.line(name), flush=True)


if __name__ == "__main__":
    main()
