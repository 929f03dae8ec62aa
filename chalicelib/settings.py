"""Typed settings: the only module that reads ``os.environ``.

``Settings.from_env()`` reads the environment when called (Chalice's test client swaps environment variables
only for the length of a call, so nothing may be read at import time). ``get_settings()`` caches one instance;
tests call ``get_settings.cache_clear()`` after changing the environment.

AWS endpoints are not settings: boto3 and PynamoDB read ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` / ... by
themselves, so the environment alone decides whether we talk to AWS, moto or LocalStack.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

LOCAL_STAGES = frozenset({"local", "test"})
MIB = 1024 * 1024
GIB = 1024 * MIB

# HS256 wants at least a hash-length key (RFC 7518 3.2); PyJWT warns below 32 bytes.
MIN_JWT_SECRET_BYTES = 32
# Secrets that appear in this repository (the local stack's, examples): never acceptable outside local stages.
KNOWN_JWT_SECRETS = frozenset(
    {"local-development-secret-not-for-deployment", "change-me", "CHANGE_ME", "secret", "changeme"}
)
MIN_DEPLOYED_BCRYPT_ROUNDS = 12
MAILERS = frozenset({"memory", "outbox", "ses"})


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
    log_level: str = "INFO"
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
    # Wall-clock budget to decode and render one image in the processor; a message is started only while the
    # invocation has this much (plus a margin) left, so one slow file fails alone instead of timing out a batch.
    processing_deadline_seconds: int = 20

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
    # An unknown ``kid`` refreshes the key set at most this often, so junk kids cannot hammer the JWKS URL.
    oidc_jwks_min_refresh_seconds: int = 60
    oidc_jwks_max_age_seconds: int = 3600

    # Accounts. bcrypt's cost is a setting so tests can run at 4; deployed stages insist on >= 12.
    bcrypt_rounds: int = 12
    quota_max_images: int = 1000  # per user; 0 means unlimited
    quota_max_bytes: int = GIB  # per user; 0 means unlimited
    rate_limit_login_per_ip: int = 20
    rate_limit_login_per_email: int = 5
    rate_limit_login_window_seconds: int = 300
    rate_limit_register_per_ip: int = 20
    # Sign-in failures per (address, source) before each further one doubles the wait, and the longest wait.
    lockout_threshold: int = 5
    lockout_seconds: int = 900
    password_reset_ttl_seconds: int = 3600

    # The operator's detailed /health/details view (header X-Operator-Token); empty: nobody gets it.
    operator_token: Secret = field(default_factory=lambda: Secret(""))

    # Mail (password reset): ``memory`` (tests), ``outbox`` (a directory of .json files), ``ses``.
    mailer: str = "outbox"
    mail_from: str = ""
    mail_outbox_dir: str = ".run/outbox"

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        redis_nodes = _list(env.get("REDIS_NODES")) or _list(env.get("REDIS_URL"))
        stage = env.get("STAGE", "local")
        jwt_secret = env.get("JWT_SECRET", "")
        if not jwt_secret and stage in LOCAL_STAGES:
            # Local and test runs without a configured secret get a random one per process: tokens simply do
            # not survive a restart, and no well-known default can ever verify anything.
            jwt_secret = secrets.token_urlsafe(48)
        settings = cls(
            stage=stage,
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
            processing_deadline_seconds=_int(
                env, "PROCESSING_DEADLINE_SECONDS", cls.processing_deadline_seconds, minimum=1
            ),
            gallery_shards=_int(env, "GALLERY_SHARDS", cls.gallery_shards, minimum=1),
            redis_nodes=redis_nodes,
            cache_virtual_nodes=_int(env, "CACHE_VIRTUAL_NODES", cls.cache_virtual_nodes, minimum=1),
            cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", cls.cache_ttl_seconds, minimum=1),
            rate_limit_uploads_per_minute=_int(env, "RATE_LIMIT_UPLOADS_PER_MINUTE", cls.rate_limit_uploads_per_minute),
            site_origin=env.get("SITE_ORIGIN", cls.site_origin),
            auth_provider=env.get("AUTH_PROVIDER", cls.auth_provider),
            jwt_secret=Secret(jwt_secret),
            jwt_issuer=env.get("JWT_ISSUER", cls.jwt_issuer),
            jwt_audience=env.get("JWT_AUDIENCE", cls.jwt_audience),
            jwt_ttl_seconds=_int(env, "JWT_TTL_SECONDS", cls.jwt_ttl_seconds, minimum=60),
            oidc_issuer=env.get("OIDC_ISSUER", ""),
            oidc_audience=env.get("OIDC_AUDIENCE", ""),
            oidc_jwks_url=env.get("OIDC_JWKS_URL", ""),
            oidc_jwks_min_refresh_seconds=_int(env, "OIDC_JWKS_MIN_REFRESH_SECONDS", cls.oidc_jwks_min_refresh_seconds),
            oidc_jwks_max_age_seconds=_int(env, "OIDC_JWKS_MAX_AGE_SECONDS", cls.oidc_jwks_max_age_seconds, minimum=1),
            bcrypt_rounds=_int(env, "BCRYPT_ROUNDS", cls.bcrypt_rounds, minimum=4),
            quota_max_images=_int(env, "QUOTA_MAX_IMAGES", cls.quota_max_images),
            quota_max_bytes=_int(env, "QUOTA_MAX_BYTES", cls.quota_max_bytes),
            rate_limit_login_per_ip=_int(env, "RATE_LIMIT_LOGIN_PER_IP", cls.rate_limit_login_per_ip),
            rate_limit_login_per_email=_int(env, "RATE_LIMIT_LOGIN_PER_EMAIL", cls.rate_limit_login_per_email),
            rate_limit_login_window_seconds=_int(
                env, "RATE_LIMIT_LOGIN_WINDOW_SECONDS", cls.rate_limit_login_window_seconds, minimum=1
            ),
            rate_limit_register_per_ip=_int(env, "RATE_LIMIT_REGISTER_PER_IP", cls.rate_limit_register_per_ip),
            lockout_threshold=_int(env, "LOCKOUT_THRESHOLD", cls.lockout_threshold, minimum=1),
            lockout_seconds=_int(env, "LOCKOUT_SECONDS", cls.lockout_seconds, minimum=1),
            password_reset_ttl_seconds=_int(
                env, "PASSWORD_RESET_TTL_SECONDS", cls.password_reset_ttl_seconds, minimum=60
            ),
            operator_token=Secret(env.get("OPERATOR_TOKEN", "")),
            mailer=env.get("MAILER") or ("memory" if stage == "test" else cls.mailer),
            mail_from=env.get("MAIL_FROM", ""),
            mail_outbox_dir=env.get("MAIL_OUTBOX_DIR") or cls.mail_outbox_dir,
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
        if self.auth_provider == "oidc" and not self.oidc_audience:
            # Without an audience any token the issuer minted for any other client would be accepted here.
            raise SettingsError("AUTH_PROVIDER=oidc needs OIDC_AUDIENCE (the client id tokens must be for)")
        if not 4 <= self.bcrypt_rounds <= 31:
            raise SettingsError(f"BCRYPT_ROUNDS must be between 4 and 31, got {self.bcrypt_rounds}")
        if self.mailer not in MAILERS:
            raise SettingsError(f"MAILER must be one of {sorted(MAILERS)}, got {self.mailer!r}")
        if self.mailer == "ses" and not self.mail_from:
            raise SettingsError("MAILER=ses needs MAIL_FROM")
        if not self.is_local:
            self._validate_deployed()

    def _validate_deployed(self) -> None:
        """Refuse to start a deployed stage with settings that are only safe on a laptop."""
        secret = str(self.jwt_secret)
        if self.auth_provider == "local" or secret:
            if not secret:
                raise SettingsError(f"JWT_SECRET must be set for stage {self.stage!r}")
            if secret in KNOWN_JWT_SECRETS:
                raise SettingsError(f"JWT_SECRET is a well-known default; set a real secret for stage {self.stage!r}")
            if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
                raise SettingsError(
                    f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes for stage {self.stage!r}"
                )
        if self.bcrypt_rounds < MIN_DEPLOYED_BCRYPT_ROUNDS:
            raise SettingsError(f"BCRYPT_ROUNDS must be at least {MIN_DEPLOYED_BCRYPT_ROUNDS} for stage {self.stage!r}")
        if self.mailer != "ses":
            raise SettingsError(f"MAILER must be 'ses' for stage {self.stage!r} (got {self.mailer!r})")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
