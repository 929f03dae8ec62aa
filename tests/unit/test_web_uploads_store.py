"""This browser's remembered uploads (web/js/uploads-store.js) keep a ready image's placeholder fields, checked on
the way in, and entries stored before they did still read as they were."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from tests.conftest import ROOT

SCRIPT = """
const memory = new Map();
globalThis.localStorage = { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, String(v)),
  removeItem: (k) => memory.delete(k) };
const store = await import("./web/js/uploads-store.js");
const { before, steps } = JSON.parse(process.argv[1]);
if (before !== null) localStorage.setItem("chitram.uploads", JSON.stringify(before));
for (const [name, ...args] of steps) store[name](...args);
console.log(JSON.stringify(store.listUploads()));
"""

HASH = "LEHV6nWB2yk8pyo0adR*.7kCMdnj"


def run_store(steps: list[list[Any]], before: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Run ``steps`` (export name, then its arguments) against a fresh localStorage; the entries afterwards."""
    node = shutil.which("node")
    assert node is not None, "node is needed to test the web front end's modules"
    out = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, json.dumps({"before": before, "steps": steps})],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return list(json.loads(out.stdout))


def placeholder(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in ("blurhash", "width", "height") if key in entry}


def remember(image_id: str) -> list[Any]:
    return ["rememberUpload", {"id": image_id, "filename": f"{image_id}.jpg", "deleteToken": "token"}]


def test_a_ready_upload_keeps_its_blurhash_and_size() -> None:
    image = {"id": "a", "status": "ready", "blurhash": HASH, "width": 640, "height": 480, "filename": "a.jpg"}
    [entry] = run_store([remember("a"), ["rememberReady", "a", image], ["markTokenShown", "a"]])
    assert placeholder(entry) == {"blurhash": HASH, "width": 640, "height": 480}
    assert (entry["filename"], entry["deleteToken"], entry["tokenShown"]) == ("a.jpg", "token", True)
    assert "status" not in entry  # only the three fields are kept, not the whole image


def test_an_image_without_a_blurhash_or_with_a_bogus_one_stores_no_placeholder() -> None:
    entries = run_store(
        [
            remember("none"),
            remember("long"),
            remember("number"),
            ["rememberReady", "none", {"blurhash": None, "width": 640, "height": 480}],
            ["rememberReady", "long", {"blurhash": "x" * 201, "width": 640, "height": 480}],
            ["rememberReady", "number", {"blurhash": 42, "width": 640, "height": 480}],
        ]
    )
    assert [placeholder(entry) for entry in entries] == [{}, {}, {}]


def test_a_size_that_is_not_a_positive_integer_is_dropped_but_the_blurhash_kept() -> None:
    [entry] = run_store([remember("a"), ["rememberReady", "a", {"blurhash": HASH, "width": "640", "height": -1}]])
    assert placeholder(entry) == {"blurhash": HASH, "width": None, "height": None}


def test_an_upload_forgotten_before_it_was_ready_is_not_brought_back() -> None:
    entries = run_store([remember("a"), ["forgetUpload", "a"], ["rememberReady", "a", {"blurhash": HASH}]])
    assert entries == []


def test_entries_stored_before_placeholders_read_unchanged() -> None:
    old = {
        "id": "old",
        "filename": "old.jpg",
        "deleteToken": "token",
        "ownerId": None,
        "batch": None,
        "tokenShown": True,
        "uploadedAt": "2024-01-01T00:00:00.000Z",
    }
    entries = run_store([remember("new"), ["rememberReady", "new", {"blurhash": HASH, "width": 1, "height": 2}]], [old])
    assert [entry["id"] for entry in entries] == ["new", "old"]
    assert entries[1] == old
