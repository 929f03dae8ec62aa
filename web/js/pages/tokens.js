/**
 * "API tokens": create a personal API token (its secret shown once), list them with their last use, revoke.
 * Needs a signed-in session: the API refuses token management to tokens themselves.
 */

import { ApiError, createApiToken, listApiTokens, revokeApiToken } from "../api.js";
import { isSignedIn, onAuthChange } from "../auth.js";
import { initNav } from "../nav.js";
import { $, clear, copyField, el, errorText, formatDate, FormProblem, onSubmit, setStatus } from "../ui.js";

initNav("tokens");

const status = $("#tokens-status");
const section = $("#tokens-section");
const signedOut = $("#signed-out");
const list = $("#token-list");
const form = $("#token-form");
const newToken = $("#new-token");

function describeWhen(iso, never) {
  return iso ? formatDate(iso) : never;
}

function tokenRow(token) {
  const rowStatus = el("p", { class: "manage-meta", role: "status" });
  const expiry = token.expired ? "expired" : `expires ${describeWhen(token.expires_at, "never")}`;
  return el(
    "li",
    { class: "manage-item", dataset: { tokenId: token.id } },
    el(
      "div",
      { class: "manage-main" },
      el("p", { class: "manage-name" }, token.name),
      el(
        "p",
        { class: "manage-meta" },
        `scope ${token.scope} · created ${describeWhen(token.created_at, "")} · ${expiry} · last used ${describeWhen(token.last_used_at, "never")}`,
      ),
      rowStatus,
    ),
    el(
      "div",
      { class: "manage-actions" },
      el(
        "button",
        {
          type: "button",
          class: "button button-small button-danger",
          "aria-label": `Revoke ${token.name}`,
          onclick: async (event) => {
            if (!window.confirm(`Revoke the token "${token.name}"? Anything using it stops working at once.`)) return;
            event.target.disabled = true;
            try {
              await revokeApiToken(token.id);
              event.target.closest("li").remove();
              setStatus(status, `Revoked "${token.name}".`, "success");
            } catch (error) {
              event.target.disabled = false;
              setStatus(rowStatus, errorText(error), "error");
            }
          },
        },
        "Revoke",
      ),
    ),
  );
}

async function load() {
  clear(list);
  try {
    const { items } = await listApiTokens();
    for (const token of items) list.append(tokenRow(token));
    if (!items.length) list.append(el("li", { class: "empty" }, "No API tokens yet."));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) setStatus(status, errorText(error), "error");
  }
}

function render() {
  const signedIn = isSignedIn();
  section.hidden = !signedIn;
  signedOut.hidden = signedIn;
  if (signedIn) load();
}

onSubmit(form, $("#form-error"), async () => {
  const name = form.name.value.trim();
  if (!name) throw new FormProblem("Give the token a name.", form.name);
  const days = form.expiry.value.trim();
  if (days && !/^\d+$/.test(days)) throw new FormProblem("Days must be a whole number.", form.expiry);
  const created = await createApiToken({ name, scope: form.scope.value, expiresInDays: days ? Number(days) : null });
  clear($("#new-token-field")).append(copyField(`Token "${created.name}"`, created.token, $("#copy-status")));
  newToken.hidden = false;
  form.reset();
  await load();
});

onAuthChange(render);
render();
