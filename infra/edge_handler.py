"""The CDN's origin-request function (Lambda@Edge) for ``/i/*``: which stored object a public image path serves.

CloudFront calls it on cache misses only (a hit never reaches it, nor the API). It asks
``chalicelib.edge_resolver`` (the same decision the local edge makes) and answers the request re-pointed at that
record's key, or a bare 404 that is never cached. Lambda@Edge has no environment variables, so the images table
and its region are baked in at package time (``infra/edge.py`` writes ``edge_config.json`` beside this file in the
function's zip, where it is ``edge_handler.py``). The DynamoDB client is made on first use and kept for the
container's life.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.edge_resolver import DynamoLookup, Lookup, origin_request

CONFIG_FILE = "edge_config.json"
# Origin-request functions may run up to 30 s; a lookup that stalls should fail (CloudFront answers 502) long
# before that, and never be retried into the viewer's wait.
CONNECT_TIMEOUT_SECONDS = 1
READ_TIMEOUT_SECONDS = 2


@cache
def config() -> dict[str, str]:
    """``{"table": ..., "region": ...}``, written at package time."""
    loaded: dict[str, str] = json.loads(Path(__file__).with_name(CONFIG_FILE).read_text())
    return loaded


@cache
def lookup() -> Lookup:
    import boto3  # provided by the Lambda runtime; made on the first miss, not at import
    from botocore.config import Config

    settings = config()
    client = boto3.client(
        "dynamodb",
        region_name=settings["region"],
        config=Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": 2, "mode": "standard"},
        ),
    )
    return DynamoLookup(settings["table"], client)


def handle(event: Mapping[str, Any], find: Lookup) -> dict[str, Any]:
    """One origin-request event, answered with ``find`` as the record lookup (tests pass a fake)."""
    return origin_request(event, find)


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, lookup())
