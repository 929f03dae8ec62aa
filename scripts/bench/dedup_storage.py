"""Benchmark: bytes stored for a batch of uploads with duplicates, shared renditions against one copy per upload.

    .venv/bin/python scripts/bench/dedup_storage.py [--uploads 40] [--users 4]

A fresh local stack starts (``scripts/stack.py``). The batch: every real photo in ``tests/fixtures`` (JPEGs and
the HEIC; not the damaged file) taken in turn until ``--uploads`` files, uploaded through the API's direct path
(``POST /api/v1/images/upload``) by ``--users`` users in turn, so most duplicates cross owners. The duplicate ratio
is known from the batch: 1 - distinct / uploads.

Reported from the bucket and the table afterwards: the bytes uploaded; the bytes stored **with** dedup (every
object under ``content/``: one generation per distinct content); the bytes that would be stored **without** (each
record's renditions counted once per record, which is what one copy per upload stored before); objects both ways;
and the ratio. Always exits 0.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import requests  # noqa: E402

from scripts.stack import Stack, StackConfig  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SKIP = {"corrupted.jpg"}


def batch(uploads: int) -> list[Path]:
    photos = sorted(p for p in FIXTURES.iterdir() if p.suffix.lower() in {".jpg", ".heic"} and p.name not in SKIP)
    return [photos[i % len(photos)] for i in range(uploads)]


def sign_up(base: str) -> dict[str, str]:
    email = f"bench-{secrets.token_hex(6)}@example.com"
    response = requests.post(
        f"{base}/api/v1/auth/register", json={"email": email, "password": "correct horse battery"}, timeout=30
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--users", type=int, default=4)
    args = parser.parse_args()
    files = batch(args.uploads)
    config = StackConfig.ephemeral(extra_env={"RATE_LIMIT_UPLOADS_PER_MINUTE": "0"})
    stack = Stack(config).start(timeout=120)
    try:
        users = [sign_up(stack.url) for _ in range(args.users)]
        uploaded = 0
        ids: list[str] = []
        for n, path in enumerate(files):
            data = path.read_bytes()
            uploaded += len(data)
            response = requests.post(
                f"{stack.url}/api/v1/images/upload",
                files={"file": (path.name, data, "application/octet-stream")},
                headers=users[n % len(users)],
                timeout=120,
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
        env = {k: v for k, v in stack.env().items() if k.startswith("AWS_")}
        kwargs: dict[str, Any] = {"region_name": "us-east-1", "endpoint_url": env.get("AWS_ENDPOINT_URL")}
        kwargs |= {
            "aws_access_key_id": env.get("AWS_ACCESS_KEY_ID"),
            "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY"),
        }
        s3, dynamodb = boto3.client("s3", **kwargs), boto3.client("dynamodb", **kwargs)
        bucket = stack.env().get("BUCKET_NAME", "chitram-images")
        sizes: dict[str, int] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="content/"):
            sizes |= {item["Key"]: int(item["Size"]) for item in page.get("Contents", [])}
        per_generation: dict[str, list[int]] = {}
        for key, size in sizes.items():
            per_generation.setdefault(key.split("/")[1], []).append(size)
        without = objects_without = 0
        for image_id in ids:
            item = dynamodb.get_item(TableName="chitram-images", Key={"id": {"S": image_id}})["Item"]
            generation = per_generation[item["file_key"]["S"].split("/")[1]]
            without += sum(generation)
            objects_without += len(generation)
    finally:
        stack.stop()
    distinct = len(set(files))
    stored = sum(sizes.values())
    mib = 1024 * 1024
    print(
        f"dedup storage: {len(files)} uploads of {distinct} distinct real photos (tests/fixtures), {args.users} users "
        f"in turn; duplicate ratio {1 - distinct / len(files):.0%}"
    )
    print(f"uploaded                       {uploaded / mib:8.2f} MiB")
    print(f"stored without dedup (before)  {without / mib:8.2f} MiB in {objects_without} objects")
    print(f"stored with dedup              {stored / mib:8.2f} MiB in {len(sizes)} objects")
    print(f"with / without                 {stored / without:.3f}x  (saved {(without - stored) / mib:.2f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
