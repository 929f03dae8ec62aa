"""A large file through the CLI's multipart path: interrupted part-way, resumed, byte-identical, no orphaned parts.

The interruption is a real signal the CLI process sends itself after a known number of parts
(``CHITRAM_FAULT_AFTER_PARTS``): SIGINT is a user's Ctrl-C, SIGKILL a crash with no chance to clean up.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from scripts.stack import Stack
from tests.conftest import FIXTURES
from tests.integration.conftest import Api
from tests.integration.test_cli_http import Cli, make_token, signed_up

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


def large_jpeg(min_bytes: int) -> bytes:
    """A real JPEG of at least ``min_bytes``, derived from a camera fixture with noise (noise does not compress)."""
    with Image.open(FIXTURES / "Canon_40D.jpg") as photo:
        base = photo.convert("RGB")
    pixels = int(min_bytes / 3.2)
    width = int((pixels * base.width / base.height) ** 0.5)
    height = pixels // width
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    Image.blend(base.resize((width, height)), noise, 0.6).save(buffer, "JPEG", quality=100, subsampling=0)
    assert len(buffer.getvalue()) >= min_bytes
    return buffer.getvalue()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "panorama.jpg"
    path.write_bytes(large_jpeg(40 * MIB))
    return path


def open_uploads(aws_clients: dict[str, Any], stack: Stack, image_id: str) -> list[dict[str, Any]]:
    bucket = stack.env().get("BUCKET_NAME", "chitram-images")
    uploads = aws_clients["s3"].list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return [upload for upload in uploads if image_id in upload["Key"]]


@pytest.mark.parametrize("fault", ["INT", "KILL"])
def test_a_40_mib_file_interrupted_then_resumed_is_byte_identical_with_no_orphaned_parts(
    api: Api, stack: Stack, tmp_path: Path, big_file: Path, aws_clients: dict[str, Any], fault: str
) -> None:
    cli = Cli(stack, tmp_path / "config")
    _, session = signed_up(api)
    token = make_token(api, session, "upload")["token"]
    checksum = hashlib.sha256(big_file.read_bytes()).hexdigest()

    first = cli(
        "upload", str(big_file), "--json", "--progress", "plain",
        env={"CHITRAM_TOKEN": token, "CHITRAM_FAULT_AFTER_PARTS": f"2:{fault}"},
    )  # fmt: skip

    state = json.loads((tmp_path / "config" / "state" / "multipart.json").read_text())
    (image_id,) = [entry["id"] for entry in state.values()]
    if fault == "INT":
        assert first.returncode == 130, first.stderr
        (item,) = json.loads(first.stdout)["files"]
        assert item["status"] == "interrupted"
        assert item["id"] == image_id
        assert item["error"].startswith("Interrupted with 2 of ")
        assert "'chitram upload --resume' sends the rest." in item["error"]
    else:
        assert first.returncode == -9
    parts = api.get(f"/api/v1/images/{image_id}/multipart/parts", headers={"Authorization": f"Bearer {token}"})
    assert parts.status_code == 200, parts.text
    assert [p["part_number"] for p in parts.json()["parts"]] == [1, 2]
    assert parts.json()["part_count"] > 2

    second = cli("upload", str(big_file), "--resume", "--json", env={"CHITRAM_TOKEN": token})

    assert second.returncode == 0, second.stderr
    (item,) = json.loads(second.stdout)["files"]
    assert item["status"] == "ready", item
    assert item["id"] == image_id  # the same upload, finished, not a second one
    served = requests.get(item["direct_url"], timeout=60)
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == checksum
    assert open_uploads(aws_clients, stack, image_id) == []
    assert json.loads((tmp_path / "config" / "state" / "multipart.json").read_text()) == {}


def test_uploading_again_without_resume_aborts_the_stale_upload(
    api: Api, stack: Stack, tmp_path: Path, big_file: Path, aws_clients: dict[str, Any]
) -> None:
    cli = Cli(stack, tmp_path / "config")
    _, session = signed_up(api)
    token = make_token(api, session, "upload")["token"]
    env = {"CHITRAM_TOKEN": token}
    first = cli("upload", str(big_file), "--json", env={**env, "CHITRAM_FAULT_AFTER_PARTS": "1:INT"})
    assert first.returncode == 130
    stale = json.loads(first.stdout)["files"][0]["id"]

    again = cli("upload", str(big_file), "--json", "--no-wait", env=env)

    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["files"][0]["id"] != stale
    assert api.get(f"/api/v1/images/{stale}").status_code == 404
    assert open_uploads(aws_clients, stack, stale) == []
