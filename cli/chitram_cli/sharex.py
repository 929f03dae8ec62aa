"""Screenshot-tool uploaders for a deployment: a ShareX custom uploader (``.sxcu``) and a Flameshot/curl script.

Both post the file to ``/api/v1/images/upload`` (one multipart request, answered ``ready`` with the links: the
shape ShareX can use) with an upload-scoped personal API token. The deletion URL opens the web front end's
confirmation page (``delete.html``): a GET never deletes anything.

ShareX's format (https://getsharex.com/docs/custom-uploader): ``Version``, ``Name``, ``DestinationType``,
``RequestMethod``, ``RequestURL``, ``Headers``, ``Body`` (``MultipartFormData``), ``Arguments`` (form fields),
``FileFormName``, and the response parsed with ``{json:path}`` in ``URL``, ``ThumbnailURL``, ``DeletionURL`` and
``ErrorMessage``. The web page (web/js/pages/tools.js) builds the same document; a browser test compares them.
"""

from __future__ import annotations

import json
import shlex
from typing import Any
from urllib.parse import urlsplit

SHAREX_VERSION = "16.1.0"
UPLOAD_PATH = "/api/v1/images/upload"


def sxcu(api_url: str, site_url: str, token: str, visibility: str | None = None) -> dict[str, Any]:
    api = api_url.rstrip("/")
    site = site_url.rstrip("/")
    document: dict[str, Any] = {
        "Version": SHAREX_VERSION,
        "Name": f"Chitram ({urlsplit(api).netloc})",
        "DestinationType": "ImageUploader",
        "RequestMethod": "POST",
        "RequestURL": api + UPLOAD_PATH,
        "Headers": {"Authorization": f"Bearer {token}"},
        "Body": "MultipartFormData",
    }
    if visibility:
        document["Arguments"] = {"visibility": visibility}
    document.update(
        {
            "FileFormName": "file",
            "URL": api + "{json:url}",
            "ThumbnailURL": api + "{json:thumbnail_url}",
            "DeletionURL": site + "/delete.html?id={json:id}",
            "ErrorMessage": "{json:detail.message}",
        }
    )
    return document


def sxcu_text(api_url: str, site_url: str, token: str, visibility: str | None = None) -> str:
    return json.dumps(sxcu(api_url, site_url, token, visibility), indent=2) + "\n"


_SCRIPT = """#!/usr/bin/env bash
# Chitram uploader for Flameshot (or any screenshot tool): upload a screenshot, print and copy its link.
#   chitram-upload.sh            take a screenshot with 'flameshot gui' and upload it
#   chitram-upload.sh FILE       upload FILE
# Needs curl and python3. The token below may only upload (scope 'upload'); revoke it on the web page if lost.
set -euo pipefail
API_URL=__API__
SITE_URL=__SITE__
TOKEN=__TOKEN__
VISIBILITY=__VISIBILITY__

if [ $# -gt 0 ]; then
  file="$1"
else
  file="$(mktemp --suffix=.png)"
  trap 'rm -f "$file"' EXIT
  flameshot gui --raw > "$file"
fi
if [ ! -s "$file" ]; then echo "No screenshot to upload." >&2; exit 1; fi

form=(-F "file=@$file")
if [ -n "$VISIBILITY" ]; then form+=(-F "visibility=$VISIBILITY"); fi
if ! response="$(curl -sS --fail-with-body -H "Authorization: Bearer $TOKEN" "${form[@]}" \\
    "$API_URL/api/v1/images/upload")"; then
  echo "Upload failed: $response" >&2
  exit 1
fi
read -r id path < <(printf '%s' "$response" |
  python3 -c 'import json, sys; b = json.load(sys.stdin); print(b["id"], b["url"])')
url="$API_URL$path"
echo "$url"
echo "delete: $SITE_URL/delete.html?id=$id"
if command -v wl-copy >/dev/null 2>&1; then printf '%s' "$url" | wl-copy
elif command -v xclip >/dev/null 2>&1; then printf '%s' "$url" | xclip -selection clipboard
fi
if command -v notify-send >/dev/null 2>&1; then notify-send "Chitram" "Uploaded: $url" || true; fi
"""


def flameshot_script(api_url: str, site_url: str, token: str, visibility: str | None = None) -> str:
    return (
        _SCRIPT.replace("__API__", shlex.quote(api_url.rstrip("/")))
        .replace("__SITE__", shlex.quote(site_url.rstrip("/")))
        .replace("__TOKEN__", shlex.quote(token))
        .replace("__VISIBILITY__", shlex.quote(visibility or ""))
    )
