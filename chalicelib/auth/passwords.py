"""Password hashing (bcrypt) and the password policy.

bcrypt reads at most 72 bytes of a password (bcrypt 5 refuses longer ones outright), so the policy bounds the
UTF-8 length rather than letting two long passwords with the same prefix collide. The cost is a setting:
12 by default and at least 12 on deployed stages (``Settings.validate``); tests use 4 to stay fast.

``verify_password`` never raises on junk input (a malformed stored hash, an over-long attempt): a login must
answer ``INVALID_CREDENTIALS``, not 500. ``dummy_hash(rounds)`` is checked against for unknown emails, so
"no such user" costs the same bcrypt work as "wrong password".
"""

from __future__ import annotations

from functools import lru_cache

import bcrypt

from chalicelib import catalog
from chalicelib.errors import ValidationFailed

MIN_PASSWORD_CHARS = catalog.PASSWORD_MIN_CHARS
MAX_PASSWORD_BYTES = catalog.PASSWORD_MAX_BYTES
DEFAULT_ROUNDS = 12


def check_password_policy(password: object, *, field: str = "password") -> str:
    """The password if it is acceptable; ``ValidationFailed`` naming the rule otherwise."""
    rules = {"min_length": MIN_PASSWORD_CHARS, "max_bytes": MAX_PASSWORD_BYTES}
    if not isinstance(password, str) or not password:
        raise ValidationFailed(f"{field} is required.", field=field, **rules)
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValidationFailed(
            f"{field} must be at least {MIN_PASSWORD_CHARS} characters.", field=field, reason="too_short", **rules
        )
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValidationFailed(
            f"{field} must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8.", field=field, reason="too_long", **rules
        )
    if password.strip() == "":
        raise ValidationFailed(f"{field} must not be only whitespace.", field=field, reason="blank", **rules)
    return password


def hash_password(password: str, rounds: int = DEFAULT_ROUNDS) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def verify_password(password: object, password_hash: str) -> bool:
    """True if ``password`` matches; False for any mismatch or malformed input (never raises)."""
    if not isinstance(password, str):
        password = ""
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        # Over-long password or malformed hash. Still spend the bcrypt time, so the answer's timing says nothing.
        rounds = min(max(hash_rounds(password_hash) or DEFAULT_ROUNDS, 4), 31)
        bcrypt.checkpw(b"", dummy_hash(rounds).encode("ascii"))
        return False


def hash_rounds(password_hash: str) -> int | None:
    """The cost a bcrypt hash was made with (``$2b$12$...`` -> 12), or None if it is not a bcrypt hash."""
    parts = password_hash.split("$")
    if len(parts) < 4 or not parts[2].isdigit():
        return None
    return int(parts[2])


def needs_rehash(password_hash: str, rounds: int) -> bool:
    """A hash made with a lower cost than configured is upgraded at the next successful login."""
    current = hash_rounds(password_hash)
    return current is None or current < rounds


@lru_cache(maxsize=4)
def dummy_hash(rounds: int) -> str:
    """A hash of a random password at ``rounds``: what unknown emails are checked against."""
    return hash_password(bcrypt.gensalt().decode("ascii"), rounds)
