"""Benchmark: metadata reads at concurrency 20 against the local API, with and without a real listen backlog.

    .venv/bin/python scripts/bench/read_path.py [--concurrency 20] [--reads 400] [--rounds 3]

Starts the local stack on free ports (``scripts/stack.py``: moto, three redis-servers, the API through
``scripts/local_api.py``), plus a second API process on the same emulators run as plain ``chalice local`` (whose
``listen()`` backlog is socketserver's default of 5): the baseline, in the same run. Uploads one small image,
then, round by round and taking turns, sends ``--reads`` ``GET /api/v1/images/{id}`` from ``--concurrency``
threads to each server (a new connection per request, as chalice's HTTP/1.0 handler closes every one) and prints
p50/p95/p99/max per server and the p99 ratio. Goal (issue 13): p99 <= 50 ms at c=20. Always exits 0.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from scripts.bench import recorded  # noqa: E402
from scripts.stack import BIN, HOST, Stack, StackConfig, free_port  # noqa: E402

GOAL_P99_MS = 50.0


def upload_png(port: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + buf.getvalue()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("POST", "/api/v1/images/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    if response.status != 201:
        raise RuntimeError(f"upload failed: {response.status} {payload[:200]!r}")
    return str(json.loads(payload)["id"])


def one_read(port: int, path: str) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status}")
    return (time.perf_counter() - started) * 1000


def burst(port: int, path: str, reads: int, concurrency: int) -> list[float]:
    """``reads`` GETs from ``concurrency`` threads, all released at once; the latency of each, in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(concurrency)
    per_thread = [reads // concurrency + (1 if i < reads % concurrency else 0) for i in range(concurrency)]

    def worker(count: int) -> None:
        start.wait()
        mine = [one_read(port, path) for _ in range(count)]
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--reads", type=int, default=400, help="per server per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with Stack(StackConfig.ephemeral()) as stack:
        baseline_port = free_port()
        baseline = stack.spawn(
            "api-baseline",
            [
                str(BIN / "chalice"),
                "local",
                "--no-autoreload",
                "--stage",
                "local",
                "--host",
                HOST,
                "--port",
                str(baseline_port),
            ],
        )
        stack._wait_http(f"http://{HOST}:{baseline_port}/health", baseline, 60)
        servers = {"chalice local (backlog 5)": baseline_port, "scripts/local_api.py": stack.config.api_port}
        path = f"/api/v1/images/{upload_png(stack.config.api_port)}"
        for port in servers.values():  # warm: caches, connection pools, first-request imports
            burst(port, path, args.concurrency * 2, args.concurrency)
        results: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, port in servers.items():
                results[name] += burst(port, path, args.reads, args.concurrency)

    print(f"GET {{image}} metadata, concurrency {args.concurrency}, {args.rounds} x {args.reads} reads per server")
    print(f"{'server':<28} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  >=1 s")
    p99 = {}
    for name, values in results.items():
        p99[name] = percentile(values, 99)
        slow = sum(v >= 1000 for v in values)
        print(
            f"{name:<28} {statistics.median(values):8.1f} {percentile(values, 95):8.1f} {p99[name]:8.1f}"
            f" {max(values):8.1f}  {slow}"
        )
    ours, base = p99["scripts/local_api.py"], p99["chalice local (backlog 5)"]
    print(f"p99 ratio ours / baseline: {ours / base:.3f}")
    verdict = "met" if ours <= GOAL_P99_MS else "missed"
    print(f"read_p99_c{args.concurrency} {ours:.1f} ms goal <= {GOAL_P99_MS:.0f} ms {verdict}")
    command = "scripts/bench/read_path.py " + " ".join(sys.argv[1:])
    recorded.record(
        f"reads_p99_c{args.concurrency}",
        f"{ours:.1f}ms",
        f"<={GOAL_P99_MS:.0f}ms",
        met=ours <= GOAL_P99_MS,
        command=command,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
