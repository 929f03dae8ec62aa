"""Benchmark: does an upload of bytes someone else already has reach ``ready`` faster or slower than a fresh one?

    .venv/bin/python scripts/bench/dedup_timing.py [--rounds 40] [--size 1600x1200]

Issue 14: "no timing difference a client can measure over the network". A fresh local stack starts
(``scripts/stack.py``: moto, redis nodes, the API, the worker, the edge). Two users sign up. Each round makes a
photo nobody has uploaded (a real camera photo from ``tests/fixtures``, resized to ``--size``, with a small random
patch so its bytes are new) and then, as a client would, over HTTP through the edge:

- presigned path: ``POST /api/v1/images/upload-url``, the file to the bucket with the form, then polling ``GET
  /api/v1/images/{id}`` every 10 ms until ``ready``: the time from the first request to the ``ready`` answer;
- direct path: ``POST /api/v1/images/upload`` (processed inline): the response time.

Each path is timed for the *fresh* upload (user A, bytes nobody has) and the *duplicate* (user B, the same
bytes, one content item and one set of objects with A's record), alternating which user uploads first so that
neither is always the warm one; only the upload that finds the bytes already stored counts as the duplicate.
Reported: median, interquartile range, min and max per path and kind, and the ratio duplicate / fresh of the
medians with the Mann-Whitney U test's p-value (is the difference distinguishable at all?). Always exits 0.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from PIL import Image  # noqa: E402

from scripts.bench.dedup_storage import sign_up  # noqa: E402
from scripts.stack import Stack, StackConfig  # noqa: E402

SOURCE = ROOT / "tests" / "fixtures" / "jolla.jpg"
POLL_SECONDS = 0.01
READY_TIMEOUT_SECONDS = 120.0


def new_photo(base: Image.Image) -> bytes:
    """The base photo with a random 32x32 patch: same size and cost, bytes nobody has."""
    image = base.copy()
    image.paste(Image.frombytes("RGB", (32, 32), secrets.token_bytes(32 * 32 * 3)), (0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def presigned_to_ready(base: str, auth: dict[str, str], data: bytes, session: requests.Session) -> float:
    started = time.perf_counter()
    ticket = session.post(
        f"{base}/api/v1/images/upload-url",
        json={"filename": "bench.jpg", "content_type": "image/jpeg", "size": len(data)},
        headers=auth,
        timeout=30,
    ).json()
    form = ticket["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("b.jpg", data, "image/jpeg")}, timeout=30)
    posted.raise_for_status()
    deadline = started + READY_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        status = session.get(f"{base}/api/v1/images/{ticket['id']}", headers=auth, timeout=30).json()["status"]
        if status != "pending":
            if status != "ready":
                raise SystemExit(f"upload ended {status}")
            return time.perf_counter() - started
        time.sleep(POLL_SECONDS)
    raise SystemExit("an upload did not become ready in time")


def direct_upload(base: str, auth: dict[str, str], data: bytes, session: requests.Session) -> float:
    started = time.perf_counter()
    response = session.post(
        f"{base}/api/v1/images/upload", files={"file": ("bench.jpg", data, "image/jpeg")}, headers=auth, timeout=60
    )
    response.raise_for_status()
    return time.perf_counter() - started


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test, normal approximation (no ties correction; n >= 20 each)."""
    ranked = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    rank_sum = sum(rank + 1 for rank, (_, group) in enumerate(ranked) if group == 0)
    n1, n2 = len(a), len(b)
    u = rank_sum - n1 * (n1 + 1) / 2
    mean, sd = n1 * n2 / 2, (n1 * n2 * (n1 + n2 + 1) / 12) ** 0.5
    z = abs(u - mean) / sd if sd else 0.0
    return float(2 * (1 - statistics.NormalDist().cdf(z)))


def summary(values: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(values, n=4)
    ms = [v * 1000 for v in (median, q1, q3, min(values), max(values))]
    return f"median {ms[0]:7.1f} ms  IQR {ms[1]:7.1f}-{ms[2]:7.1f}  min {ms[3]:7.1f}  max {ms[4]:7.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--size", default="1600x1200")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    with Image.open(SOURCE) as source:
        base = source.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    config = StackConfig.ephemeral(extra_env={"RATE_LIMIT_UPLOADS_PER_MINUTE": "0"})
    stack = Stack(config).start(timeout=120)
    results: dict[tuple[str, str], list[float]] = {}
    try:
        url = stack.url
        users = [sign_up(url), sign_up(url)]
        sessions = [requests.Session(), requests.Session()]
        for warm in range(2):  # warm both paths and both users' sessions
            data = new_photo(base)
            presigned_to_ready(url, users[warm], data, sessions[warm])
            direct_upload(url, users[warm], new_photo(base), sessions[warm])
        load = os.getloadavg()[0]
        for n in range(args.rounds):
            first, second = (0, 1) if n % 2 == 0 else (1, 0)
            for path, run in (("presigned->ready", presigned_to_ready), ("direct upload", direct_upload)):
                data = new_photo(base)
                results.setdefault((path, "fresh"), []).append(run(url, users[first], data, sessions[first]))
                results.setdefault((path, "duplicate"), []).append(run(url, users[second], data, sessions[second]))
    finally:
        stack.stop()
    print(
        f"dedup timing: {args.rounds} rounds, {width}x{height} JPEG from {SOURCE.name}, "
        f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs"
    )
    for path in ("presigned->ready", "direct upload"):
        fresh, duplicate = results[(path, "fresh")], results[(path, "duplicate")]
        print(f"{path:17} fresh      {summary(fresh)}")
        print(f"{path:17} duplicate  {summary(duplicate)}")
        ratio = statistics.median(duplicate) / statistics.median(fresh)
        print(
            f"{path:17} duplicate/fresh medians {ratio:.3f}x  Mann-Whitney p = {mann_whitney_p(fresh, duplicate):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
