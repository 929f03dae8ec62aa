"""Benchmark: what our own modules cost at import, above the libraries, and how much of it is dataclasses.

    .venv/bin/python scripts/bench/own_modules.py [--runs 9]

``scripts/bench/cold_start.py`` splits ``import app`` into the libraries every request uses (its ``deps floor``)
and the rest. This script splits the rest: each run is a fresh interpreter that imports the floor, then times
``import app`` (wall clock, bytecode cached in a temporary ``PYTHONPYCACHEPREFIX``) with ``dataclasses``'
class processing timed around each ``@dataclass`` (on Python 3.12 and 3.13 every generated method, ``__init__``,
``__repr__``, ``__eq__``, ``__hash__`` and a frozen class's ``__setattr__``/``__delattr__``, is compiled from source
by its own ``exec``). Prints the medians, dataclasses' share of our import, and the costliest classes of the
last run. Always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOOR = "import chalice.app, botocore.session, pynamodb.models, redis"  # cold_start.py's deps floor

PROBE = f"""
import dataclasses, json, time
{FLOOR}
process_class = dataclasses._process_class
classes = []

def timed(cls, *args, **kwargs):
    started = time.perf_counter()
    try:
        return process_class(cls, *args, **kwargs)
    finally:
        classes.append((cls.__module__ + "." + cls.__qualname__, (time.perf_counter() - started) * 1000))

dataclasses._process_class = timed
started = time.perf_counter()
import app
total = (time.perf_counter() - started) * 1000
print(json.dumps({{"total": total, "classes": classes}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as pycache:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
        env.update(STAGE="local", PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=pycache)
        results = []
        for run in range(args.runs + 1):  # the first run compiles the bytecode: not counted
            out = subprocess.run(
                [sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True, capture_output=True, text=True
            )
            if run:
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    totals = [r["total"] for r in results]
    in_dataclasses = [sum(ms for _, ms in r["classes"]) for r in results]
    total, dc = statistics.median(totals), statistics.median(in_dataclasses)
    count = len(results[-1]["classes"])
    print(f"import app after the deps floor, median of {args.runs} fresh interpreters (wall, bytecode cached):")
    print(f"  our modules            {total:6.1f} ms")
    print(f"  of which @dataclass    {dc:6.1f} ms  ({dc / total:.0%}; {count} classes, {dc / count:.2f} ms each)")
    print("  costliest classes (last run; the first one also pays dataclasses' own warm-up):")
    for name, ms in sorted(results[-1]["classes"], key=lambda c: -c[1])[:5]:
        print(f"    {name:<48} {ms:5.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
