"""The ``chitram`` CLI as a user runs it (a subprocess), against the running stack.

The CLI under test is this checkout's ``cli/`` (``python -m chitram_cli`` with ``cli`` on ``PYTHONPATH``), with
its own config directory per test, so nothing touches the developer's real configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts.stack import Stack
from tests.conftest import ROOT, make_jpeg
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


class Cli:
    def __init__(self, stack: Stack, home: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CHITRAM_")},
            "PYTHONPATH": str(ROOT / "cli"),
            "CHITRAM_CONFIG_DIR": str(home),
            "CHITRAM_API_URL": stack.api_url,
            "CHITRAM_SITE_URL": stack.web_url,
        }

    def __call__(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chitram_cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
            check=False,
        )


@pytest.fixture
def cli(stack: Stack, tmp_path: Path) -> Cli:
    return Cli(stack, tmp_path / "config")


def signed_up(api: Api) -> tuple[str, dict[str, str]]:
    email = f"cli-{uuid.uuid4().hex[:12]}@example.com"
    response = api.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email, {"Authorization": f"Bearer {response.json()['access_token']}"}


def make_token(api: Api, session: dict[str, str], scope: str, **extra: Any) -> dict[str, Any]:
    response = api.post(
        "/api/v1/users/me/tokens", json={"name": f"cli {scope}", "scope": scope, **extra}, headers=session
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def photos(directory: Path, count: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = directory / f"photo-{index:02d}.jpg"
        path.write_bytes(make_jpeg(160 + index, 120, color=(index * 12 % 256, 90, 200)))
        paths.append(path)
    return paths


def test_upload_twenty_files_in_parallel_then_links_resolve_and_rm_deletes(api: Api, cli: Cli, tmp_path: Path) -> None:
    email, _ = signed_up(api)
    login = cli("login", "--email", email, "--password-stdin", stdin=PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    photos(tmp_path / "album", 20)

    run = cli(
        "upload", str(tmp_path / "album"), "--jobs", "8", "--json", "--progress", "plain", "--visibility", "unlisted"
    )

    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["summary"] == {"ready": 20}
    files = report["files"]
    assert sorted(Path(f["path"]).name for f in files) == [f"photo-{i:02d}.jpg" for i in range(20)]
    # Progress: every file started and finished, and the running total reached all 20.
    for index in range(20):
        assert f"photo-{index:02d}.jpg: uploading" in run.stderr
        assert f"photo-{index:02d}.jpg: ready" in run.stderr
    assert "20/20 files done" in run.stderr
    for item in files:
        assert item["visibility"] == "unlisted"
        direct = requests.get(item["direct_url"], timeout=30)
        assert direct.status_code == 200
        assert direct.content[:3] == b"\xff\xd8\xff"
        assert requests.get(item["thumbnail_url"], timeout=30).status_code == 200
        share = requests.get(item["share_url"], timeout=30)
        assert share.status_code == 200
        assert "text/html" in share.headers["Content-Type"]

    listed = cli("ls", "--all", "--limit", "7")
    assert listed.returncode == 0, listed.stderr
    assert {line.split("\t")[0] for line in listed.stdout.splitlines()} == {item["id"] for item in files}

    ids = [item["id"] for item in files]
    removed = cli("rm", *ids)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.count("deleted ") == 20
    for image_id in ids:
        assert api.get(f"/api/v1/images/{image_id}").status_code == 404


def test_bad_files_are_reported_and_do_not_stop_the_others(cli: Cli, tmp_path: Path) -> None:
    good = photos(tmp_path / "mixed", 1)[0]
    fake = tmp_path / "mixed" / "fake.jpg"
    fake.write_text("this is not a jpeg at all\n" * 10)
    text = tmp_path / "notes.txt"
    text.write_text("hello")

    run = cli("upload", str(good), str(fake), str(text), str(tmp_path / "nowhere.png"), "--json", "--anonymous")

    assert run.returncode == 1, run.stderr
    by_name = {Path(item["path"]).name: item for item in json.loads(run.stdout)["files"]}
    assert by_name[good.name]["status"] == "ready"
    assert by_name[good.name]["delete_token"]
    assert by_name["fake.jpg"]["status"] == "rejected"
    assert by_name["fake.jpg"]["error"] == "The file was rejected: NOT_AN_IMAGE."
    assert by_name["notes.txt"]["status"] == "failed"
    assert by_name["notes.txt"]["error"].startswith("Not an image type Chitram accepts")
    assert by_name["nowhere.png"]["error"] == "No such file or directory."
    # The anonymous upload's delete token was kept: rm needs nothing else.
    removed = cli("rm", by_name[good.name]["id"])
    assert removed.returncode == 0, removed.stderr


def test_unreachable_api_is_exit_4_with_a_clear_message(cli: Cli, tmp_path: Path) -> None:
    good = photos(tmp_path, 1)[0]
    run = cli("upload", str(good), env={"CHITRAM_API_URL": "http://127.0.0.1:9"})
    assert run.returncode == 4
    assert "Cannot reach the Chitram API at http://127.0.0.1:9" in run.stderr
    assert cli("ls", env={"CHITRAM_API_URL": "http://127.0.0.1:9", "CHITRAM_TOKEN": "x"}).returncode == 4


def test_revoked_token_is_exit_3(api: Api, cli: Cli, tmp_path: Path) -> None:
    _, session = signed_up(api)
    token = make_token(api, session, "full")
    assert cli("login", "--token", "-", stdin=token["token"] + "\n").returncode == 0
    assert api.delete(f"/api/v1/users/me/tokens/{token['id']}", headers=session).status_code == 204

    run = cli("upload", str(photos(tmp_path, 1)[0]))

    assert run.returncode == 3
    assert "This API token has been revoked or does not exist." in run.stderr


def test_expired_token_is_exit_3(api: Api, cli: Cli, tmp_path: Path, aws_clients: dict[str, Any]) -> None:
    _, session = signed_up(api)
    token = make_token(api, session, "full", expires_in_days=1)
    # A day cannot pass in a test: move the stored expiry into the past, as time would.
    aws_clients["dynamodb"].update_item(
        TableName="chitram-users",
        Key={"id": {"S": f"apitoken#{token['id']}"}},
        UpdateExpression="SET token_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "1000"}},
    )

    run = cli("ls", env={"CHITRAM_TOKEN": token["token"]})

    assert run.returncode == 3
    assert "This API token has expired." in run.stderr


def test_token_without_the_needed_scope_is_exit_3(api: Api, cli: Cli, tmp_path: Path) -> None:
    _, session = signed_up(api)
    reader = make_token(api, session, "read")["token"]
    uploader = make_token(api, session, "upload")["token"]

    upload = cli("upload", str(photos(tmp_path, 1)[0]), env={"CHITRAM_TOKEN": reader})
    listing = cli("ls", env={"CHITRAM_TOKEN": uploader})

    assert upload.returncode == 3, upload.stderr
    assert "This API token has the 'read' scope; this request needs one of: full, upload." in upload.stdout
    assert listing.returncode == 3
    assert "This API token has the 'upload' scope; this request needs one of: full, read." in listing.stderr


def test_wrong_password_is_exit_3(api: Api, cli: Cli) -> None:
    email, _ = signed_up(api)
    run = cli("login", "--email", email, "--password-stdin", stdin="not the password\n")
    assert run.returncode == 3
    assert "Incorrect email or password." in run.stderr
