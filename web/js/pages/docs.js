/**
 * The API reference (/docs): Swagger UI, served from this site (vendor/swagger-ui/, installed by make from npm's
 * swagger-ui-dist, never committed) so the strict CSP holds, rendering the API's own OpenAPI document with the
 * server set to this deployment's API for "Try it out". Above it, copy-paste examples for curl and the CLI.
 */

import { apiUrl } from "../api.js";
import { getToken } from "../auth.js";
import { UPLOADABLE_TYPES } from "../facts.js";
import { initNav } from "../nav.js";
import { $, copyButton, el, errorText, setStatus } from "../ui.js";

initNav("docs");

const apiBase = new URL(apiUrl("/"), window.location.href).href.replace(/\/+$/, "");
const openapiUrl = `${apiBase}/api/v1/openapi.json`;
$("#openapi-link").href = openapiUrl;

export function examples(api) {
  return [
    ["Upload with curl (small files, one request; add -H 'Authorization: Bearer chi_…' to own it)",
      `curl -F file=@photo.jpg ${api}/api/v1/images/upload`],
    ["Upload straight to storage: ask for a presigned form, then post the file to it",
      `curl -H 'Content-Type: application/json' -d '{"filename": "photo.jpg", "content_type": "${UPLOADABLE_TYPES[0]}", "size": 139435}' ${api}/api/v1/images/upload-url`],
    ["An image's metadata and status", `curl ${api}/api/v1/images/IMAGE_ID`],
    ["Your images (a read or full token)", `curl -H "Authorization: Bearer $CHITRAM_TOKEN" ${api}/api/v1/users/me/images`],
    ["Delete (a full token, or the delete token of an anonymous upload)",
      `curl -X DELETE -H "X-Delete-Token: $DELETE_TOKEN" ${api}/api/v1/images/IMAGE_ID`],
    ["Install the command line", "pip install ./cli    # from a checkout of the repository"],
    ["Point it here and sign in", `chitram config --api-url ${api} --site-url ${window.location.origin}\nchitram login --token -    # paste an API token, or: chitram login --email you@example.com`],
    ["Upload files and folders in parallel, wait until ready, print links", "chitram upload ~/Pictures/trip --visibility unlisted\nchitram upload shot.png --json"],
    ["List, open, delete", "chitram ls --all\nchitram open IMAGE_ID\nchitram rm IMAGE_ID"],
    ["Screenshot tools: a ShareX uploader and a Flameshot script", "chitram sharex -o chitram.sxcu --flameshot chitram-upload.sh"],
  ];
}

function renderExamples() {
  const status = $("#copy-status");
  for (const [title, command] of examples(apiBase)) {
    const code = el("pre", { class: "mono" }, command);
    $("#examples").append(
      el("div", {}, el("p", {}, title, " ", copyButton(title, () => command, status)), code),
    );
  }
}

async function renderReference() {
  const status = $("#docs-status");
  try {
    const response = await fetch(openapiUrl, { credentials: "omit" });
    if (!response.ok) throw new Error(`The API answered ${response.status} for its OpenAPI document.`);
    const spec = await response.json();
    spec.servers = [{ url: apiBase, description: "This deployment" }];
    const ui = window.SwaggerUIBundle({
      spec,
      domNode: $("#swagger"),
      deepLinking: false,
      tryItOutEnabled: false,
      requestSnippetsEnabled: true,
      validatorUrl: null,
      defaultModelsExpandDepth: 0,
    });
    const token = getToken();
    if (token) {
      ui.authActions.authorize({
        bearer: { name: "bearer", schema: { type: "http", scheme: "bearer" }, value: token },
      });
    }
    document.body.dataset.docsReady = "true";
  } catch (error) {
    setStatus(status, errorText(error), "error");
  }
}

renderExamples();
renderReference();
