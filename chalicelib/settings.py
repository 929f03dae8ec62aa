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
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

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
MAILERS = ("memory", "outbox", "ses")
MAX_UPLOAD_BYTES_CAP = 5 * GIB  # one S3 PUT's limit, and what a deployment may raise MAX_UPLOAD_BYTES to
MIN_MULTIPART_PART_BYTES = 5 * MIB  # S3 refuses smaller parts (all but the last)
MAX_MULTIPART_PARTS = 10_000  # S3's limit on parts per upload


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
AUTH_PROVIDERS = ("local", "oidc")


class SettingsError(RuntimeError):
    """Configuration is missing or wrong. The message names the variable."""


class Secret(str):
    """A string whose repr does not show it (keeps secrets out of logs and tracebacks)."""

    def __repr__(self) -> str:
        return "Secret('**********')"


@dataclass(frozen=True)
class Var:
    """One environment variable: where it is read from, how it is parsed and checked, what it is for.

    The kind (int, str, comma list, secret) is the default's type. ``aliases`` are read when ``env`` is unset.
    ``deployed`` marks variables a deployed stage must set explicitly (the defaults name the local stack's
    resources); ``scripts/validate-env`` checks them and ``docs/settings.md`` is generated from this table.
    """

    env: str
    default: object
    doc: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    deployed: bool = False
    secret: bool = False

    @property
    def kind(self) -> str:
        if self.secret:
            return "secret"
        if isinstance(self.default, tuple):
            return "list"
        return type(self.default).__name__

    def raw(self, env: Mapping[str, str]) -> str | None:
        """The value set for this variable (empty counts as unset), or None."""
        for name in (self.env, *self.aliases):
            value = env.get(name)
            if value is not None and value.strip() != "":
                return value
        return None

    def parse(self, raw: str) -> object:
        """``raw`` as this variable's type, checked against its bounds and choices; errors name the variable."""
        value: object
        if self.kind == "int":
            try:
                value = int(raw)
            except ValueError as exc:
                raise SettingsError(f"{self.env} must be an integer, got {raw!r}") from exc
        elif self.kind == "list":
            value = tuple(part.strip() for part in raw.split(",") if part.strip())
        elif self.kind == "secret":
            value = Secret(raw)
        else:
            value = raw.upper() if self.choices == LOG_LEVELS else raw
        self.check(value)
        return value

    def check(self, value: object) -> None:
        """Raise ``SettingsError`` naming the variable when ``value`` is outside its bounds or choices."""
        if isinstance(value, int):
            low, high = self.minimum, self.maximum
            if low is not None and high is not None and not low <= value <= high:
                raise SettingsError(f"{self.env} must be between {low} and {high}, got {value}")
            if low is not None and value < low:
                raise SettingsError(f"{self.env} must be >= {low}, got {value}")
            if high is not None and value > high:
                raise SettingsError(f"{self.env} must be <= {high}, got {value}")
        if self.choices and value not in self.choices:
            allowed = " or ".join(map(repr, self.choices)) if len(self.choices) == 2 else f"one of {list(self.choices)}"
            raise SettingsError(f"{self.env} must be {allowed}, got {value!r}")


def setting(
    env: str,
    default: object,
    doc: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    choices: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    deployed: bool = False,
    secret: bool = False,
) -> Any:
    """A ``Settings`` field declared with its variable (the one declaration ``from_env``, the checks and the
    docs read)."""
    var = Var(env, default, doc, minimum, maximum, choices, aliases, deployed, secret)
    if secret:
        return field(default_factory=lambda: Secret(str(default)), metadata={"var": var})
    return field(default=default, metadata={"var": var})


