"""The access tokens we issue ourselves (the ``local`` provider): HS256 JWTs.

Claims: ``sub`` (user id), ``iat``, ``exp`` (``JWT_TTL_SECONDS``, 24 h by default), ``iss`` and ``aud`` (both
from settings), ``jti``. Decoding pins the algorithm list to HS256, so ``alg: none`` and algorithm-confusion
tokens fail before any key is used, and requires every claim above. PyJWT's errors are translated here:
expiry -> ``TokenExpired``; anything else -> ``InvalidToken`` (never a 500, never anonymous).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import InvalidToken, TokenExpired

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "exp", "iat", "iss", "aud")
# Clocks of the issuing and verifying Lambdas are the same AWS clock; a few seconds absorbs the rest.
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)


class LocalTokens:
    """Issue and verify our own access tokens."""

    def __init__(
        self,
        secret: str,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("a JWT secret is required")
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def issue(self, subject: str, **extra: Any) -> IssuedToken:
        now = int(self._clock())
        claims = {
            **extra,
            "sub": subject,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
            "jti": secrets.token_urlsafe(12),
        }
        import jwt  # here, not at the top: PyJWT imports cryptography, which cold paths without tokens never need

        return IssuedToken(jwt.encode(claims, self._secret, algorithm=ALGORITHM), self.ttl_seconds)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if it is ours, unexpired and for us; ``InvalidToken``/``TokenExpired`` if not."""
        import jwt  # imported with the first token, not at cold start

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired() from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidToken()
        return claims
