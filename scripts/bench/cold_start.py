"""Benchmark: cold start, as fresh interpreters importing each Lambda function's code, over a bare interpreter.

    .venv/bin/python scripts/bench/cold_start.py [--runs 9]

Each case is a new ``python -c`` process (what a Lambda cold start pays for imports), the cases taking turns run
by run so machine noise hits them alike; each is reported as its median over the bare baseline
(``python -c pass``) in the same run, as wall time and as CPU time (user + sys of the child, which a shared
machine's load disturbs far less than wall time).

- ``api``: ``import app`` (both functions are one Chalice app; this is all the API function loads before a request);
- ``processor``: ``import app`` plus the imaging package (Pillow), which its first message needs;
- ``api, eager``: ``import app`` plus what it imported before imports were made lazy (Pillow, PyJWT with
  cryptography, python-multipart): the before/after ratio in the same run;
- ``deps floor``: Chalice, boto3, PynamoDB and redis alone, which every request of either function uses: what
  ``api`` costs at least while those are imported at init.

Also lists which heavy dependencies each case loads. Goals (issue 13): api <= 250 ms, processor <= 350 ms over bare.
Always exits 0.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("PIL", "pillow_heif", "jwt", "cryptography", "python_multipart", "boto3", "botocore", "pynamodb", "redis")
CASES = {
    "bare": "pass",
    "api": "import app",
    "processor": "import app; from chalicelib import imaging",
    "api, eager": "import app; import PIL.Image, jwt, python_multipart",
    "deps floor": "import chalice.app, boto3, pynamodb.models, redis",
}
GOALS_MS = {"api": 250.0, "processor": 350.0}


def run_once(code: str) -> tuple[float, float]:
    """(wall ms, CPU ms) of a fresh interpreter running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def loaded(code: str) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True)
    top = set(json.loads(out.stdout.strip().splitlines()[-1]))
    return [name for name in HEAVY if name in top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    for code in CASES.values():  # warm the page cache and __pycache__ once
        run_once(code)
    wall: dict[str, list[float]] = {name: [] for name in CASES}
    cpu: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, code in CASES.items():
            w, c = run_once(code)
            wall[name].append(w)
            cpu[name].append(c)

    bare_wall, bare_cpu = statistics.median(wall["bare"]), statistics.median(cpu["bare"])
    print(f"fresh interpreters, median of {args.runs}; bare python: {bare_wall:.0f} ms wall, {bare_cpu:.0f} ms CPU")
    print(f"{'case':<12} {'wall over bare':>15} {'CPU over bare':>14}  heavy modules loaded")
    over: dict[str, tuple[float, float]] = {}
    for name, code in CASES.items():
        if name == "bare":
            continue
        over[name] = (statistics.median(wall[name]) - bare_wall, statistics.median(cpu[name]) - bare_cpu)
        print(f"{name:<12} {over[name][0]:12.0f} ms {over[name][1]:11.0f} ms  {', '.join(loaded(code))}")
    print(f"api vs api-eager (CPU over bare): {over['api'][1] / over['api, eager'][1]:.2f}x")
    for name, goal in GOALS_MS.items():
        value = over[name][1]
        print(f"cold_start_{name}_cpu {value:.0f} ms goal <= {goal:.0f} ms {'met' if value <= goal else 'missed'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
