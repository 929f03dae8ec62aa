"""The ShareX custom uploader (.sxcu) and the Flameshot script the CLI writes."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import jsonschema
from chitram_cli import sharex

# ShareX's custom uploader format as its documentation describes it (https://getsharex.com/docs/custom-uploader,
# ShareX 15+ syntax: response values are read with {json:path}).
SXCU_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["Version", "DestinationType", "RequestMethod", "RequestURL", "Body"],
    "additionalProperties": False,
    "properties": {
        "Version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "Name": {"type": "string"},
        "DestinationType": {
            "type": "string",
            "pattern": r"^(None|ImageUploader|TextUploader|FileUploader|URLShortener|URLSharingService)"
            r"(, (ImageUploader|TextUploader|FileUploader|URLShortener|URLSharingService))*$",
        },
        "RequestMethod": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
        "RequestURL": {"type": "string", "pattern": "^https?://"},
        "Parameters": {"type": "object", "additionalProperties": {"type": "string"}},
        "Headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "Body": {"enum": ["None", "MultipartFormData", "FormURLEncoded", "JSON", "XML", "Binary"]},
        "Arguments": {"type": "object", "additionalProperties": {"type": "string"}},
        "FileFormName": {"type": "string", "minLength": 1},
        "Data": {"type": "string"},
        "RegexList": {"type": "array", "items": {"type": "string"}},
        "URL": {"type": "string"},
        "ThumbnailURL": {"type": "string"},
        "DeletionURL": {"type": "string"},
        "ErrorMessage": {"type": "string"},
    },
    # MultipartFormData sends the file under FileFormName: ShareX refuses the uploader without it.
    "if": {"properties": {"Body": {"const": "MultipartFormData"}}},
    "then": {"required": ["FileFormName"]},
}

TOKEN = "chi_0123456789abcdef_" + "A" * 43


def test_sxcu_is_valid_json_matching_sharex_schema() -> None:
    text = sharex.sxcu_text("https://api.example.com/", "https://img.example.com", TOKEN, "unlisted")
    document = json.loads(text)
    jsonschema.validate(document, SXCU_SCHEMA)
    assert document["DestinationType"] == "ImageUploader"
    assert document["Body"] == "MultipartFormData"
    assert document["RequestURL"] == "https://api.example.com/api/v1/images/upload"
    assert document["Headers"] == {"Authorization": f"Bearer {TOKEN}"}
    assert document["Arguments"] == {"visibility": "unlisted"}
    assert document["URL"] == "https://api.example.com{json:url}"
    # The deletion URL is a confirmation page of the web front end, never an API call.
    assert document["DeletionURL"] == "https://img.example.com/delete.html?id={json:id}"


def test_sxcu_without_visibility_has_no_arguments() -> None:
    document = sharex.sxcu("http://127.0.0.1:8000", "http://127.0.0.1:8080", TOKEN)
    jsonschema.validate(document, SXCU_SCHEMA)
    assert "Arguments" not in document


def test_flameshot_script_is_valid_bash_with_the_values_quoted() -> None:
    script = sharex.flameshot_script("http://127.0.0.1:8000", "http://127.0.0.1:8080", TOKEN, "private")
    assert script.startswith("#!/usr/bin/env bash\n")
    assert f"TOKEN={TOKEN}\n" in script
    assert "VISIBILITY=private\n" in script
    subprocess.run(["bash", "-n"], input=script.encode(), check=True)
