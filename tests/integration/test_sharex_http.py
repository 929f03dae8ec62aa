"""The screenshot-tool uploaders against the running stack: a request built from the .sxcu exactly as ShareX
builds one, and the Flameshot/curl script run as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from chitram_cli import sharex

from scripts.stack import Stack
from tests.conftest import make_png
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration

_SYNTAX = re.compile(r"\{json:([^}]+)\}")


def sharex_value(template: str, response: Any) -> str:
    """ShareX's {json:path} syntax: a dotted path, with [n] for list items, into the response body."""

    def lookup(match: re.Match[str]) -> str:
        value = response
        for part in re.findall(r"[^.\[\]]+|\[\d+\]", match.group(1)):
            value = value[int(part[1:-1])] if part.startswith("[") else value[part]
        return str(value)

    return _SYNTAX.sub(lookup, template)


def sharex_request(document: dict[str, Any], filename: str, data: bytes, mime: str) -> requests.Response:
    """What ShareX sends for Body "MultipartFormData": Arguments as form fields, the file under FileFormName."""
    assert document["Body"] == "MultipartFormData"
    return requests.request(
        document["RequestMethod"],
        document["RequestURL"],
        params=document.get("Parameters"),
        headers=document.get("Headers"),
        data=document.get("Arguments"),
        files={document["FileFormName"]: (filename, data, mime)},
        timeout=30,
    )


@pytest.fixture
def upload_token(api: Api) -> str:
    email = f"sharex-{uuid.uuid4().hex[:12]}@example.com"
    session = api.post("/api/v1/auth/register", json={"email": email, "password": "correct horse battery"})
    assert session.status_code == 201, session.text
    headers = {"Authorization": f"Bearer {session.json()['access_token']}"}
    made = api.post("/api/v1/users/me/tokens", json={"name": "ShareX", "scope": "upload"}, headers=headers)
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


def test_a_sharex_request_built_from_the_sxcu_uploads_and_names_working_urls(
    api: Api, stack: Stack, upload_token: str
) -> None:
    document = json.loads(sharex.sxcu_text(stack.api_url, stack.web_url, upload_token, "unlisted"))

    response = sharex_request(document, "Screenshot 2026-11-30.png", make_png(320, 200, mode="RGB"), "image/png")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["visibility"] == "unlisted"
    url = sharex_value(document["URL"], body)
    thumbnail = sharex_value(document["ThumbnailURL"], body)
    deletion = sharex_value(document["DeletionURL"], body)
    assert url == f"{stack.api_url}/api/v1/images/{body['id']}/file"
    image = requests.get(url, timeout=30)
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")
    assert requests.get(thumbnail, timeout=30).status_code == 200
    page = requests.get(deletion, timeout=30)
    assert page.status_code == 200
    assert "Delete an image" in page.text
    assert api.get(f"/api/v1/images/{body['id']}").status_code == 200  # opening the deletion URL deleted nothing


def test_sharex_error_message_is_the_apis(stack: Stack, upload_token: str) -> None:
    document = sharex.sxcu(stack.api_url, stack.web_url, upload_token)
    response = sharex_request(document, "notes.png", b"not a picture at all", "image/png")
    assert response.status_code == 400
    assert sharex_value(document["ErrorMessage"], response.json()) == response.json()["detail"]["message"]


def test_flameshot_script_uploads_a_file_and_prints_its_link(stack: Stack, upload_token: str, tmp_path: Path) -> None:
    script = tmp_path / "chitram-upload.sh"
    script.write_text(sharex.flameshot_script(stack.api_url, stack.web_url, upload_token, "unlisted"))
    shot = tmp_path / "shot.png"
    shot.write_bytes(make_png(200, 120, mode="RGB"))

    run = subprocess.run(
        ["bash", str(script), str(shot)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )

    assert run.returncode == 0, run.stderr
    link, deletion = run.stdout.splitlines()[:2]
    assert link.startswith(f"{stack.api_url}/api/v1/images/")
    assert requests.get(link, timeout=30).content.startswith(b"\x89PNG")
    assert deletion.startswith(f"delete: {stack.web_url}/delete.html?id=")
