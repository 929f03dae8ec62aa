"""Benchmark: the CPU our AWS clients cost, one shared botocore session (ADR 0016) against stock boto3/PynamoDB.

    .venv/bin/python scripts/bench/aws_sessions.py [--runs 7] [--transactions 40]

Two parts, each before/after in the same run, turns taken so machine noise hits both alike:

- **cold**: a fresh interpreter (what a Lambda cold start pays) imports the client library and makes what one
  upload's processing needs: the S3 and SQS clients and PynamoDB connections for the image record, its content
  item and the user (three model classes), then one transaction connection. *Stock* is the code as it was:
  ``boto3.client`` (imports boto3 and s3transfer) and PynamoDB's session per connection; *shared* is
  ``chalicelib.clients``: botocore clients from one session that PynamoDB uses too. Median CPU (user + sys of the
  child) over ``--runs``, less a bare interpreter's.
- **warm**: in one process, the cost of the connection each transaction used (stock ``connection()`` made a new
  PynamoDB ``Connection``, so a new botocore session and DynamoDB client per transaction: ``--transactions``
  of them) against the one cached connection; the transaction itself goes to in-process moto in both, so the
  difference is the client making. CPU per transaction.

No network, no stack; moto in-process. Always exits 0.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from chalicelib.models import ImageRecord

OFFLINE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "STAGE": "local",
}

# The same work both ways: S3 + SQS clients, three model connections' clients, one transaction connection's.
STOCK = """
import boto3
from botocore.config import Config
from pynamodb.connection import Connection
boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
boto3.client("sqs", region_name="us-east-1")
for _ in range(3):
    Connection(region="us-east-1").client
Connection(region="us-east-1").client
"""
SHARED = """
from chalicelib import clients, models
models.share_session()
clients.s3(); clients.sqs()
from pynamodb.connection import Connection
for _ in range(3):
    Connection(region="us-east-1").client
models.connection("us-east-1").client
"""


def child_cpu_ms(code: str, env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def cold(runs: int) -> dict[str, float]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **OFFLINE}
    cases = {"bare": "pass", "stock": STOCK, "shared": SHARED}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, code in cases.items():
            samples[name].append(child_cpu_ms(code, env))
    bare = statistics.median(samples["bare"])
    return {name: statistics.median(values) - bare for name, values in samples.items() if name != "bare"}


def record(image_id: str) -> ImageRecord:
    from chalicelib import models

    now = "2026-12-01T00:00:00Z"
    return models.ImageRecord(
        id=image_id,
        status="pending",
        filename="bench.jpg",
        content_type="image/jpeg",
        size=1,
        created_at=now,
        created_key=f"{now}#{image_id}",
    )


def warm(transactions: int) -> dict[str, float]:
    os.environ.update(OFFLINE)
    from moto import mock_aws
    from pynamodb.connection import Connection, base
    from pynamodb.transactions import TransactWrite

    from chalicelib import models
    from chalicelib.settings import get_settings

    results: dict[str, float] = {}
    with mock_aws():
        settings = get_settings()
        models.bind_tables(settings)
        models.ImageRecord.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        import botocore.session

        def stock_connection(region: str) -> Connection:
            base.get_session = botocore.session.get_session  # type: ignore[attr-defined]  # stock PynamoDB
            try:
                made = Connection(region=region)
                made.client  # noqa: B018  # the client (and its session) made now, as the transaction would
                return made
            finally:
                models.share_session()

        # Shared first, and a full collection before each: stock leaves many sessions' worth of garbage, whose
        # collection must not land in the other case's time.
        for name, connect in (("shared", models.connection), ("stock", stock_connection)):
            for _ in range(2):  # warm-up: the shared connection made once, moto's handlers loaded
                with TransactWrite(connection=connect(settings.region)) as transaction:
                    transaction.save(record("warm-up"))
            gc.collect()
            started = time.process_time()
            for i in range(transactions):
                with TransactWrite(connection=connect(settings.region)) as transaction:
                    transaction.save(record(f"{name}-{i}"))
            results[name] = (time.process_time() - started) * 1000 / transactions
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--transactions", type=int, default=40)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    c = cold(args.runs)
    print(
        f"cold: stock {c['stock']:.0f} ms, shared {c['shared']:.0f} ms CPU over bare "
        f"(median of {args.runs}; stock/shared {c['stock'] / c['shared']:.2f}x)"
    )
    w = warm(args.transactions)
    print(
        f"warm: per transaction stock {w['stock']:.1f} ms, shared {w['shared']:.1f} ms CPU "
        f"({args.transactions} each, moto in-process included; stock/shared {w['stock'] / w['shared']:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
