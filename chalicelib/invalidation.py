"""The CDN invalidation port: tell the edge to forget an image's paths when it stops being public.

``CloudFrontInvalidator`` calls CloudFront's ``CreateInvalidation`` on the stack's distribution, whose id it reads
once from the SSM parameter the template writes (``CDN_DISTRIBUTION_PARAMETER``: the function cannot get the id
as an environment variable without a dependency cycle, see infra/cdn.py). Without that setting (the local stack,
tests) ``NoInvalidation`` is used: the local edge caches nothing, so there is nothing to forget.

A failed invalidation raises ``CdnUnavailable`` (503): the caller's move is idempotent, so the client retries the
whole request rather than leave a private image cached at the edge for a year.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import clients
from chalicelib.errors import CdnUnavailable

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_ssm import SSMClient

log = logging.getLogger(__name__)


class Invalidator(Protocol):
    def invalidate(self, paths: Sequence[str]) -> None: ...


class NoInvalidation:
    """Nothing is cached in front of us (the local edge): every invalidation is done already."""

    def invalidate(self, paths: Sequence[str]) -> None:
        log.debug("no CDN to invalidate", extra={"paths": list(paths)})


class CloudFrontInvalidator:
    def __init__(
        self,
        parameter_name: str,
        cloudfront: CloudFrontClient | None = None,
        ssm: SSMClient | None = None,
    ) -> None:
        self.parameter_name = parameter_name
        self._cloudfront = cloudfront
        self._ssm = ssm
        self._distribution_id: str | None = None

    def distribution_id(self) -> str:
        if self._distribution_id is None:
            ssm = self._ssm or clients.ssm()
            self._distribution_id = ssm.get_parameter(Name=self.parameter_name)["Parameter"]["Value"]
        return self._distribution_id

    def invalidate(self, paths: Sequence[str]) -> None:
        if not paths:
            return
        try:
            (self._cloudfront or clients.cloudfront()).create_invalidation(
                DistributionId=self.distribution_id(),
                InvalidationBatch={
                    "Paths": {"Quantity": len(paths), "Items": list(paths)},
                    "CallerReference": str(uuid.uuid4()),
                },
            )
        except (BotoCoreError, ClientError, KeyError) as exc:
            log.warning("CDN invalidation failed", extra={"paths": list(paths), "error": type(exc).__name__})
            raise CdnUnavailable() from exc
