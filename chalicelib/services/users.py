"""Account rules: register, sign in, who am I, password reset, and the per-user quota counters.

Raises ``AppError``s only. The rules that are easy to get wrong:
- Emails are stripped and lower-cased before anything else; uniqueness is the store's transaction.
- Sign-in answers the same ``INVALID_CREDENTIALS`` body for an unknown email and a wrong password, and spends
  the same bcrypt work on both (an unknown email is checked against a dummy hash).
- Every input is bounded before it is parsed: an address longer than ``MAX_EMAIL_CHARS`` is refused (or, at
  sign-in, treated as unknown) before any pattern runs over it.
- Limits: per source IP in Redis (fail-open), and growing delays per (address, source) in DynamoDB (so they
  hold with Redis down): after ``LOCKOUT_THRESHOLD`` failures from one source for one address, each further
  failure doubles the wait (capped at ``LOCKOUT_SECONDS``); attempts inside the wait answer 429 with
  ``Retry-After`` without checking the password. There is no account lock a stranger could keep closed: the
  owner signing in from elsewhere is not slowed. Known and unknown addresses are throttled alike, so neither
  the status nor the body tells them apart.
- Password reset always "accepts"; a token goes out only for a registered address, is stored hashed, expires,
  and works once. Tokens look like ``<user id>.<secret>`` so confirming is one consistent read, no index.
- Local accounts exist only with ``AUTH_PROVIDER=local``; with ``oidc`` the provider owns sign-in and these
  routes answer ``NOT_FOUND``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import uuid
from typing import Any, NoReturn, Protocol

from chalicelib.auth.mailer import Mailer, Message
from chalicelib.auth.passwords import (
    check_password_policy,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from chalicelib.auth.providers import Principal
from chalicelib.auth.store import User, UserStore, throttle_id
from chalicelib.auth.tokens import IssuedToken, LocalTokens
from chalicelib.errors import (
    InvalidCredentials,
    InvalidResetToken,
    RateLimited,
    RouteNotFound,
    ValidationFailed,
)
from chalicelib.services.ports import Clock, utc_now_iso
from chalicelib.settings import Settings

log = logging.getLogger(__name__)

MAX_EMAIL_CHARS = 254
# Deliberately loose: one @, something on both sides, a dot in the domain. The mailbox proves the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Limiter(Protocol):
    def hit(self, scope: str, identity: str, limit: int, window_seconds: int) -> None: ...


def normalize_email(raw: object) -> str:
    """The address lower-cased and stripped; ``ValidationFailed`` if it is not an address at all."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed("email is required.", field="email")
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email):  # length first: the pattern never sees more
        raise ValidationFailed("email is not a valid address.", field="email")
    return email


def _plausible_address(address: str) -> bool:
    return len(address) <= MAX_EMAIL_CHARS and _EMAIL.match(address) is not None


