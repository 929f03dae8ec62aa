"""Typed settings: the only module that reads ``os.environ``.

``Settings.from_env()`` reads the environment when called (Chalice's test client swaps environment variables
only for the length of a call, so nothing may be read at import time). ``get_settings()`` caches one instance;
tests call ``get_settings.cache_clear()`` after changing the environment.

AWS endpoints are not settings: boto3 and PynamoDB read ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` / ... by
themselves, so the environment alone decides whether we talk to AWS, moto or LocalStack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

LOCAL_STAGES = frozenset({"local", "test"})
MIB = 1024 * 1024


class SettingsError(RuntimeError):
    """Configuration is missing or wrong. The message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _list(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


class Secret(str):
    """A string whose repr does not show it (keeps secrets out of logs and tracebacks)."""

    def __repr__(self) -> str:
        return "Secret('**********')"


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    region: str = "us-east-1"

    # Resources (names, not endpoints).
    bucket_name: str = "chitram-images"
    images_table: str = "chitram-images"
    users_table: str = "chitram-users"
    queue_name: str = "chitram-processing"

    # Upload limits.
    max_upload_bytes: int = 10 * MIB
    # API Gateway + Lambda cap a synchronous request near 6 MB (and base64 grows binary bodies by a third),
    # so the multipart endpoint takes small files only; anything larger goes through upload-url.
    api_upload_max_bytes: int = 4 * MIB
    max_image_pixels: int = 50_000_000
    upload_url_expires_seconds: int = 300
    download_url_expires_seconds: int = 600
    pending_ttl_seconds: int = 24 * 3600

    # Gallery: the public index is spread over this many partitions to avoid one hot key.
    gallery_shards: int = 4
    page_size_default: int = 20
    page_size_max: int = 100

    # Cache and rate limits.
    redis_nodes: tuple[str, ...] = ()
    cache_virtual_nodes: int = 150
    cache_ttl_seconds: int = 3600
    rate_limit_uploads_per_minute: int = 10

    # Web front end / CORS.
    site_origin: str = "http://127.0.0.1:8080"

    # Auth.
    auth_provider: str = "local"
    jwt_secret: Secret = field(default_factory=lambda: Secret(""))
    jwt_issuer: str = "chitram"
    jwt_audience: str = "chitram-api"
    jwt_ttl_seconds: int = 24 * 3600
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        redis_nodes = _list(env.get("REDIS_NODES")) or _list(env.get("REDIS_URL"))
        settings = cls(
            stage=env.get("STAGE", "local"),
            region=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1",
            bucket_name=env.get("BUCKET_NAME", cls.bucket_name),
            images_table=env.get("IMAGES_TABLE", cls.images_table),
            users_table=env.get("USERS_TABLE", cls.users_table),
            queue_name=env.get("QUEUE_NAME", cls.queue_name),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", cls.max_upload_bytes, minimum=1),
            api_upload_max_bytes=_int(env, "API_UPLOAD_MAX_BYTES", cls.api_upload_max_bytes, minimum=1),
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", cls.max_image_pixels, minimum=1),
            upload_url_expires_seconds=_int(
                env, "UPLOAD_URL_EXPIRES_SECONDS", cls.upload_url_expires_seconds, minimum=1
            ),
            download_url_expires_seconds=_int(
                env, "DOWNLOAD_URL_EXPIRES_SECONDS", cls.download_url_expires_seconds, minimum=1
            ),
            pending_ttl_seconds=_int(env, "PENDING_TTL_SECONDS", cls.pending_ttl_seconds, minimum=60),
            gallery_shards=_int(env, "GALLERY_SHARDS", cls.gallery_shards, minimum=1),
            redis_nodes=redis_nodes,
            cache_virtual_nodes=_int(env, "CACHE_VIRTUAL_NODES", cls.cache_virtual_nodes, minimum=1),
            cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", cls.cache_ttl_seconds, minimum=1),
            rate_limit_uploads_per_minute=_int(
                env, "RATE_LIMIT_UPLOADS_PER_MINUTE", cls.rate_limit_uploads_per_minute
            ),
            site_origin=env.get("SITE_ORIGIN", cls.site_origin),
            auth_provider=env.get("AUTH_PROVIDER", cls.auth_provider),
            jwt_secret=Secret(env.get("JWT_SECRET", "")),
            jwt_issuer=env.get("JWT_ISSUER", cls.jwt_issuer),
            jwt_audience=env.get("JWT_AUDIENCE", cls.jwt_audience),
            jwt_ttl_seconds=_int(env, "JWT_TTL_SECONDS", cls.jwt_ttl_seconds, minimum=60),
            oidc_issuer=env.get("OIDC_ISSUER", ""),
            oidc_audience=env.get("OIDC_AUDIENCE", ""),
            oidc_jwks_url=env.get("OIDC_JWKS_URL", ""),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.api_upload_max_bytes > self.max_upload_bytes:
            raise SettingsError("API_UPLOAD_MAX_BYTES must not exceed MAX_UPLOAD_BYTES")
        if self.auth_provider not in {"local", "oidc"}:
            raise SettingsError(f"AUTH_PROVIDER must be 'local' or 'oidc', got {self.auth_provider!r}")
        if self.auth_provider == "oidc" and not (self.oidc_issuer and self.oidc_jwks_url):
            raise SettingsError("AUTH_PROVIDER=oidc needs OIDC_ISSUER and OIDC_JWKS_URL")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
