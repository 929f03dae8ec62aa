"""Metrics as CloudWatch Embedded Metric Format (EMF): one JSON line per data point, on stdout.

In Lambda, CloudWatch Logs turns these lines into metrics in the ``Chitram`` namespace with no API call and no
extra latency; locally they land in the stack's log files (``.run/api.log``, ``.run/worker.log``), where
``scripts/metrics.py`` reads them back. Why our own ~100 lines instead of aws-lambda-powertools:
docs/adr/0005-metrics-emf.md.

The format (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):

    {"_aws": {"Timestamp": <epoch ms>, "CloudWatchMetrics": [{"Namespace": "Chitram",
              "Dimensions": [["Stage", "Route", "Status"]], "Metrics": [{"Name": "Requests", "Unit": "Count"}]}]},
     "Stage": "dev", "Route": "/health", "Status": "200", "Requests": 1}

Every dimension set starts with ``Stage``, so dev and prod never mix in one account. Emitting never raises:
a metric must not fail a request or an image.

What is emitted, and from where:
- ``Requests`` (Count) by Stage, Route, Status and ``Latency`` (Milliseconds) by Stage, Route: app.py middleware.
- ``CacheHits`` / ``CacheMisses`` (Count) by Stage, Node: the middleware, from ``RedisNodes``' counters.
- ``UploadBytes`` (Bytes) by Stage, Path (``api`` | ``presigned``): ImageService.upload and the processor.
- ``ProcessingTime`` (Milliseconds) by Stage, Outcome and ``Rejects`` (Count) by Stage, Reason: the processor.
- ``ProcessingFailures`` and ``DeadLettered`` (Count) by Stage: the processor, when a message fails (the
  latter when it was its last receive before SQS moves it to the dead-letter queue).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import IO, Any

from chalicelib.queues import MAX_RECEIVE_COUNT  # on this receive a failing message is dead-lettered
from chalicelib.settings import SettingsError, get_settings

log = logging.getLogger(__name__)

NAMESPACE = "Chitram"


class Unit(StrEnum):
    """The CloudWatch units we use (names exactly as the EMF specification spells them)."""

    COUNT = "Count"
    MILLISECONDS = "Milliseconds"
    BYTES = "Bytes"


def _stage() -> str:
    try:
        return get_settings().stage
    except SettingsError:
        return "unknown"


def emf_record(
    metrics: Mapping[str, tuple[float, Unit]],
    dimensions: Mapping[str, str],
    *,
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """One EMF object: ``metrics`` (name -> (value, unit)) under one dimension set (Stage first)."""
    dims = {"Stage": _stage(), **{k: str(v) for k, v in dimensions.items()}}
    record: dict[str, Any] = {
        "_aws": {
            "Timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(dims)],
                    "Metrics": [{"Name": name, "Unit": str(unit)} for name, (_, unit) in metrics.items()],
                }
            ],
        },
        **(properties or {}),
        **dims,
    }
    record.update({name: value for name, (value, _) in metrics.items()})
    return record


def emit(
    metrics: Mapping[str, tuple[float, Unit]],
    dimensions: Mapping[str, str],
    *,
    properties: Mapping[str, Any] | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Write one EMF line. Stdout, looked up per call: Lambda ships it to CloudWatch Logs unprefixed (a
    ``logging`` handler would prefix it and break the format), and tests capture it."""
    try:
        line = json.dumps(emf_record(metrics, dimensions, properties=properties), separators=(",", ":"))
        out = stream or sys.stdout
        out.write(line + "\n")
        out.flush()
    except (TypeError, ValueError, OSError):
        log.warning("could not emit metrics %s", sorted(metrics), exc_info=True)


# --- the product's metrics -----------------------------------------------------------------------------------


def record_request(*, route: str, method: str, status: int, latency_ms: float, request_id: str | None) -> None:
    properties = {"Method": method, "request_id": request_id} if request_id else {"Method": method}
    emit({"Requests": (1, Unit.COUNT)}, {"Route": route, "Status": str(status)}, properties=properties)
    emit({"Latency": (round(latency_ms, 3), Unit.MILLISECONDS)}, {"Route": route}, properties=properties)


class CacheCounters:
    """Turns ``RedisNodes``' cumulative per-node hit/miss counters into per-request deltas.

    The counters live in the nodes client (per process); reading them after each request keeps the cache
    code free of metrics calls.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}

    def record(self, nodes: Iterable[Mapping[str, Any]]) -> None:
        for node in nodes:
            name = str(node.get("node", "unknown"))
            hits, misses = int(node.get("hits", 0)), int(node.get("misses", 0))
            seen_hits, seen_misses = self._seen.get(name, (0, 0))
            if (hits, misses) == (seen_hits, seen_misses):
                continue
            self._seen[name] = (hits, misses)
            # A counter that went down means a new nodes client (composition.reset()): count from zero.
            new_hits = hits - seen_hits if hits >= seen_hits else hits
            new_misses = misses - seen_misses if misses >= seen_misses else misses
            emit({"CacheHits": (new_hits, Unit.COUNT), "CacheMisses": (new_misses, Unit.COUNT)}, {"Node": name})


cache_counters = CacheCounters()


def record_upload(size_bytes: int, *, path: str) -> None:
    emit({"UploadBytes": (size_bytes, Unit.BYTES)}, {"Path": path})


def record_processing(outcome: str, duration_ms: float, *, image_id: str) -> None:
    emit(
        {"ProcessingTime": (round(duration_ms, 3), Unit.MILLISECONDS)},
        {"Outcome": outcome},
        properties={"image_id": image_id},
    )


def record_reject(reason: str, *, image_id: str) -> None:
    emit({"Rejects": (1, Unit.COUNT)}, {"Reason": reason}, properties={"image_id": image_id})


def record_processing_failure(receive_count: object, *, message_id: str) -> None:
    """A message the processor could not handle; on its last receive SQS dead-letters it.

    ``receive_count`` is the message's ``ApproximateReceiveCount`` attribute as SQS sends it (a string), or None.
    """
    try:
        count: int | None = int(str(receive_count))
    except ValueError:
        count = None
    metrics: dict[str, tuple[float, Unit]] = {"ProcessingFailures": (1, Unit.COUNT)}
    if count is not None and count >= MAX_RECEIVE_COUNT:
        metrics["DeadLettered"] = (1, Unit.COUNT)
    emit(metrics, {}, properties={"message_id": message_id, "receive_count": count})
