"""The generated hostile corpus (``scripts/hostile_corpus.py``) through ``imaging.process``.

Every file ends as a clean rejection (``InvalidImage``) or a result; never another exception. The quick subset
runs by default; the large files (``fast=False``) are marked slow. Time and memory per file are measured by
``scripts/hostile_corpus.py --report`` (no timing assertions here; pytest-timeout is only a hang guard).
"""

from __future__ import annotations

import functools

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


def _run(item: HostileFile) -> imaging.ProcessedImage | InvalidImage:
    settings = Settings.from_env({})
    try:
        return imaging.process(item.data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels)
    except InvalidImage as exc:
        return exc


@pytest.mark.parametrize("name", _params())
def test_hostile_file_ends_as_a_rejection_or_a_result(name: str) -> None:
    outcome = _run(_corpus()[name])
    assert isinstance(outcome, imaging.ProcessedImage | InvalidImage)


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
