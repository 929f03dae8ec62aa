/**
 * "My images": the signed-in user's images (visibility switch, delete without a token) and the anonymous
 * uploads this browser remembers (delete with the stored token, or forget them).
 */

import { ApiError, deleteImage, myImages, previewUrl, thumbnailUrl } from "../api.js";
import { isSignedIn, onAuthChange } from "../auth.js";
import { withPlaceholder } from "../blurhash.js";
import { thumbnailSizeFor } from "../facts.js";
import { initNav } from "../nav.js";
import { picture } from "../picture.js";
import { forgetUpload, listUploads } from "../uploads-store.js";
import { visibilitySelect } from "../visibility.js";
import { $, clear, el, errorText, formatBytes, formatDate, formatDimensions, setStatus, thumbnail } from "../ui.js";

initNav("mine");

const ROW_THUMB_PX = 150; // a row's thumbnail, in CSS pixels
const ROW_THUMB_SIZE = thumbnailSizeFor(ROW_THUMB_PX);

const status = $("#mine-status");
const owned = $("#owned");
const ownedMore = $("#owned-more");
const accountSection = $("#account-images");
const signedOut = $("#signed-out");
const recent = $("#recent");

let cursor = null;
let loading = false;

async function loadOwned({ reset = false } = {}) {
  if (loading) return;
  loading = true;
  ownedMore.disabled = true;
  if (reset) {
    cursor = null;
    clear(owned);
  }
  try {
    const page = await myImages({ cursor });
    for (const image of page.items || []) owned.append(ownedRow(image));
    cursor = page.next_cursor || null;
    if (owned.children.length === 0) {
      owned.append(el("li", { class: "empty" }, "No images in your account yet. ", el("a", { href: "./" }, "Upload one"), "."));
    }
  } catch (error) {
    // A 401 has already signed the user out and the header says why; anything else is shown here.
    if (!(error instanceof ApiError && error.status === 401)) setStatus(status, errorText(error), "error");
  } finally {
    loading = false;
    ownedMore.disabled = false;
    ownedMore.hidden = !cursor;
  }
}

function ownedRow(image) {
  const name = image.filename || "Untitled";
  const rowStatus = el("p", { class: "upload-meta", role: "status" });
  const visibility = visibilitySelect(image, { status: rowStatus, label: `Visibility of ${name}` });
  return el(
    "li",
    { class: "manage-item", dataset: { imageId: image.id } },
    // The owner's presigned thumbnail shows private images too; pending ones fall back to a placeholder.
    rowPicture(image, rowThumbnail(previewUrl(image, ROW_THUMB_SIZE), name, image)),
    el(
      "div",
      { class: "manage-main" },
      el("p", { class: "manage-name" }, el("a", { href: `image.html?id=${encodeURIComponent(image.id)}` }, name)),
      el(
        "p",
        { class: "manage-meta" },
        [formatDimensions(image.width, image.height), formatBytes(image.file_size), formatDate(image.created_at)]
          .filter(Boolean)
          .join(" · "),
      ),
      rowStatus,
    ),
    el("div", { class: "manage-actions" }, visibility.label, visibility.select, deleteButton(image.id, name, null, rowStatus)),
  );
}

/**
 * A row's thumbnail, for both lists: `image` is the API's image or this browser's stored entry, whose BlurHash
 * shows until the thumbnail arrives (older images and older entries have none: the row's placeholder colour shows).
 */
function rowThumbnail(src, name, image) {
  const img = thumbnail(src, name, { className: "thumb", width: ROW_THUMB_PX, height: ROW_THUMB_PX });
  return withPlaceholder(img, image);
}

/** A row's thumbnail with its AVIF/WebP sources where the image is public or unlisted (a 4.5rem box). */
function rowPicture(image, img) {
  return picture(image, img, "72px");
}

/** A two-step delete (no blocking confirm() dialog): "Delete" then "Confirm delete". */
function deleteButton(id, name, token, rowStatus) {
  const button = el("button", { type: "button", class: "button button-small button-danger", "aria-label": `Delete ${name}` }, "Delete");
  let armed = false;
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = "Confirm delete";
      button.setAttribute("aria-label", `Confirm: delete ${name} permanently`);
      return;
    }
    button.disabled = true;
    try {
      await deleteImage(id, token);
      forgetUpload(id);
      button.closest("li")?.remove();
      setStatus(status, `Deleted “${name}”.`, "success");
    } catch (error) {
      if (error instanceof ApiError && error.isNotFound) {
        forgetUpload(id);
        button.closest("li")?.remove();
        setStatus(status, `“${name}” was already gone.`, "info");
        return;
      }
      button.disabled = false;
      (rowStatus || status).textContent = errorText(error);
    }
  });
  return button;
}

function renderRecent() {
  clear(recent);
  const entries = listUploads().filter((entry) => entry.deleteToken);
  if (entries.length === 0) {
    recent.append(el("li", { class: "empty" }, "No anonymous uploads from this browser."));
    return;
  }
  for (const entry of entries) {
    const name = entry.filename || "Untitled";
    const rowStatus = el("p", { class: "upload-meta", role: "status" });
    recent.append(
      el(
        "li",
        { class: "manage-item", dataset: { imageId: entry.id } },
        rowThumbnail(thumbnailUrl(entry.id, ROW_THUMB_SIZE), name, entry),
        el(
          "div",
          { class: "manage-main" },
          el("p", { class: "manage-name" }, el("a", { href: `image.html?id=${encodeURIComponent(entry.id)}` }, name)),
          el("p", { class: "manage-meta" }, `Uploaded ${formatDate(entry.uploadedAt)}`),
          rowStatus,
        ),
        el(
          "div",
          { class: "manage-actions" },
          el(
            "button",
            {
              type: "button",
              class: "button button-small button-quiet",
              "aria-label": `Forget ${name} (keeps the image online)`,
              onclick: (event) => {
                forgetUpload(entry.id);
                event.target.closest("li")?.remove();
                setStatus(status, `Forgot “${name}”. The image itself is still online.`, "info");
              },
            },
            "Forget",
          ),
          deleteButton(entry.id, name, entry.deleteToken, rowStatus),
        ),
      ),
    );
  }
}

function render() {
  const signedIn = isSignedIn();
  accountSection.hidden = !signedIn;
  signedOut.hidden = signedIn;
  if (signedIn) loadOwned({ reset: true });
  else clear(owned);
  renderRecent();
}

ownedMore.addEventListener("click", () => loadOwned());
onAuthChange(() => render());
render();
