"""Pure rules of the lifecycle: filenames, S3 event parsing, cursors, download headers."""

from __future__ import annotations

import json

import pytest

from chalicelib.errors import InvalidCursor
from chalicelib.records import decode_cursor, encode_cursor
from chalicelib.services.images import sanitize_filename
from chalicelib.services.processor import object_keys
from chalicelib.storage import content_disposition, image_id_from_original_key


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("holiday.jpg", "holiday.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\cat.png", "cat.png"),
        ("evil\r\nSet-Cookie: a=b.jpg", "evilSet-Cookie: a=b.jpg"),
        ('quote"d.jpg', "quoted.jpg"),
        ("\u202egpj.exe", "gpj.exe"),  # right-to-left override, used to disguise extensions
        ("  spaced \t out  .jpg", "spaced out .jpg"),
        ("...hidden", "hidden"),
        ("", "image"),
        (None, "image"),
        ("\x00\x01", "image"),
        ("Ünïcödé 写真.jpg", "Ünïcödé 写真.jpg"),
    ],
)
def test_filenames_are_sanitized(raw: object, clean: str) -> None:
    assert sanitize_filename(raw) == clean


def test_long_filenames_keep_their_extension() -> None:
    clean = sanitize_filename("a" * 500 + ".jpeg")
    assert len(clean) == 200
    assert clean.endswith(".jpeg")


def s3_body(*keys: str, event: str = "ObjectCreated:Post") -> str:
    return json.dumps({"Records": [{"eventName": event, "s3": {"object": {"key": key}}} for key in keys]})


def test_s3_event_keys_are_url_decoded() -> None:
    assert object_keys(s3_body("originals/a%2Bb+c", "originals/x")) == ["originals/a+b c", "originals/x"]


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"Event": "s3:TestEvent", "Service": "Amazon S3"}),
        s3_body("originals/x", event="ObjectRemoved:Delete"),
        "not json",
        "[]",
        json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}),
    ],
)
def test_messages_without_created_objects_give_no_keys(body: str) -> None:
    assert object_keys(body) == []


@pytest.mark.parametrize(
    ("key", "image_id"),
    [("originals/abc", "abc"), ("originals/", None), ("originals/a/b", None), ("files/abc.jpg", None)],
)
def test_only_direct_children_of_originals_are_images(key: str, image_id: str | None) -> None:
    assert image_id_from_original_key(key) == image_id


def test_cursor_round_trips_and_rejects_garbage() -> None:
    key = "2026-11-25T12:00:00.000Z#abc"
    assert decode_cursor(encode_cursor(key)) == key
    for bad in ("", "!!!", encode_cursor("no-hash-here"), "eyJ4IjogMX0"):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)


def test_content_disposition_is_header_safe_and_keeps_unicode() -> None:
    header = content_disposition('写真 "1".jpg')
    assert "\n" not in header
    assert header.startswith('inline; filename="')
    assert "filename*=UTF-8''%E5%86%99%E7%9C%9F%20%221%22.jpg" in header