def hash_reset_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserService:
    def __init__(
        self,
        settings: Settings,
        store: UserStore,
        tokens: LocalTokens,
        limiter: Limiter,
        mailer: Mailer,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.store = store
        self.tokens = tokens
        self.limiter = limiter
        self.mailer = mailer
        self.clock = clock

    # --- local accounts ---------------------------------------------------------------------------

    def register(self, *, email: object, password: object, source_ip: str) -> tuple[User, IssuedToken]:
        self._require_local_accounts()
        address = normalize_email(email)
        secret = check_password_policy(password)
        self.limiter.hit("register", source_ip, self.settings.rate_limit_register_per_ip, self._window)
        user = User(
            id=uuid.uuid4().hex,
            email=address,
            password_hash=hash_password(secret, self.settings.bcrypt_rounds),
            created_at=utc_now_iso(self.clock),
        )
        self.store.create(user)
        log.info("user registered", extra={"user_id": user.id})
        return user, self.tokens.issue(user.id, ver=user.token_version)

    def login(self, *, email: object, password: object, source_ip: str) -> tuple[User, IssuedToken]:
        self._require_local_accounts()
        if not isinstance(email, str) or not email.strip():
            raise ValidationFailed("email is required.", field="email")
        if not isinstance(password, str) or not password:
            raise ValidationFailed("password is required.", field="password")
        # Bounded before anything looks at it: a 16 KB "address" is sliced, never pattern-matched whole.
        address = email[: MAX_EMAIL_CHARS + 64].strip().lower()
        self.limiter.hit("login-ip", source_ip, self.settings.rate_limit_login_per_ip, self._window)
        now = int(self.clock())
        throttle_key = throttle_id(address, source_ip)
        throttle = self.store.login_throttle(throttle_key, now=now)
        if throttle is not None and throttle.retry_at > now:
            raise RateLimited(retry_after=throttle.retry_at - now, scope="login")
        user = self.store.find_by_email(address) if _plausible_address(address) else None
        if user is None or not user.password_hash:
            verify_password(password, dummy_hash(self.settings.bcrypt_rounds))  # the same work either way
            self._login_failed(throttle_key, now)
        if not verify_password(password, user.password_hash):
            self._login_failed(throttle_key, now)
        if throttle is not None:
            self.store.clear_login_throttle(throttle_key)
        if needs_rehash(user.password_hash, self.settings.bcrypt_rounds):
            self.store.set_password_hash(user.id, hash_password(password, self.settings.bcrypt_rounds))
        return user, self.tokens.issue(user.id, ver=user.token_version)

    def _login_failed(self, throttle_key: str, now: int) -> NoReturn:
        """Count the failure for this (address, source), then answer as for any wrong credentials."""
        self.store.record_login_failure(
            throttle_key,
            now=now,
            free=self.settings.lockout_threshold,
            max_delay=self.settings.lockout_seconds,
            forget_after=self._window,
        )
        raise InvalidCredentials()

    # --- password reset ---------------------------------------------------------------------------

    def request_password_reset(self, *, email: object, source_ip: str) -> None:
        """Send a reset link if the address is registered. Says nothing either way."""
        self._require_local_accounts()
        address = normalize_email(email)
        self.limiter.hit("reset-ip", source_ip, self.settings.rate_limit_login_per_ip, self._window)
        try:
            self.limiter.hit("reset-email", address, self.settings.rate_limit_login_per_email, self._window)
        except RateLimited:
            # Answering 429 here would say the address was asked about recently; just send nothing more.
            log.info("password reset mail suppressed by the per-email limit")
            return
        user = self.store.find_by_email(address)
        if user is None:
            return
        token = f"{user.id}.{secrets.token_urlsafe(32)}"
        expires_at = int(self.clock()) + self.settings.password_reset_ttl_seconds
        self.store.set_reset_token(user.id, hash_reset_token(token), expires_at)
        minutes = self.settings.password_reset_ttl_seconds // 60
        link = f"{self.settings.site_origin}/reset-password.html#token={token}"
        message = Message(
            to=address,
            subject="Reset your Chitram password",
            body=(
                f"Someone asked to reset the password for this address.\n\nOpen this link within {minutes} minutes "
                f"to choose a new one:\n\n{link}\n\nIf it was not you, ignore this message.\n"
            ),
            kind="password_reset",
            data={"token": token, "link": link},
        )
        try:
            self.mailer.send(message)
        except Exception:
            # The answer must not differ for registered addresses, so a mail failure is only logged.
            log.exception("could not send the password reset mail", extra={"user_id": user.id})

    def confirm_password_reset(self, *, token: object, new_password: object) -> None:
        self._require_local_accounts()
        password = check_password_policy(new_password, field="new_password")
        if not isinstance(token, str) or "." not in token or len(token) > 512:
            raise InvalidResetToken()
        user_id = token.rpartition(".")[0]
        user = self.store.get(user_id)
        token_hash = hash_reset_token(token)
        now = int(self.clock())
        if (
            user is None
            or not user.reset_token_hash
            or not hmac.compare_digest(token_hash, user.reset_token_hash)
            or (user.reset_expires_at or 0) <= now
        ):
            raise InvalidResetToken()
        new_hash = hash_password(password, self.settings.bcrypt_rounds)
        if not self.store.consume_reset_token(user.id, token_hash, new_password_hash=new_hash, now=now):
            raise InvalidResetToken()
        log.info("password reset", extra={"user_id": user.id})

    # --- who am I ---------------------------------------------------------------------------------

    def profile(self, principal: Principal) -> dict[str, Any]:
        # (A local token whose account is gone never gets here: LocalProvider checks the user's token version.)
        user = self.store.get(principal.user_id)
        return {
            "id": principal.user_id,
            "email": user.email if user and user.email else principal.email,
            "provider": principal.provider,
            "created_at": user.created_at if user else None,
            "usage": {
                "image_count": user.image_count if user else 0,
                "bytes_used": user.bytes_used if user else 0,
            },
            "quota": {
                "max_images": self.settings.quota_max_images or None,
                "max_bytes": self.settings.quota_max_bytes or None,
            },
        }

    # --- helpers ----------------------------------------------------------------------------------

    @property
    def _window(self) -> int:
        return self.settings.rate_limit_login_window_seconds

    def _require_local_accounts(self) -> None:
        if self.settings.auth_provider != "local":
            raise RouteNotFound("Local accounts are disabled; sign in with the identity provider.")


class UserQuotas:
    """The quota port ``ImageService`` calls when an owned image is created or deleted."""

    def __init__(self, settings: Settings, store: UserStore) -> None:
        self.settings = settings
        self.store = store

    def reserve(self, owner: str, size: int) -> None:
        self.store.reserve(
            owner, size=size, max_images=self.settings.quota_max_images, max_bytes=self.settings.quota_max_bytes
        )

    def release(self, owner: str, size: int) -> None:
        self.store.release(owner, size=size)

    def reconcile(self, owner: str, image_count: int, bytes_used: int) -> None:
        self.store.set_usage(owner, image_count=image_count, bytes_used=bytes_used)

    def adjust(self, owner: str, bytes_delta: int) -> None:
        self.store.adjust_bytes(owner, delta=bytes_delta)
