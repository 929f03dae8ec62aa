"""The generated hostile corpus (``scripts/hostile_corpus.py``) through ``imaging.process``.

Every file ends as a clean rejection (``InvalidImage``) or a result; never another exception. The quick subset
runs by default; the large files (``fast=False``) are marked slow. Time and memory per file are measured by
``scripts/hostile_corpus.py --report`` (no timing assertions here; pytest-timeout is only a hang guard).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from chalicelib import imaging
from chalicelib.errors import InvalidImage
from chalicelib.settings import Settings
from scripts import hostile_corpus
from scripts.hostile_corpus import HostileFile


@functools.cache
def _corpus() -> dict[str, HostileFile]:
    return {f.name: f for f in hostile_corpus.corpus()}


def _params() -> list[object]:
    return [
        pytest.param(f.name, id=f.name, marks=() if f.fast else (pytest.mark.slow,)) for f in hostile_corpus.corpus()
    ]


def _run(data: bytes) -> imaging.ProcessedImage | InvalidImage:
    settings = Settings.from_env({})
    try:
        return imaging.process(data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels)
    except InvalidImage as exc:
        return exc


_ENDINGS: dict[str, Callable[[bytes], bool]] = {
    "PNG": lambda data: data.endswith(b"IEND\xae\x42\x60\x82"),
    "GIF": lambda data: data.endswith(b"\x3b"),
    "JPEG": lambda data: data.endswith(b"\xff\xd9"),
    "WEBP": lambda data: int.from_bytes(data[4:8], "little") + 8 == len(data),
}


@pytest.mark.parametrize("name", _params())
def test_hostile_file_ends_as_a_clean_rejection_or_a_correct_result(name: str) -> None:
    item = _corpus()[name]
    outcome = _run(item.data)
    if isinstance(outcome, InvalidImage):
        assert item.expect in (hostile_corpus.REJECT, hostile_corpus.EITHER), f"refused: {outcome.reason}"
        assert not item.reasons or outcome.reason in item.reasons, outcome.reason
        return
    assert item.expect in (hostile_corpus.ACCEPT, hostile_corpus.EITHER), "accepted a file that must be refused"
    served = outcome.served.data
    for rendition in (outcome.served, *outcome.thumbnails.values()):
        for payload in item.forbidden:
            assert payload not in rendition.data, f"{payload!r} left in a stored file"
    assert _ENDINGS[outcome.format](served), "bytes after the image's end are served"
    again = _run(served)
    assert isinstance(again, imaging.ProcessedImage), "the served copy is itself refused"
    assert (again.format, again.width, again.height) == (outcome.format, outcome.width, outcome.height)
    assert again.served.data == served, "scrubbing the served copy again changes it"


def test_corpus_names_and_filenames_are_unique_and_nonempty() -> None:
    files = hostile_corpus.corpus()
    assert len({f.name for f in files}) == len(files)
    assert all(f.data or f.name.startswith("empty") for f in files)
    assert {"traversal", "nul", "crlf", "rtl-override", "long-5kb"} <= hostile_corpus.filenames().keys()
    assert len(hostile_corpus.filenames()["long-5kb"]) >= 5000


@pytest.mark.parametrize("label", sorted(hostile_corpus.filenames()))
def test_hostile_filename_is_stored_as_a_safe_display_name(label: str) -> None:
    from chalicelib.services.images import MAX_FILENAME_CHARS, sanitize_filename

    name = sanitize_filename(hostile_corpus.filenames()[label])
    assert name
    assert len(name) <= MAX_FILENAME_CHARS
    assert not any(ch in name for ch in '/\\\x00\r\n\u202e\u202d\u2066\u2067\u2068\u2069"')
    assert not name.startswith(".")
    assert all(ch.isprintable() for ch in name)
