"""``GET /health``: each dependency's state. 200 while images can be served; 503 when storage or metadata is down.

The cache and the rate limiter degrade without taking the service down (reads go to DynamoDB; limits fail
open), so they are reported but never make the answer 503.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import composition, queues
from chalicelib.api import openapi as oa
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.errors import AppError
from chalicelib.settings import Settings, get_settings

health_api = Blueprint(__name__)


def _check(probe: Any) -> dict[str, Any]:
    try:
        result = probe()
    except AppError as exc:
        return {"status": "down", "code": str(exc.code)}
    return {"status": "up", **(result or {})}


def _cache_status(nodes: list[dict[str, Any]]) -> str:
    up = sum(1 for node in nodes if node.get("status") == "up")
    if not nodes:
        return "disabled"
    return "up" if up == len(nodes) else ("degraded" if up else "down")


@health_api.route("/health", methods=["GET"])
@handles_errors
def health() -> Response:
    settings = get_settings()
    cache_nodes = composition.metadata_cache().health()
    checks: dict[str, Any] = {
        "storage": _check(composition.storage().ping),
        "metadata": _check(composition.image_records().ping),
        "queue": _check(lambda: queues.queue_depth(settings.queue_name)),
        "dead_letter_queue": _check(lambda: queues.queue_depth(queues.dead_letter_queue_name(settings.queue_name))),
        "cache": {"status": _cache_status(cache_nodes), "nodes": cache_nodes},
        "rate_limiter": {"status": composition.rate_limiter().status()},
    }
    essential_up = all(checks[name]["status"] == "up" for name in ("storage", "metadata"))
    return json_response(
        {"status": "ok" if essential_up else "unavailable", "stage": settings.stage, "checks": checks},
        status=200 if essential_up else 503,
    )


def openapi_section(settings: Settings) -> oa.Section:
    """This route's part of the published document (chalicelib.api.docs assembles it)."""
    return oa.Section(
        paths={
            "/health": {
                "get": {
                    "summary": "State of storage, metadata table, queues, each cache node and the rate limiter",
                    "responses": {
                        "200": oa.json_response(oa.ref("Health"), "Serving"),
                        "503": oa.json_response(oa.ref("Health"), "Degraded"),
                    },
                }
            }
        },
        schemas={
            "Health": oa.object_schema(
                {"status": {"type": "string"}, "stage": {"type": "string"}, "checks": {"type": "object"}}
            )
        },
    )
