"""What importing our logging + metrics costs at cold start, against aws-lambda-powertools' Logger + Metrics.

    .venv/bin/python scripts/bench/import_cost.py [--runs 21]

Each case is timed in a fresh interpreter (a cold start imports everything once), the cases interleaved so
machine load hits them alike; medians are printed with their ratio to ours. The settings module (which either
option reads for the stage and log level) is imported before the clock starts. ``after deps`` first imports
what the app imports anyway (boto3, chalice, redis, pynamodb, jwt), so it shows the marginal cost inside
today's app; ``bare`` shows it once those are lazy (the cold-start goal of issue 13). The numbers and the
decision: docs/adr/0005-metrics-emf.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPS = "import boto3, chalice, redis, pynamodb, jwt"
BASELINE = "ours (chalicelib.logs + EMF emitter)"
CASES = {
    BASELINE: "import chalicelib.logs, chalicelib.metrics",
    "powertools Logger + Metrics": "from aws_lambda_powertools import Logger, Metrics",
}
TIMER = (
    "import sys, time\nexec(sys.argv[1])\nimport json, logging, chalicelib.settings, chalicelib.queues\n"
    "t = time.perf_counter()\nexec(sys.argv[2])\nprint((time.perf_counter() - t) * 1000)"
)


def once(setup: str, statement: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", TIMER, setup, statement], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    for label, setup in (("bare", "pass"), ("after deps", DEPS)):
        samples: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.runs):
            for name, statement in CASES.items():
                samples[name].append(once(setup, statement))
        base = statistics.median(samples[BASELINE])
        for name, values in samples.items():
            median = statistics.median(values)
            print(f"{label:10} {name:38} median {median:7.1f} ms  {median / base:5.2f}x ours")


if __name__ == "__main__":
    main()
