"""DynamoDB adapter for the users table (``UserRecord``): the only code that reads or writes it.

- Registration is one transaction: the user item and ``email#<address>`` (both ``attribute_not_exists``), so an
  address is unique even under concurrent sign-ups; a failed condition on the email item -> ``EmailTaken``.
- Failed sign-ins are counted per (address, source) on a ``throttle#<digest>`` item, never on the account: a
  stranger's failures slow the stranger down, not the owner signing in from elsewhere; and the item exists
  for unknown addresses just the same, so its answers say nothing about who is registered. Each failure past
  the free ones doubles the wait before the next attempt (capped); DynamoDB's TTL forgets the item a while
  after the last failure. It lives here, not in Redis, so it holds when every Redis node is down.
- Quotas: ``reserve`` adds one image and its bytes with a conditional ``ADD`` (the condition is the quota), so
  two concurrent uploads cannot both slip under the limit; ``release`` takes them back, never below zero.
  The item is created by the first ``ADD`` if it does not exist (OIDC users have no item until then).
- Password reset: the SHA-256 of the one live token and its expiry sit on the user item; consuming it is a
  conditional ``REMOVE`` on that hash, so a token works once even when two requests race.

PynamoDB errors are translated here: a failed condition into the domain error the caller names, anything else
into ``MetadataUnavailable``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.errors import EmailTaken, MetadataUnavailable, QuotaExceeded, StorageQuotaExceeded
from chalicelib.models import UserRecord, connection

log = logging.getLogger(__name__)

EMAIL_PREFIX = "email#"
THROTTLE_PREFIX = "throttle#"
CONDITION_FAILED = "ConditionalCheckFailedException"


def throttle_id(address: str, source: str) -> str:
    """The item id of one (address, source) pair's sign-in failures (hashed: no address in the key)."""
    digest = hashlib.sha256(f"{address}\n{source}".encode()).hexdigest()
    return THROTTLE_PREFIX + digest


@dataclass(frozen=True)
class LoginThrottle:
    failures: int
    retry_at: int  # epoch seconds before which the next attempt is refused (0: none)


FIRST_THROTTLE_DELAY_SECONDS = 5


def throttle_delay(failures: int, *, free: int, max_delay: int) -> int:
    """Seconds to wait after ``failures`` consecutive failures: none before the ``free``-th, then 5, 10, 20 ...
    capped at ``max_delay``. Growing, so guessing gets slow fast; capped, so the owner is never locked out."""
    if failures < free:
        return 0
    return int(min(max_delay, FIRST_THROTTLE_DELAY_SECONDS * 2 ** min(failures - free, 30)))


@dataclass(frozen=True)
class User:
    id: str
    email: str | None
    password_hash: str | None
    created_at: str | None
    failed_logins: int = 0
    locked_until: int | None = None
    image_count: int = 0
    bytes_used: int = 0
    reset_token_hash: str | None = None
    reset_expires_at: int | None = None
    token_version: int = 0


def _to_user(record: UserRecord) -> User:
    return User(
        id=record.id,
        email=record.email,
        password_hash=record.password_hash,
        created_at=record.created_at,
        failed_logins=int(record.failed_logins or 0),
        locked_until=None if record.locked_until is None else int(record.locked_until),
        image_count=int(record.image_count or 0),
        bytes_used=int(record.bytes_used or 0),
        reset_token_hash=record.reset_token_hash,
        reset_expires_at=None if record.reset_expires_at is None else int(record.reset_expires_at),
        token_version=int(record.token_version or 0),
    )


