"""Read the EMF metrics the stack wrote to its logs: a table per metric and a latency/throughput chart.

Locally the API and the worker print their CloudWatch EMF lines (chalicelib/metrics.py) into ``.run/api.log``
and ``.run/worker.log``; this reads them back the way CloudWatch would, so the numbers a deployed dashboard
shows can be checked on a laptop first (``make metrics``).

    python scripts/metrics.py .run/api.log .run/worker.log [--png build/metrics.png] [--bucket-seconds 10]

The table has one row per metric and dimension combination (Stage left out): count of data points, sum, and
p50/p95 for timings and sizes. The PNG (drawn with Pillow, already a dependency) plots API latency p50/p95
and requests per bucket over the run.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("metrics")

DISTRIBUTION_UNITS = frozenset({"Milliseconds", "Seconds", "Microseconds", "Bytes", "Kilobytes", "Megabytes"})


@dataclass(frozen=True)
class Point:
    name: str
    unit: str
    value: float
    timestamp_ms: int
    dimensions: tuple[tuple[str, str], ...]


def parse_emf(lines: Iterable[str]) -> Iterator[Point]:
    """Every metric value in EMF lines; other lines (logs, tracebacks) are skipped."""
    for line in lines:
        start = line.find("{")
        if start < 0 or '"_aws"' not in line:
            continue
        try:
            record = json.loads(line[start:])
            meta = record["_aws"]
            timestamp = int(meta["Timestamp"])
        except (ValueError, KeyError, TypeError):
            continue
        for directive in meta.get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", []):
                dims = tuple((name, str(record.get(name, ""))) for name in dimension_set)
                for metric in directive.get("Metrics", []):
                    value = record.get(metric.get("Name"))
                    values = value if isinstance(value, list) else [value]
                    for v in values:
                        if isinstance(v, int | float) and not isinstance(v, bool):
                            yield Point(metric["Name"], metric.get("Unit", "None"), float(v), timestamp, dims)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (what CloudWatch's pNN statistics approximate)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Series:
    name: str
    unit: str
    dimensions: tuple[tuple[str, str], ...]
    values: list[float] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        labels = ", ".join(f"{k}={v}" for k, v in self.dimensions if k != "Stage")
        row: dict[str, Any] = {
            "metric": self.name,
            "dimensions": labels,
            "unit": self.unit,
            "count": len(self.values),
            "sum": sum(self.values),
        }
        if self.unit in DISTRIBUTION_UNITS:
            row["p50"] = percentile(self.values, 50)
            row["p95"] = percentile(self.values, 95)
        return row


def summarize(points: Iterable[Point]) -> list[Series]:
    series: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
    for point in points:
        key = (point.name, point.dimensions)
        if key not in series:
            series[key] = Series(point.name, point.unit, point.dimensions)
        series[key].values.append(point.value)
    return sorted(series.values(), key=lambda s: (s.name, s.dimensions))


def _number(value: Any) -> str:
    if value is None or value == "":
        return ""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def render_table(series: Sequence[Series]) -> str:
    columns = ["metric", "dimensions", "unit", "count", "sum", "p50", "p95"]
    rows = [
        [str(r.get(c, "")) if c in {"metric", "dimensions", "unit"} else _number(r.get(c)) for c in columns]
        for r in (s.row() for s in series)
    ]
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c) for i, c in enumerate(columns)]
    numeric = {"count", "sum", "p50", "p95"}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if column in numeric else cell.ljust(width)
            for cell, width, column in zip(cells, widths, columns, strict=True)
        ).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(row) for row in rows)])


# --- chart ------------------------------------------------------------------------------------------------


def buckets(points: Sequence[Point], seconds: int) -> list[tuple[float, list[float], int]]:
    """(bucket start in seconds since the first point, latencies in it, requests in it), in time order."""
    latency = [p for p in points if p.name == "Latency"]
    requests = [p for p in points if p.name == "Requests"]
    if not latency and not requests:
        return []
    start = min(p.timestamp_ms for p in (*latency, *requests))
    by_bucket: dict[int, tuple[list[float], list[int]]] = defaultdict(lambda: ([], [0]))
    for p in latency:
        by_bucket[(p.timestamp_ms - start) // (seconds * 1000)][0].append(p.value)
    for p in requests:
        by_bucket[(p.timestamp_ms - start) // (seconds * 1000)][1][0] += int(p.value)
    last = max(by_bucket)
    return [(b * seconds, by_bucket[b][0], by_bucket[b][1][0]) for b in range(last + 1)]


def render_png(points: Sequence[Point], path: Path, *, bucket_seconds: int) -> None:
    from PIL import Image, ImageDraw

    data = buckets(points, bucket_seconds)
    width, height, margin = 900, 520, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    panels = [("API latency (ms): p50 blue, p95 red", 30), ("requests per bucket", 290)]
    plot_h = 180
    for title, top in panels:
        draw.text((margin, top - 20), title, fill="black")
        draw.rectangle((margin, top, width - 20, top + plot_h), outline="gray")
    if not data:
        draw.text((margin + 10, 120), "no Latency/Requests metrics found", fill="black")
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, "PNG")
        return
    n = len(data)

    def x_of(i: int) -> float:
        return margin + (width - 20 - margin) * (i / max(n - 1, 1))

    p50 = [percentile(lat, 50) if lat else None for _, lat, _ in data]
    p95 = [percentile(lat, 95) if lat else None for _, lat, _ in data]
    top_latency = max([v for v in p95 if v is not None] or [1.0]) or 1.0
    for values, colour in ((p50, "blue"), (p95, "red")):
        xy = [(x_of(i), 30 + plot_h - plot_h * v / top_latency) for i, v in enumerate(values) if v is not None]
        if len(xy) > 1:
            draw.line(xy, fill=colour, width=2)
        for x, y in xy:
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
    draw.text((8, 30), f"{top_latency:.0f}", fill="black")
    counts = [c for _, _, c in data]
    top_count = max(counts) or 1
    bar = max(2.0, (width - 20 - margin) / n * 0.7)
    for i, count in enumerate(counts):
        x = x_of(i)
        draw.rectangle((x - bar / 2, 290 + plot_h - plot_h * count / top_count, x + bar / 2, 290 + plot_h), fill="teal")
    draw.text((8, 290), str(top_count), fill="black")
    draw.text((margin, height - 30), f"time (s), {bucket_seconds}s buckets, {n} buckets", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")


def read_points(paths: Sequence[Path]) -> list[Point]:
    points: list[Point] = []
    for path in paths:
        if not path.exists():
            log.warning("%s does not exist (is the stack running? `make run` writes .run/*.log)", path)
            continue
        with path.open(errors="replace") as handle:
            points.extend(parse_emf(handle))
    return points


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="+", type=Path, help="log files holding EMF lines")
    parser.add_argument("--png", type=Path, help="write a latency/throughput chart here")
    parser.add_argument("--bucket-seconds", type=int, default=10)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    points = read_points(args.logs)
    if not points:
        log.error("no EMF metrics found in %s", ", ".join(str(p) for p in args.logs))
        return 1
    sys.stdout.write(render_table(summarize(points)) + "\n")
    if args.png:
        render_png(points, args.png, bucket_seconds=max(1, args.bucket_seconds))
        log.info("chart written to %s", args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
