"""Class: hanging on a stalled dependency (issue 11, item 9).

Every AWS and Redis client has explicit connect/read timeouts and bounded attempts, and the worst a single call
can take fits well inside the API function's timeout, so a stalled dependency becomes our 503 rather than API
Gateway's own 504 after 29 s. The integration proof (a paused moto server under a running stack) is
tests/integration/test_faults.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import clients
from chalicelib.auth.mailer import SesMailer
from chalicelib.cache import nodes
from chalicelib.models import ALL_MODELS, bind_tables, connection
from chalicelib.settings import Settings
from tests.conftest import ROOT


def _timeouts(config: Any) -> tuple[float, float, int]:
    retries = config.retries or {}
    return float(config.connect_timeout), float(config.read_timeout), int(retries.get("total_max_attempts", 0))


@pytest.mark.parametrize("factory", [clients.s3, clients.sqs])
def test_stalled_dependency_every_boto3_client_has_short_timeouts_and_bounded_attempts(factory: Any) -> None:
    config = factory().meta.config
    assert _timeouts(config) == (clients.CONNECT_TIMEOUT_SECONDS, clients.READ_TIMEOUT_SECONDS, clients.ATTEMPTS)


def test_stalled_dependency_pynamodb_models_and_transactions_use_the_same_bounds() -> None:
    bind_tables(Settings())
    for model in ALL_MODELS:
        client = model._get_connection().connection.client
        assert _timeouts(client.meta.config) == (
            clients.CONNECT_TIMEOUT_SECONDS,
            clients.READ_TIMEOUT_SECONDS,
            clients.ATTEMPTS,
        ), model.__name__
    assert _timeouts(connection("us-east-1").client.meta.config) == (
        clients.CONNECT_TIMEOUT_SECONDS,
        clients.READ_TIMEOUT_SECONDS,
        clients.ATTEMPTS,
    )


def test_stalled_dependency_the_ses_client_too() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        mailer = SesMailer("from@example.com", "us-east-1")
        boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress="from@example.com")
        from chalicelib.auth.mailer import Message

        mailer.send(Message(to="a@example.com", subject="s", body="b", kind="test", data={}))
        assert _timeouts(mailer._client.meta.config) == (
            clients.CONNECT_TIMEOUT_SECONDS,
            clients.READ_TIMEOUT_SECONDS,
            clients.ATTEMPTS,
        )


def test_stalled_dependency_redis_clients_time_out_in_well_under_a_second() -> None:
    client: Any = nodes.default_client_factory()("redis://127.0.0.1:1/0")
    kwargs = client.connection_pool.connection_kwargs
    assert 0 < kwargs["socket_connect_timeout"] < 1
    assert 0 < kwargs["socket_timeout"] < 1


def test_stalled_dependency_the_worst_call_fits_inside_the_api_timeout_with_room_to_answer() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage, stage_config in config["stages"].items():
        timeout = stage_config.get("lambda_functions", {}).get("api_handler", {}).get("lambda_timeout")
        if timeout is not None:
            # A request fails at its first stalled call; leave half the function's time for everything else.
            assert clients.worst_call_seconds() <= timeout / 2, stage