@dataclass(frozen=True)
class Settings:
    stage: str = setting("STAGE", "local", "Deployment stage; `local` and `test` allow the laptop-only defaults.")
    log_level: str = setting("LOG_LEVEL", "INFO", "Level of the JSON logs.", choices=LOG_LEVELS)
    region: str = setting("AWS_DEFAULT_REGION", "us-east-1", "AWS region.", aliases=("AWS_REGION",))

    # Resources (names, not endpoints).
    bucket_name: str = setting(
        "BUCKET_NAME", "chitram-images", "S3 bucket for originals, files and thumbnails.", deployed=True
    )
    images_table: str = setting("IMAGES_TABLE", "chitram-images", "DynamoDB table of image records.", deployed=True)
    users_table: str = setting("USERS_TABLE", "chitram-users", "DynamoDB table of accounts.", deployed=True)
    queue_name: str = setting("QUEUE_NAME", "chitram-processing", "SQS queue of S3 upload events.", deployed=True)

    # Upload limits. Deployments may raise the limit up to S3's practical 5 GiB (the processor's memory and pixel
    # bounds still hold: see docs/benchmarks.md). Files above the threshold go up as S3 multipart uploads.
    max_upload_bytes: int = setting(
        "MAX_UPLOAD_BYTES",
        50 * MIB,
        "Largest upload (presigned POST or multipart).",
        minimum=1,
        maximum=MAX_UPLOAD_BYTES_CAP,
    )
    multipart_threshold_bytes: int = setting(
        "MULTIPART_THRESHOLD_BYTES", 8 * MIB, "Uploads above this size go up as S3 multipart uploads.", minimum=1
    )
    multipart_part_bytes: int = setting(
        "MULTIPART_PART_BYTES",
        8 * MIB,
        "Part size of multipart uploads (S3's minimum is 5 MiB).",
        minimum=MIN_MULTIPART_PART_BYTES,
    )
    # API Gateway + Lambda cap a synchronous request near 6 MB (and base64 grows binary bodies by a third),
    # so the multipart endpoint takes small files only; anything larger goes through upload-url.
    api_upload_max_bytes: int = setting(
        "API_UPLOAD_MAX_BYTES", 4 * MIB, "Largest upload through the API (multipart).", minimum=1
    )
    max_image_pixels: int = setting("MAX_IMAGE_PIXELS", 50_000_000, "Decompression-bomb bound.", minimum=1)
    upload_url_expires_seconds: int = setting(
        "UPLOAD_URL_EXPIRES_SECONDS", 300, "Life of a presigned upload form.", minimum=1
    )
    download_url_expires_seconds: int = setting(
        "DOWNLOAD_URL_EXPIRES_SECONDS", 600, "Life of a presigned download link.", minimum=1
    )
    pending_ttl_seconds: int = setting(
        "PENDING_TTL_SECONDS", 24 * 3600, "A pending upload that never arrives expires after this.", minimum=60
    )
    # A message is started only while the invocation has this (plus a margin) left, so one slow file fails alone
    # instead of timing out a whole batch.
    processing_deadline_seconds: int = setting(
        "PROCESSING_DEADLINE_SECONDS", 20, "Wall-clock budget to decode and render one image.", minimum=1
    )

    # Gallery: the public index is spread over this many partitions to avoid one hot key.
    gallery_shards: int = setting("GALLERY_SHARDS", 4, "Partitions of the public gallery index.", minimum=1)
    page_size_default: int = setting("PAGE_SIZE_DEFAULT", 20, "Page size when a listing names none.", minimum=1)
    page_size_max: int = setting("PAGE_SIZE_MAX", 100, "Largest page a listing returns.", minimum=1)

    # Cache and rate limits.
    redis_nodes: tuple[str, ...] = setting(
        "REDIS_NODES", (), "Comma list of Redis node URLs (the hash ring); empty: no cache.", aliases=("REDIS_URL",)
    )
    cache_virtual_nodes: int = setting("CACHE_VIRTUAL_NODES", 150, "Virtual nodes per Redis node.", minimum=1)
    cache_ttl_seconds: int = setting("CACHE_TTL_SECONDS", 3600, "Metadata cache TTL.", minimum=1)
    rate_limit_uploads_per_minute: int = setting(
        "RATE_LIMIT_UPLOADS_PER_MINUTE", 10, "Uploads per source address a minute (0: unlimited).", minimum=0
    )

    # Web front end / CORS; behind the CDN also the one public origin absolute links are built from.
    site_origin: str = setting(
        "SITE_ORIGIN",
        "http://127.0.0.1:8080",
        "The public origin: the site, and absolute links (CORS too).",
        deployed=True,
    )
    cdn_distribution_parameter: str = setting(
        "CDN_DISTRIBUTION_PARAMETER",
        "",
        "SSM parameter holding the CloudFront distribution id to invalidate (infra/cdn.py); empty: no CDN cache.",
    )

    # Auth.
    auth_provider: str = setting("AUTH_PROVIDER", "local", "Who verifies bearer tokens.", choices=AUTH_PROVIDERS)
    jwt_secret: Secret = setting(  # noqa: RUF009 - a field() with a default_factory, like the others
        "JWT_SECRET",
        "",
        secret=True,
        doc="HS256 key of local tokens (>= 32 bytes when deployed; random per process locally).",
    )
    jwt_issuer: str = setting("JWT_ISSUER", "chitram", "`iss` of local tokens.")
    jwt_audience: str = setting("JWT_AUDIENCE", "chitram-api", "`aud` of local tokens.")
    jwt_ttl_seconds: int = setting("JWT_TTL_SECONDS", 24 * 3600, "Life of a local token.", minimum=60)
    oidc_issuer: str = setting("OIDC_ISSUER", "", "Issuer of OIDC tokens (AUTH_PROVIDER=oidc).")
    oidc_audience: str = setting("OIDC_AUDIENCE", "", "Client id OIDC tokens must be for (AUTH_PROVIDER=oidc).")
    oidc_jwks_url: str = setting("OIDC_JWKS_URL", "", "The issuer's JWKS URL (AUTH_PROVIDER=oidc).")
    # An unknown ``kid`` refreshes the key set at most this often, so junk kids cannot hammer the JWKS URL.
    oidc_jwks_min_refresh_seconds: int = setting(
        "OIDC_JWKS_MIN_REFRESH_SECONDS", 60, "Least time between two JWKS fetches.", minimum=0
    )
    oidc_jwks_max_age_seconds: int = setting(
        "OIDC_JWKS_MAX_AGE_SECONDS", 3600, "The key set is refetched after this.", minimum=1
    )

    # Accounts. bcrypt's cost is a setting so tests can run at 4; deployed stages insist on >= 12.
    bcrypt_rounds: int = setting("BCRYPT_ROUNDS", 12, "bcrypt cost (>= 12 when deployed).", minimum=4, maximum=31)
    quota_max_images: int = setting("QUOTA_MAX_IMAGES", 1000, "Images per user (0: unlimited).", minimum=0)
    quota_max_bytes: int = setting("QUOTA_MAX_BYTES", GIB, "Bytes per user (0: unlimited).", minimum=0)
    rate_limit_login_per_ip: int = setting(
        "RATE_LIMIT_LOGIN_PER_IP", 20, "Logins per source address a window (0: unlimited).", minimum=0
    )
    rate_limit_login_per_email: int = setting(
        "RATE_LIMIT_LOGIN_PER_EMAIL", 5, "Logins per email a window (0: unlimited).", minimum=0
    )
    rate_limit_login_window_seconds: int = setting(
        "RATE_LIMIT_LOGIN_WINDOW_SECONDS", 300, "The login limits' window.", minimum=1
    )
    rate_limit_register_per_ip: int = setting(
        "RATE_LIMIT_REGISTER_PER_IP", 20, "Registrations per source address a window (0: unlimited).", minimum=0
    )
    lockout_threshold: int = setting(
        "LOCKOUT_THRESHOLD",
        5,
        "Failed sign-ins per (address, source) before each further one doubles the wait.",
        minimum=1,
    )
    lockout_seconds: int = setting("LOCKOUT_SECONDS", 900, "The longest wait between two sign-in attempts.", minimum=1)
    password_reset_ttl_seconds: int = setting(
        "PASSWORD_RESET_TTL_SECONDS", 3600, "Life of a password-reset token.", minimum=60
    )

    # The operator's detailed view (GET /health/details, header X-Operator-Token); empty: nobody gets it.
    operator_token: Secret = setting(  # noqa: RUF009 - a field() with a default_factory, like the others
        "OPERATOR_TOKEN", "", secret=True, doc="Token of the operator's /health/details view (empty: off)."
    )

    # Mail (password reset): ``memory`` (tests), ``outbox`` (a directory of .json files), ``ses``.
    mailer: str = setting("MAILER", "outbox", "How mail leaves (`memory` by default on stage `test`).", choices=MAILERS)
    mail_from: str = setting("MAIL_FROM", "", "Sender address (MAILER=ses).")
    mail_outbox_dir: str = setting("MAIL_OUTBOX_DIR", ".run/outbox", "Directory of the outbox mailer.")

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, var in variables().items():
            raw = var.raw(env)
            if raw is not None:
                values[name] = var.parse(raw)
        stage = values.get("stage", cls.stage)
        if "jwt_secret" not in values and stage in LOCAL_STAGES:
            # Local and test runs without a configured secret get a random one per process: tokens simply do
            # not survive a restart, and no well-known default can ever verify anything.
            values["jwt_secret"] = Secret(secrets.token_urlsafe(48))
        if "mailer" not in values and stage == "test":
            values["mailer"] = "memory"
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        for name, var in variables().items():
            var.check(getattr(self, name))
        if self.api_upload_max_bytes > self.max_upload_bytes:
            raise SettingsError("API_UPLOAD_MAX_BYTES must not exceed MAX_UPLOAD_BYTES")
        if self.multipart_part_bytes * MAX_MULTIPART_PARTS < self.max_upload_bytes:
            raise SettingsError("MULTIPART_PART_BYTES is too small: MAX_UPLOAD_BYTES would need over 10,000 parts")
        if self.auth_provider == "oidc" and not (self.oidc_issuer and self.oidc_jwks_url):
            raise SettingsError("AUTH_PROVIDER=oidc needs OIDC_ISSUER and OIDC_JWKS_URL")
        if self.auth_provider == "oidc" and not self.oidc_audience:
            # Without an audience any token the issuer minted for any other client would be accepted here.
            raise SettingsError("AUTH_PROVIDER=oidc needs OIDC_AUDIENCE (the client id tokens must be for)")
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
        if not self.redis_nodes:
            # Without a node every rate limit passes (fail-open): that must be a failure to start, never a
            # silent consequence of an empty stack parameter.
            raise SettingsError(f"REDIS_NODES must be set for stage {self.stage!r}: rate limiting needs Redis")


def variables() -> dict[str, Var]:
    """The declaration of every setting, by ``Settings`` field name, in declaration order."""
    return {f.name: f.metadata["var"] for f in fields(Settings)}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
