"""Fuzz targets: the image pipeline, the container scrubbers and the request parsers.

Each target takes raw bytes and returns normally for every input; an exception it does not expect is a bug (a
crash, which atheris reports and saves). The expected outcomes are the product's contracts:

- ``process`` — ``imaging.process`` ends in a result or ``InvalidImage``; a result's served copy is itself
  accepted by the pipeline with the same format and size, and is a fixed point (scrubbing it again changes
  nothing): the scrubbers never emit a file we would refuse or one with something left to remove;
- ``scrubbers`` — each container's ``prepare``/``scrub`` on bytes that merely start like that container ends in
  bytes or ``InvalidImage`` or an error the pipeline translates (``_pillow_errors``);
- ``multipart`` — ``parse_upload`` on a fuzzed body and boundary ends in a file, ``ValidationFailed`` or
  ``FileTooLarge``;
- ``json_body`` — a fuzzed JSON body through Chalice's ``Request.json_body``, ``bodies.json_object`` and the
  upload/auth field checks ends in values or an ``AppError`` (Chalice's ``BadRequestError`` for bad JSON is
  mapped by the API in one place).

``tests/fuzz/run.py`` drives them with atheris; ``tests/fuzz/test_fuzz.py`` runs each for a few seconds and
replays every saved crash in ``tests/fuzz/regressions/``.
"""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Callable

from chalice.app import BadRequestError, Request

from chalicelib import imaging
from chalicelib.api import bodies
from chalicelib.api.multipart import parse_upload
from chalicelib.errors import AppError, FileTooLarge, InvalidImage, ValidationFailed
from chalicelib.imaging.scrubbers import SCRUBBERS
from chalicelib.services import images, users

MAX_BYTES = 4 * 1024 * 1024
MAX_PIXELS = 4_000_000  # small, so fuzzed headers cannot make a single run slow
SIZES = (64, 32)  # the pipeline's cascade and encoders, at fuzzing speed

# What the pipeline's _pillow_errors translates; a scrubber run on its own may raise these.
TRANSLATED = (OSError, EOFError, SyntaxError, ValueError, struct.error, IndexError, KeyError, ZeroDivisionError)


def fuzz_process(data: bytes) -> None:
    try:
        result = imaging.process(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, sizes=SIZES)
    except InvalidImage:
        return
    served = result.served.data
    again = imaging.process(served, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, sizes=SIZES)
    assert (again.format, again.width, again.height) == (result.format, result.width, result.height), (
        "the served copy decodes differently from the upload"
    )
    assert again.served.data == served, "the served copy still had something to remove"


def fuzz_scrubbers(data: bytes) -> None:
    if not data:
        return
    heads = {
        "JPEG": b"\xff\xd8\xff",
        "PNG": b"\x89PNG\r\n\x1a\n",
        "GIF": b"GIF89a",
        "WEBP": b"RIFF\x00\x00\x00\x00WEBP",
    }
    fmt = sorted(heads)[data[0] % len(heads)]
    body = heads[fmt] + data[1:]
    try:
        served = SCRUBBERS[fmt](body)()
    except (InvalidImage, *TRANSLATED):
        return
    assert isinstance(served, bytes)


def fuzz_multipart(data: bytes) -> None:
    # First line: the Content-Type header; the rest: the body.
    head, _, body = data.partition(b"\n")
    content_type = head.decode("latin-1")
    if not content_type.startswith("multipart/"):
        content_type = "multipart/form-data; boundary=" + content_type
    try:
        parse_upload(body, content_type, field="file", max_bytes=64 * 1024)
    except (ValidationFailed, FileTooLarge):
        return


def fuzz_json_body(data: bytes) -> None:
    event = {
        "multiValueQueryStringParameters": None,
        "headers": {"content-type": "application/json"},
        "pathParameters": None,
        "requestContext": {"httpMethod": "POST", "resourcePath": "/", "identity": {"sourceIp": "127.0.0.1"}},
        "body": data.decode("utf-8", "surrogateescape"),
        "isBase64Encoded": False,
        "stageVariables": None,
    }
    try:
        body = bodies.json_object(Request(event))
    except (BadRequestError, AppError):
        return
    except UnicodeEncodeError:
        return  # not UTF-8: API Gateway and chalice local refuse it before us
    checks: list[Callable[[], object]] = [
        lambda: images.sanitize_filename(body.get("filename")),
        lambda: images.check_visibility(body.get("visibility"), images.ANONYMOUS),
        lambda: images.ImageService._check_claimed_type(body.get("content_type")),
        lambda: images.ImageService._check_claimed_size(body.get("size"), MAX_BYTES),
        lambda: images.ImageService._check_thumbnail_size(body.get("size")),
        lambda: users.normalize_email(body.get("email")),
    ]
    for check in checks:
        with contextlib.suppress(AppError):
            check()
    name = images.sanitize_filename(body.get("filename"))
    assert name
    assert len(name) <= images.MAX_FILENAME_CHARS
    assert not any(c in name for c in "/\\\r\n\x00\u202e"), name
    json.dumps(name)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "process": fuzz_process,
    "scrubbers": fuzz_scrubbers,
    "multipart": fuzz_multipart,
    "json_body": fuzz_json_body,
}