def _condition_failed(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", None) == CONDITION_FAILED


@contextmanager
def _translate(what: str) -> Iterator[None]:
    try:
        yield
    except PynamoDBException as exc:
        log.warning("users table error", extra={"what": what, "error": type(exc).__name__})
        raise MetadataUnavailable() from exc


class UserStore:
    """The users table."""

    def __init__(self, region: str) -> None:
        self.region = region

    # --- users ------------------------------------------------------------------------------------

    def create(self, user: User) -> None:
        """Write a new user and claim its (lower-cased) email; ``EmailTaken`` if the address is claimed."""
        if user.email is None:
            raise ValueError("a local user needs an email")
        record = UserRecord(
            id=user.id,
            kind="user",
            email=user.email,
            password_hash=user.password_hash,
            created_at=user.created_at,
            failed_logins=0,
            image_count=0,
            bytes_used=0,
        )
        claim = UserRecord(id=EMAIL_PREFIX + user.email, kind="email", user_id=user.id, email=user.email)
        try:
            with TransactWrite(connection=connection(self.region)) as transaction:
                transaction.save(record, condition=UserRecord.id.does_not_exist())
                transaction.save(claim, condition=UserRecord.id.does_not_exist())
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if len(reasons) > 1 and reasons[1] is not None and reasons[1].code == "ConditionalCheckFailed":
                raise EmailTaken(email=user.email) from exc
            log.warning("user registration failed", extra={"error": str(exc.cause_response_code)})
            raise MetadataUnavailable() from exc

    def get(self, user_id: str) -> User | None:
        with _translate("get"):
            try:
                record = UserRecord.get(user_id, consistent_read=True)
            except DoesNotExist:
                return None
        return _to_user(record) if record.kind == "user" else None

    def token_version(self, user_id: str) -> int | None:
        """The version a valid token of this user must carry; None if there is no such user."""
        user = self.get(user_id)
        return None if user is None else user.token_version

    def find_by_email(self, email: str) -> User | None:
        with _translate("find_by_email"):
            try:
                claim = UserRecord.get(EMAIL_PREFIX + email, consistent_read=True)
            except DoesNotExist:
                return None
        return self.get(claim.user_id) if claim.user_id else None

    # --- sign-in failures -------------------------------------------------------------------------

    def login_throttle(self, key: str, *, now: int) -> LoginThrottle | None:
        """The failures recorded for ``key`` (see ``throttle_id``), or None (none, or forgotten)."""
        with _translate("login_throttle"):
            try:
                record = UserRecord.get(key, consistent_read=True)
            except DoesNotExist:
                return None
        if record.expires_at is not None and int(record.expires_at) <= now:
            return None  # TTL deletes lazily; an expired item is already forgotten
        return LoginThrottle(failures=int(record.failed_logins or 0), retry_at=int(record.locked_until or 0))

    def record_login_failure(
        self, key: str, *, now: int, free: int, max_delay: int, forget_after: int
    ) -> LoginThrottle:
        """Count one failure for ``key`` (atomic ``ADD``) and set when the next attempt may come."""
        record = UserRecord(id=key)
        with _translate("record_login_failure"):
            record.update(
                actions=[
                    UserRecord.kind.set("throttle"),
                    UserRecord.failed_logins.add(1),
                    UserRecord.expires_at.set(now + forget_after + max_delay),
                ]
            )
            failures = int(record.failed_logins or 0)
            delay = throttle_delay(failures, free=free, max_delay=max_delay)
            if delay:
                record.update(actions=[UserRecord.locked_until.set(now + delay)])
        return LoginThrottle(failures=failures, retry_at=now + delay if delay else 0)

    def clear_login_throttle(self, key: str) -> None:
        with _translate("clear_login_throttle"):
            UserRecord(id=key).delete()

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        with _translate("set_password_hash"):
            UserRecord(id=user_id).update(
                actions=[UserRecord.password_hash.set(password_hash)], condition=UserRecord.id.exists()
            )

    # --- password reset ---------------------------------------------------------------------------

    def set_reset_token(self, user_id: str, token_hash: str, expires_at: int) -> None:
        with _translate("set_reset_token"):
            UserRecord(id=user_id).update(
                actions=[UserRecord.reset_token_hash.set(token_hash), UserRecord.reset_expires_at.set(expires_at)],
                condition=UserRecord.id.exists(),
            )

    def consume_reset_token(self, user_id: str, token_hash: str, *, new_password_hash: str, now: int) -> bool:
        """Use the token once: set the new password, clear the token and any lockout. False if not valid."""
        try:
            UserRecord(id=user_id).update(
                actions=[
                    UserRecord.password_hash.set(new_password_hash),
                    UserRecord.reset_token_hash.remove(),
                    UserRecord.reset_expires_at.remove(),
                    UserRecord.failed_logins.set(0),
                    UserRecord.locked_until.remove(),
                    UserRecord.token_version.add(1),  # signs out every token issued before the reset
                ],
                condition=(UserRecord.reset_token_hash == token_hash) & (UserRecord.reset_expires_at > now),
            )
        except PynamoDBException as exc:
            if _condition_failed(exc):
                return False
            raise MetadataUnavailable() from exc
        return True

    # --- quotas -----------------------------------------------------------------------------------

    def reserve(self, user_id: str, *, size: int, max_images: int, max_bytes: int) -> None:
        """Count one more image of ``size`` bytes, or raise ``QuotaExceeded`` / ``StorageQuotaExceeded``."""
        condition = None
        if max_images > 0:
            condition = UserRecord.image_count.does_not_exist() | (UserRecord.image_count <= max_images - 1)
        if max_bytes > 0:
            fits = UserRecord.bytes_used.does_not_exist() | (UserRecord.bytes_used <= max_bytes - size)
            condition = fits if condition is None else condition & fits
            if size > max_bytes:
                raise StorageQuotaExceeded(size=size, max_bytes=max_bytes)
        try:
            UserRecord(id=user_id).update(
                actions=[
                    UserRecord.image_count.add(1),
                    UserRecord.bytes_used.add(size),
                    UserRecord.kind.set("user"),
                ],
                condition=condition,
            )
        except PynamoDBException as exc:
            if not _condition_failed(exc):
                raise MetadataUnavailable() from exc
            user = self.get(user_id)
            used_images = user.image_count if user else 0
            used_bytes = user.bytes_used if user else 0
            if max_images > 0 and used_images >= max_images:
                raise QuotaExceeded(image_count=used_images, max_images=max_images) from exc
            raise StorageQuotaExceeded(bytes_used=used_bytes, size=size, max_bytes=max_bytes) from exc

    def set_usage(self, user_id: str, *, image_count: int, bytes_used: int) -> None:
        """Overwrite the counters with a recount from the images table."""
        with _translate("set_usage"):
            UserRecord(id=user_id).update(
                actions=[
                    UserRecord.image_count.set(image_count),
                    UserRecord.bytes_used.set(bytes_used),
                    UserRecord.kind.set("user"),
                ]
            )

    def adjust_bytes(self, user_id: str, *, delta: int) -> None:
        """Correct the byte counter by ``delta`` (a claimed size replaced by the real one)."""
        self._move_counters(user_id, images=0, size=delta)

    def release(self, user_id: str, *, size: int) -> None:
        """Take back one image and its bytes."""
        self._move_counters(user_id, images=-1, size=-size)

    def _move_counters(self, user_id: str, *, images: int, size: int) -> None:
        """Add to the counters, never below zero (they are bookkeeping, not law; a recount corrects them)."""
        actions: list[Action] = []
        condition = UserRecord.id.exists()
        if images:
            actions.append(UserRecord.image_count.add(images))
            condition &= UserRecord.image_count >= max(0, -images)
        if size:
            actions.append(UserRecord.bytes_used.add(size))
            condition &= UserRecord.bytes_used >= max(0, -size)
        if not actions:
            return
        try:
            UserRecord(id=user_id).update(actions=actions, condition=condition)
            return
        except PynamoDBException as exc:
            if not _condition_failed(exc):
                raise MetadataUnavailable() from exc
        # Drifted (an expired pending upload, a lost write): clamp at zero.
        user = self.get(user_id)
        if user is None:
            return
        log.info("quota counters clamped at zero", extra={"user_id": user_id})
        with _translate("move_counters"):
            UserRecord(id=user_id).update(
                actions=[
                    UserRecord.image_count.set(max(0, user.image_count + images)),
                    UserRecord.bytes_used.set(max(0, user.bytes_used + size)),
                ],
                condition=UserRecord.id.exists(),
            )
