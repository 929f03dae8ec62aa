/**
 * "Screenshot tools": makes an upload-scoped API token and, with it, a ShareX custom uploader (.sxcu) and a
 * Flameshot/curl script for this deployment (the documents come from ../sharex.js, the same as the CLI's).
 */

import { API_BASE, createApiToken } from "../api.js";
import { isSignedIn, onAuthChange } from "../auth.js";
import { initNav } from "../nav.js";
import { flameshotScript, sxcuText } from "../sharex.js";
import { $, FormProblem, onSubmit } from "../ui.js";

initNav("tools");

const form = $("#tools-form");
const downloads = $("#downloads");
let objectUrls = [];

/** The API and the site as absolute URLs (the API may be served from this origin, API_BASE then empty). */
export function deploymentUrls() {
  const api = new URL(API_BASE || "/", window.location.href).href.replace(/\/+$/, "");
  const site = new URL(".", document.baseURI).href.replace(/\/+$/, "");
  return { api, site };
}

function offer(link, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  objectUrls.push(url);
  link.href = url;
}

function render() {
  $("#tools-section").hidden = !isSignedIn();
  $("#signed-out").hidden = isSignedIn();
}

onSubmit(form, $("#form-error"), async () => {
  const name = form.name.value.trim();
  if (!name) throw new FormProblem("Give the token a name.", form.name);
  const visibility = form.visibility.value || null;
  const created = await createApiToken({ name, scope: "upload" });
  const { api, site } = deploymentUrls();
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
  const sxcu = sxcuText(api, site, created.token, visibility);
  offer($("#sxcu-link"), sxcu, "application/json");
  offer($("#script-link"), flameshotScript(api, site, created.token, visibility), "text/x-shellscript");
  $("#sxcu-preview").textContent = sxcu;
  downloads.hidden = false;
});

onAuthChange(render);
render();
