"""Password hashing and policy (chalicelib.auth.passwords), and the bcrypt cost settings."""

from __future__ import annotations

import pytest

from chalicelib.auth import passwords
from chalicelib.errors import ValidationFailed
from chalicelib.settings import Settings, SettingsError

FAST = 4  # bcrypt's minimum cost: these tests check behaviour, not strength


def test_default_bcrypt_cost_is_12() -> None:
    assert Settings().bcrypt_rounds == 12
    assert Settings.from_env({"STAGE": "test"}).bcrypt_rounds == 12
    assert passwords.DEFAULT_ROUNDS == 12


def test_hash_uses_the_configured_cost_and_verifies() -> None:
    hashed = passwords.hash_password("correct horse", FAST)
    assert hashed.startswith("$2b$04$")
    assert passwords.verify_password("correct horse", hashed)
    assert not passwords.verify_password("correct horsf", hashed)


def test_verify_never_raises_on_junk() -> None:
    hashed = passwords.hash_password("correct horse", FAST)
    assert not passwords.verify_password("x" * 100, hashed)  # bcrypt 5 refuses > 72 bytes: still just False
    assert not passwords.verify_password("anything", "not-a-bcrypt-hash")
    assert not passwords.verify_password(None, hashed)


def test_dummy_hash_matches_nothing_and_has_the_asked_cost() -> None:
    dummy = passwords.dummy_hash(FAST)
    assert passwords.hash_rounds(dummy) == FAST
    assert not passwords.verify_password("", dummy)
    assert not passwords.verify_password("password1", dummy)


def test_needs_rehash_when_cost_is_below_the_setting() -> None:
    hashed = passwords.hash_password("correct horse", FAST)
    assert passwords.needs_rehash(hashed, 12)
    assert not passwords.needs_rehash(hashed, FAST)
    assert passwords.needs_rehash("junk", FAST)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "too_short"),
        ("é" * 37, "too_long"),  # 37 characters but 74 bytes: bcrypt would silently truncate
        ("x" * 73, "too_long"),
        (" " * 10, "blank"),
    ],
)
def test_policy_rejects_with_a_named_reason(password: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        passwords.check_password_policy(password)
    assert caught.value.body() == {
        "detail": {
            "code": "VALIDATION_ERROR",
            "message": caught.value.detail_message,
            "details": {"field": "password", "reason": reason, "min_length": 8, "max_bytes": 72},
        }
    }


@pytest.mark.parametrize("password", [None, "", 12345678])
def test_policy_requires_a_string(password: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        passwords.check_password_policy(password)
    assert caught.value.details == {"field": "password", "min_length": 8, "max_bytes": 72}


@pytest.mark.parametrize("password", ["12345678", "x" * 72, "é" * 36, "pass word"])
def test_policy_accepts_8_characters_to_72_bytes(password: str) -> None:
    assert passwords.check_password_policy(password) == password


def test_deployed_stage_refuses_a_low_bcrypt_cost() -> None:
    env = {
        "STAGE": "prod",
        "JWT_SECRET": "s" * 48,
        "MAILER": "ses",
        "MAIL_FROM": "noreply@example.com",
        "REDIS_NODES": "redis://10.0.0.1:6379",
    }
    assert Settings.from_env(env).bcrypt_rounds == 12
    with pytest.raises(SettingsError, match="BCRYPT_ROUNDS"):
        Settings.from_env({**env, "BCRYPT_ROUNDS": "10"})
    assert Settings.from_env({"STAGE": "test", "BCRYPT_ROUNDS": "4"}).bcrypt_rounds == 4
