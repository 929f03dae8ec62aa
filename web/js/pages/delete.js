/**
 * The deletion confirmation page (delete.html?id=…, optionally #token=… for an anonymous upload): the deletion
 * URL that screenshot tools record. Loading it never deletes; the image goes only when the user confirms.
 *
 * Who may delete: the signed-in owner, or anyone holding the delete token (from the fragment, which never
 * reaches a server, from this browser's remembered uploads, or typed in).
 */

import { ApiError, deleteImage, getImage, previewUrl } from "../api.js";
import { isSignedIn } from "../auth.js";
import { initNav } from "../nav.js";
import { findUpload, forgetUpload } from "../uploads-store.js";
import { $, clear, el, errorText, FormProblem, onSubmit, setStatus, thumbnail } from "../ui.js";

initNav("delete");

const id = new URLSearchParams(window.location.search).get("id") || "";
const fragmentToken = new URLSearchParams(window.location.hash.slice(1)).get("token");
if (fragmentToken) history.replaceState(null, "", window.location.pathname + window.location.search);

const status = $("#delete-status");
const form = $("#delete-form");

async function start() {
  if (!/^[\w-]{1,64}$/.test(id)) {
    setStatus(status, "This link names no image.", "error");
    return;
  }
  let image;
  try {
    image = await getImage(id);
  } catch (error) {
    const gone = error instanceof ApiError && error.isNotFound;
    setStatus(status, gone ? "This image does not exist (it may have been deleted already)." : errorText(error), "error");
    return;
  }
  const name = image.filename || "Untitled";
  clear($("#subject")).append(
    el(
      "figure",
      { class: "stack-tight" },
      thumbnail(previewUrl(image, 300), name, { width: 300, height: 300 }),
      el("figcaption", {}, el("a", { href: `image.html?id=${encodeURIComponent(image.id)}` }, name)),
    ),
  );
  const remembered = findUpload(image.id)?.deleteToken || fragmentToken || "";
  if (image.is_owner) {
    setStatus(status, "You own this image.", "info");
  } else if (!remembered) {
    const signIn = `signin.html?next=${encodeURIComponent(`delete.html?id=${image.id}`)}`;
    status.hidden = false;
    status.dataset.kind = "info";
    clear(status).append(
      isSignedIn() ? "You are signed in, but not as this image's owner. " : "",
      el("a", { href: signIn }, "Sign in as its owner"),
      ", or enter the image's delete token.",
    );
    $("#token-field").hidden = false;
  }
  $("#delete-token").value = remembered;
  form.hidden = false;

  onSubmit(form, $("#form-error"), async () => {
    const token = image.is_owner ? null : form.token.value.trim();
    if (!image.is_owner && !token) throw new FormProblem("Enter the delete token.", form.token);
    await deleteImage(image.id, token);
    forgetUpload(image.id);
    form.hidden = true;
    clear($("#subject"));
    setStatus(status, `Deleted "${name}".`, "success");
  });
}

start();
