"""Bearer-token providers: who a token says the caller is.

One interface, ``TokenProvider.authenticate(token) -> Principal``, two implementations chosen by
``AUTH_PROVIDER``:

- ``local``: our own HS256 tokens (``chalicelib.auth.tokens``); the user id is the token's ``sub``.
- ``oidc``: RS256 tokens from an external OpenID Connect provider (Cognito, Auth0, Keycloak...), verified with
  the provider's JWKS; the user id is ``oidc:<sub>`` so it can never collide with a local id.

OIDC details that matter for safety:
- The algorithm is pinned to RS256 before any key is looked up, so ``alg: none`` and HS256-signed-with-the-
  public-key (algorithm confusion) tokens are refused outright.
- ``iss`` must equal ``OIDC_ISSUER``; the audience must be ``OIDC_AUDIENCE``: the ``aud`` claim of ID tokens,
  or, for Cognito access tokens (which carry no ``aud``), their ``client_id`` with ``token_use: access``.
- Keys are cached. An unknown ``kid`` triggers a refresh (the provider rotated keys), but at most once per
  ``OIDC_JWKS_MIN_REFRESH_SECONDS``, so a stream of junk kids cannot turn us into a JWKS flooder. A token whose
  kid is still unknown after the refresh (a key rotated out) is ``INVALID_TOKEN``. When the provider is down
  and we hold no key for the kid (a cold start during an outage), the answer is 503
  ``IDENTITY_PROVIDER_UNAVAILABLE`` until a refresh succeeds, never 401 (which would sign users out); keys we
  already hold keep working while it is down (stale-on-error). PyJWT parses the key set (``PyJWKSet``); its
  ``PyJWKClient`` is not used because it has neither the refresh throttle nor stale-on-error.
- The JWKS URL is configurable apart from the issuer: moto serves it at ``{endpoint}/{pool}/.well-known/...``
  while its tokens name the real AWS issuer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.auth.tokens import LocalTokens
from chalicelib.errors import IdentityProviderUnavailable, InvalidToken, TokenExpired

log = logging.getLogger(__name__)

OIDC_ALGORITHMS = ("RS256",)
OIDC_USER_PREFIX = "oidc:"
JWKS_MAX_BYTES = 512 * 1024
JWKS_TIMEOUT_SECONDS = 3.0
LEEWAY_SECONDS = 5

JwksFetcher = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Principal:
    """The verified caller: our user id, which provider vouched for it, and what else the token said.

    ``api_token`` is set when a personal API token (``chalicelib.auth.api_tokens``) vouched instead of a sign-in:
    its scope limits the routes, and it never manages the account.
    """

    user_id: str
    provider: str
    email: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    api_token: ApiTokenGrant | None = None


@dataclass(frozen=True)
class ApiTokenGrant:
    """What a personal API token allows: its id (for the audit trail) and scope (``upload``, ``read``, ``full``)."""

    token_id: str
    scope: str


class TokenProvider(Protocol):
    name: str

    def authenticate(self, token: str) -> Principal:
        """The principal a bearer token proves; ``InvalidToken``/``TokenExpired`` if it proves nothing."""
        ...


class LocalProvider:
    """Our own HS256 tokens. With ``token_version`` (a user lookup), a token also has to carry the user's current
    version: a password reset bumps it, which signs out every token issued before, and a deleted account's
    tokens stop working."""

    name = "local"

    def __init__(self, tokens: LocalTokens, token_version: Callable[[str], int | None] | None = None) -> None:
        self.tokens = tokens
        self.token_version = token_version

    def authenticate(self, token: str) -> Principal:
        claims = self.tokens.verify(token)
        user_id = str(claims["sub"])
        if self.token_version is not None:
            current = self.token_version(user_id)
            if current is None:
                raise InvalidToken("The account for this token no longer exists.")
            if claims.get("ver", 0) != current:
                raise InvalidToken("This token was signed out when the password changed. Sign in again.")
        return Principal(user_id=user_id, provider=self.name, claims=claims)


def fetch_jwks(url: str) -> dict[str, Any]:
    """GET a JWKS document (bounded size and time). Raises ``IdentityProviderUnavailable``."""
    if not url.startswith(("https://", "http://")):
        raise IdentityProviderUnavailable(reason="the JWKS URL is not http(s)")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (scheme checked)
    try:
        with urllib.request.urlopen(request, timeout=JWKS_TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(JWKS_MAX_BYTES + 1)
    except OSError as exc:
        raise IdentityProviderUnavailable() from exc
    if len(body) > JWKS_MAX_BYTES:
        raise IdentityProviderUnavailable(reason="the JWKS document is too large")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise IdentityProviderUnavailable(reason="the JWKS document is not JSON") from exc
    if not isinstance(document, dict):
        raise IdentityProviderUnavailable(reason="the JWKS document is not an object")
    return document


def _rsa_signing_keys(document: dict[str, Any]) -> dict[str, Any]:
    """``kid -> public key`` for the RS256 signature keys of a JWKS document, parsed by PyJWT's ``PyJWKSet``
    (which skips keys it cannot use); keys of other types, uses or algorithms are left out."""
    import jwt  # PyJWT (and with it cryptography) only once a token is checked: not on every cold start

    try:
        keyset = jwt.PyJWKSet.from_dict(document)
    except jwt.PyJWKSetError:
        log.warning("the JWKS document has no usable keys")
        return {}
    return {
        key.key_id: key.key
        for key in keyset.keys
        if key.key_id
        and key.key_type == "RSA"
        and (key.public_key_use or "sig") == "sig"
        and key.algorithm_name in OIDC_ALGORITHMS
    }


class JwksCache:
    """The provider's keys by ``kid``, refreshed when stale or when a token names a kid we do not know."""

    def __init__(
        self,
        url: str,
        *,
        fetch: JwksFetcher = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
        min_refresh_seconds: float = 60,
        max_age_seconds: float = 3600,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self.clock = clock
        self.min_refresh_seconds = min_refresh_seconds
        self.max_age_seconds = max_age_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._last_fetch_failed = False
        self._lock = threading.Lock()
        self.fetches = 0

    def key_for(self, kid: str) -> Any:
        with self._lock:
            stale = self._fetched_at is None or self.clock() - self._fetched_at >= self.max_age_seconds
            if (stale or kid not in self._keys) and self._may_refresh():
                self._refresh(keep_on_error=kid in self._keys)
            key = self._keys.get(kid)
            provider_down = self._last_fetch_failed
        if key is None and provider_down:
            # We cannot tell a forged kid from a rotated-in one while the provider is down (at a cold start we
            # have no keys at all): that is the provider's outage (503, the client keeps its session), not a
            # bad token (401, the client signs out).
            raise IdentityProviderUnavailable()
        if key is None:
            raise InvalidToken(reason="unknown signing key")
        return key

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at >= self.min_refresh_seconds

    def _refresh(self, *, keep_on_error: bool) -> None:
        self.fetches += 1
        try:
            document = self._fetch(self.url)
        except IdentityProviderUnavailable:
            self._last_fetch_failed = True
            if keep_on_error:
                # A stale key we still have beats refusing every sign-in while the provider is down.
                log.warning("JWKS refresh failed; keeping cached keys", extra={"url": self.url})
                return
            raise
        finally:
            # Failed fetches count too: a down provider is not retried on every request.
            self._fetched_at = self.clock()
        self._last_fetch_failed = False
        self._keys = _rsa_signing_keys(document)


class OidcProvider:
    name = "oidc"

    def __init__(self, *, issuer: str, audience: str, jwks: JwksCache) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks

    def authenticate(self, token: str) -> Principal:
        import jwt  # see _rsa_signing_keys

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        if header.get("alg") not in OIDC_ALGORITHMS:
            raise InvalidToken(reason="unexpected algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken(reason="no key id")
        key = self.jwks.key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(OIDC_ALGORITHMS),
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                # The audience is checked below: Cognito access tokens name it in client_id, not aud.
                options={"require": ["sub", "exp", "iat", "iss"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired() from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        if not self._for_us(claims):
            raise InvalidToken(reason="wrong audience")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken()
        email = claims.get("email")
        return Principal(
            user_id=OIDC_USER_PREFIX + subject,
            provider=self.name,
            email=email if isinstance(email, str) else None,
            claims=claims,
        )

    def _for_us(self, claims: dict[str, Any]) -> bool:
        token_use = claims.get("token_use")
        if token_use is not None and token_use not in {"id", "access"}:
            return False
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience in audiences:
            return True
        # Cognito access tokens carry no ``aud``; their client is ``client_id``.
        is_access_token = token_use == "access"  # noqa: S105 (a claim value, not a password)
        return is_access_token and "aud" not in claims and claims.get("client_id") == self.audience
