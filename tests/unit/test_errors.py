"""The error tree: every leaf has its own code and a valid status, and renders the shared envelope."""

from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.errors import AppError, InvalidImage, RateLimited, RejectReason


def all_subclasses(cls: type[AppError]) -> list[type[AppError]]:
    found: list[type[AppError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(all_subclasses(sub))
    return found


LEAVES = [cls for cls in all_subclasses(AppError) if not cls.__subclasses__()]


def test_every_leaf_error_has_a_unique_code() -> None:
    codes = [cls.code for cls in LEAVES]
    duplicates = {code for code in codes if codes.count(code) > 1}
    assert duplicates == set()


@pytest.mark.parametrize("cls", LEAVES, ids=lambda cls: cls.__name__)
def test_every_error_has_a_valid_status_and_renders_the_envelope(cls: type[AppError]) -> None:
    assert 400 <= cls.status <= 599
    error = cls(RejectReason.CORRUPT) if cls is InvalidImage else cls(5) if cls is RateLimited else cls()
    body = error.body()
    assert set(body) == {"detail"}
    assert set(body["detail"]) == {"code", "message", "details"}
    assert body["detail"]["code"] == str(cls.code)
    assert isinstance(body["detail"]["details"], dict)
    assert body["detail"]["message"]


def test_every_code_in_the_enum_is_used() -> None:
    used = {cls.code for cls in all_subclasses(AppError)} | {AppError.code}
    assert set(errors.ErrorCode) - used == set()


def test_rate_limited_carries_retry_after_header_and_detail() -> None:
    error = RateLimited(retry_after=0.2)  # type: ignore[arg-type]
    assert error.headers() == {"Retry-After": "1"}
    assert error.body()["detail"]["details"]["retry_after"] == 1


def test_invalid_image_names_its_reason() -> None:
    error = InvalidImage(RejectReason.TOO_MANY_PIXELS, "too big", pixels=10)
    assert error.body()["detail"]["details"] == {"reason": "TOO_MANY_PIXELS", "pixels": 10}
