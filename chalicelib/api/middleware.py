"""HTTP middleware: correlation ids, access logs, request and cache metrics, and the error envelope.

Registered in ``app.py``; the first one registered is the outermost.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib import composition, logs, metrics
from chalicelib.api.responses import envelope_chalice_errors

# Not under "chitram": Chalice gives that logger its own text handler and stops it propagating to ours.
access_log = logging.getLogger("api.access")


def observe(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """A correlation id, one JSON access log line, and request + cache metrics (EMF) per request."""
    context = event.context if event.context is not None else {}
    # API Gateway names every request; chalice local does not, so make an id there (the processor logs it too).
    request_id = str(context.setdefault("requestId", str(uuid.uuid4())))
    route = str(context.get("resourcePath") or "unknown")  # the route template: bounded cardinality
    started = time.perf_counter()
    status = 500  # if the chain raises, that is what the client sees
    with logs.correlation(request_id):
        try:
            response = get_response(event)
            status = response.status_code
            return response
        finally:
            latency_ms = (time.perf_counter() - started) * 1000
            access_log.info(
                "request",
                extra={"method": event.method, "route": route, "status": status, "latency_ms": round(latency_ms, 1)},
            )
            metrics.record_request(
                route=route, method=event.method, status=status, latency_ms=latency_ms, request_id=request_id
            )
            if (nodes := composition.redis_nodes()) is not None:
                metrics.cache_counters.record(nodes.health(probe=False))


def error_envelope(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice's own error answers (405, 415, ...) in our envelope."""
    return envelope_chalice_errors(event, get_response(event))
