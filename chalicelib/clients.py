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

# Short timeouts and few retries: an API request must fail fast with a 503 rather than hang until the
# API Gateway 29 s limit; SQS redelivery gives the processor its retries.
_BASE_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})


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
