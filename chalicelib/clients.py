"""Lazy, cached AWS clients and the one botocore session they (and PynamoDB) are made from.

The environment picks the endpoint (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3`` ...): AWS, moto or LocalStack
alike, with no endpoint plumbing here. ``reset_clients()`` drops the cache (tests, and after the environment
changes).

Clients come from botocore directly, not boto3: boto3's ``client()`` is the same botocore client, but importing
boto3 also imports s3transfer (multiprocessing, concurrent.futures) for managed transfers we never use, ~20 ms of
every cold start (``scripts/bench/aws_sessions.py``). Every client, PynamoDB's included, is made from one botocore
session per thread (botocore sessions are not thread-safe): a session holds the parsed service models, endpoint
rules and resolved credentials, and a second session parses them all again, ~80 ms of CPU each time (ADR 0016).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

# Short timeouts and few attempts for every AWS call (botocore here, PynamoDB through ``chalicelib/models.py``,
# SES in ``auth/mailer.py``): a stalled dependency must become a 503 within seconds rather than hold the function
# to its timeout (API Gateway gives up at 29 s and answers in its own shape). A paused server still accepts
# TCP connections (the kernel does), so the read timeout is what bounds a call: at most
# ATTEMPTS x (CONNECT + READ) seconds per call. SQS redelivery gives the processor its further retries.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 4
ATTEMPTS = 2  # total, first try included
AWS_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
)
_BASE_CONFIG = AWS_CONFIG


def worst_call_seconds() -> int:
    """The longest one AWS call may take before it fails (every attempt connecting, then timing out reading)."""
    return ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS)


_per_thread = threading.local()  # .sessions: {AWS_* environment: session}, gone with its thread


def session(env_vars: Any = None) -> botocore.session.Session:
    """The botocore session of this thread and AWS environment, made once.

    Keyed by the ``AWS_*`` variables too, so a changed endpoint or credentials (tests; never on Lambda) gets a
    session that reads them afresh. Also PynamoDB's session factory (``models.share_session``), whose signature
    this keeps: with ``env_vars`` it makes a new, private session, as botocore's ``get_session`` does.
    """
    if env_vars is not None:
        return botocore.session.get_session(env_vars)
    aws_env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    sessions: dict[tuple[tuple[str, str], ...], botocore.session.Session] = _per_thread.__dict__.setdefault(
        "sessions", {}
    )
    made = sessions.get(aws_env)
    if made is None:
        made = sessions[aws_env] = botocore.session.get_session()
    return made


def _client(service: str, config: Config = _BASE_CONFIG) -> Any:
    return session().create_client(service, region_name=get_settings().region, config=config)


@lru_cache(maxsize=1)
def s3() -> S3Client:
    # Local endpoints are IP addresses, so botocore picks path-style there and virtual-hosted on AWS.
    # SigV4 is required for presigned POST policies and for expiry to be enforced by real S3/LocalStack.
    config = _BASE_CONFIG.merge(Config(signature_version="s3v4"))
    client: S3Client = _client("s3", config)
    return client


@lru_cache(maxsize=1)
def sqs() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


@lru_cache(maxsize=1)
def cloudfront() -> CloudFrontClient:
    client: CloudFrontClient = _client("cloudfront")
    return client


@lru_cache(maxsize=1)
def ssm() -> SSMClient:
    client: SSMClient = _client("ssm")
    return client


def reset_clients() -> None:
    s3.cache_clear()
    sqs.cache_clear()
    cloudfront.cache_clear()
    ssm.cache_clear()  # sessions stay: they are keyed by the environment they read
