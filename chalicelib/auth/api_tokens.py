"""Personal API tokens: create, list, revoke, and verify the ``Authorization: Bearer chi_...`` of scripts and tools.

A token reads ``chi_<id>_<secret>``: the recognisable prefix lets secret scanners find leaked tokens and lets the
API tell a token from a JWT without trying to parse it; ``<id>`` (16 hex digits) names the stored item, so a
lookup is one consistent ``GetItem``; ``<secret>`` is 32 random bytes (``secrets.token_urlsafe``). Only the
SHA-256 of the whole string is stored — a fast hash is enough for 256 bits of entropy (nothing to brute-force,
unlike a password) — and it is compared in constant time. The secret is shown once, when the token is made.

Scopes: ``upload`` (create uploads and follow them to ``ready``), ``read`` (list and read your images), ``full``
(both, plus delete and change visibility). No scope manages the account: password change or reset and token
management need a signed-in session (``chalicelib.api.scopes`` holds the per-route table).

Last use is recorded at most once a minute per token (a conditional write that loses races quietly), so a busy
script costs one extra write a minute, not one per request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from chalicelib.auth.providers import OIDC_USER_PREFIX, ApiTokenGrant, Principal
from chalicelib.errors import ApiTokenNotFound, InvalidToken, TokenExpired, ValidationFailed

log = logging.getLogger(__name__)

TOKEN_PREFIX = "chi_"  # noqa: S105 (the public prefix, not a secret)
_TOKEN_SHAPE = re.compile(r"^chi_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
MAX_TOKENS_PER_USER = 50
MAX_NAME_CHARS = 100
MAX_EXPIRY_DAYS = 3650
LAST_USE_RESOLUTION_SECONDS = 60


class Scope(StrEnum):
    UPLOAD = "upload"
    READ = "read"
    FULL = "full"


SCOPES: tuple[str, ...] = tuple(str(scope) for scope in Scope)


@dataclass(frozen=True)
class ApiToken:
    id: str
    user_id: str
    name: str
    scope: str
    secret_hash: str
    created_at: str
    expires_at: int | None = None
    last_used_at: int | None = None


@dataclass(frozen=True)
class IssuedApiToken:
    token: ApiToken
    secret: str  # the whole ``chi_...`` string: shown once, never stored


class TokenStore(Protocol):
    def add(self, token: ApiToken, *, max_tokens: int) -> None: ...
    def get(self, token_id: str) -> ApiToken | None: ...
    def list_for(self, user_id: str) -> list[ApiToken]: ...
    def remove(self, user_id: str, token_id: str) -> bool: ...
    def touch(self, token_id: str, *, now: int, resolution: int) -> None: ...


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_api_token(bearer: str) -> bool:
    return bearer.startswith(TOKEN_PREFIX)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def describe_token(token: ApiToken, now: float) -> dict[str, Any]:
    """The JSON view of a token (never its secret or hash)."""
    return {
        "id": token.id,
        "name": token.name,
        "scope": token.scope,
        "created_at": token.created_at,
        "expires_at": _iso(token.expires_at) if token.expires_at is not None else None,
        "expired": token.expires_at is not None and token.expires_at <= now,
        "last_used_at": _iso(token.last_used_at) if token.last_used_at is not None else None,
    }


class ApiTokenService:
    def __init__(self, store: TokenStore, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock

    def create(self, user_id: str, *, name: object, scope: object, expires_in_days: object = None) -> IssuedApiToken:
        clean_name = self._check_name(name)
        if scope not in SCOPES:
            raise ValidationFailed("scope must be one of: " + ", ".join(SCOPES), field="scope", allowed=list(SCOPES))
        now = self.clock()
        expires_at = None
        if expires_in_days is not None:
            if isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int):
                raise ValidationFailed("expires_in_days must be a whole number of days.", field="expires_in_days")
            if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
                raise ValidationFailed(
                    f"expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}.", field="expires_in_days"
                )
            expires_at = int(now) + expires_in_days * 86400
        token_id = secrets.token_hex(8)
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        token = ApiToken(
            id=token_id,
            user_id=user_id,
            name=clean_name,
            scope=str(scope),
            secret_hash=hash_secret(secret),
            created_at=_iso(now),
            expires_at=expires_at,
        )
        self.store.add(token, max_tokens=MAX_TOKENS_PER_USER)
        log.info("api token created", extra={"user_id": user_id, "token_id": token_id, "scope": token.scope})
        return IssuedApiToken(token=token, secret=secret)

    def list_for(self, user_id: str) -> list[ApiToken]:
        return sorted(self.store.list_for(user_id), key=lambda token: token.created_at, reverse=True)

    def revoke(self, user_id: str, token_id: str) -> None:
        if not self.store.remove(user_id, token_id):
            raise ApiTokenNotFound(id=token_id)
        log.info("api token revoked", extra={"user_id": user_id, "token_id": token_id})

    def authenticate(self, bearer: str) -> Principal:
        """The principal a ``chi_`` token stands for; ``InvalidToken`` (unknown, revoked) or ``TokenExpired``."""
        match = _TOKEN_SHAPE.match(bearer)
        if match is None:
            raise InvalidToken("This is not a valid API token.")
        token = self.store.get(match.group(1))
        if token is None or not hmac.compare_digest(token.secret_hash, hash_secret(bearer)):
            raise InvalidToken("This API token has been revoked or does not exist.")
        now = self.clock()
        if token.expires_at is not None and token.expires_at <= now:
            raise TokenExpired("This API token has expired.", expired_at=_iso(token.expires_at))
        if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION_SECONDS:
            self.store.touch(token.id, now=int(now), resolution=LAST_USE_RESOLUTION_SECONDS)
        return Principal(
            user_id=token.user_id,
            # The account's provider; ``api_token`` says a token, not a sign-in, vouched for this request.
            provider="oidc" if token.user_id.startswith(OIDC_USER_PREFIX) else "local",
            api_token=ApiTokenGrant(token_id=token.id, scope=token.scope),
        )

    @staticmethod
    def _check_name(name: object) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ValidationFailed("name is required.", field="name")
        clean = " ".join("".join(ch for ch in name if ch.isprintable()).split())
        if not clean or len(clean) > MAX_NAME_CHARS:
            raise ValidationFailed(f"name must be 1 to {MAX_NAME_CHARS} printable characters.", field="name")
        return clean
