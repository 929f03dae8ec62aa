"""Lazy, cached AWS clients. The one place boto3 clients are made.

The environment picks the endpoint (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3`` ...): AWS, moto or LocalStack
alike, with no endpoint plumbing here. ``reset_clients()`` drops the cache (tests, and after the environment
changes).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

# Short timeouts and few attempts for every AWS call (boto3 here, PynamoDB through ``chalicelib/models.py``,
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


@lru_cache(maxsize=1)
def s3() -> S3Client:
    # Local endpoints are IP addresses, so botocore picks path-style there and virtual-hosted on AWS.
    # SigV4 is required for presigned POST policies and for expiry to be enforced by real S3/LocalStack.
    config = _BASE_CONFIG.merge(Config(signature_version="s3v4"))
    return boto3.client("s3", region_name=get_settings().region, config=config)


@lru_cache(maxsize=1)
def sqs() -> SQSClient:
    return boto3.client("sqs", region_name=get_settings().region, config=_BASE_CONFIG)


@lru_cache(maxsize=1)
def cloudfront() -> CloudFrontClient:
    return boto3.client("cloudfront", region_name=get_settings().region, config=_BASE_CONFIG)


@lru_cache(maxsize=1)
def ssm() -> SSMClient:
    return boto3.client("ssm", region_name=get_settings().region, config=_BASE_CONFIG)


def reset_clients() -> None:
    s3.cache_clear()
    sqs.cache_clear()
    cloudfront.cache_clear()
    ssm.cache_clear()
