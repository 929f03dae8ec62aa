/**
 * Screenshot-tool uploaders for this deployment: a ShareX custom uploader (.sxcu) and a Flameshot/curl script.
 *
 * The same documents as the CLI's `chitram sharex` (cli/chitram_cli/sharex.py); tests/unit/test_sharex_web.py
 * runs this module under Node and compares the two byte for byte. The deletion URL opens delete.html, a
 * confirmation page: a GET never deletes.
 */

export const SHAREX_VERSION = "16.1.0";
export const UPLOAD_PATH = "/api/v1/images/upload";

export function sxcu(apiUrl, siteUrl, token, visibility = null) {
  const api = apiUrl.replace(/\/+$/, "");
  const site = siteUrl.replace(/\/+$/, "");
  const document = {
    Version: SHAREX_VERSION,
    Name: `Chitram (${new URL(api).host})`,
    DestinationType: "ImageUploader",
    RequestMethod: "POST",
    RequestURL: api + UPLOAD_PATH,
    Headers: { Authorization: `Bearer ${token}` },
    Body: "MultipartFormData",
  };
  if (visibility) document.Arguments = { visibility };
  Object.assign(document, {
    FileFormName: "file",
    URL: `${api}{json:url}`,
    ThumbnailURL: `${api}{json:thumbnail_url}`,
    DeletionURL: `${site}/delete.html?id={json:id}`,
    ErrorMessage: "{json:detail.message}",
  });
  return document;
}

/** The .sxcu file's text: JSON indented by two spaces, as Python's json.dumps(indent=2) writes it. */
export function sxcuText(apiUrl, siteUrl, token, visibility = null) {
  return `${JSON.stringify(sxcu(apiUrl, siteUrl, token, visibility), null, 2)}\n`;
}

/** POSIX shell quoting, as Python's shlex.quote does it. */
export function shellQuote(value) {
  if (value === "") return "''";
  if (/^[\w@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", "'\"'\"'")}'`;
}

const SCRIPT = `#!/usr/bin/env bash
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
if ! response="$(curl -sS --fail-with-body -H "Authorization: Bearer $TOKEN" "\${form[@]}" \\
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
`;

export function flameshotScript(apiUrl, siteUrl, token, visibility = null) {
  return SCRIPT.replace("__API__", shellQuote(apiUrl.replace(/\/+$/, "")))
    .replace("__SITE__", shellQuote(siteUrl.replace(/\/+$/, "")))
    .replace("__TOKEN__", shellQuote(token))
    .replace("__VISIBILITY__", shellQuote(visibility || ""));
}
