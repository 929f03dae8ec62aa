/**
 * The image page (image.html?id=…), which is also the share page after an upload: preview, facts, copyable
 * links and embed snippets, the delete token shown once (for this browser's anonymous uploads), and delete.
 * Its owner (the API says `is_owner`) also gets the visibility switch, delete without a token, and the preview
 * of a private image through the presigned `owner_links`, wherever the upload was made.
 * Handles the not-found, pending (polls until processed) and rejected states.
 */

import { ApiError, deleteImage, fileUrl, getImage, previewUrl, thumbnailUrl } from "../api.js";
import { THUMBNAIL_SIZES } from "../facts.js";
import { isSignedIn } from "../auth.js";
import { initNav, showNotice } from "../nav.js";
import { picture, renditionWidth } from "../picture.js";
import { findUpload, forgetUpload, markTokenShown } from "../uploads-store.js";
import { visibilitySelect, visibilityText } from "../visibility.js";
import { withPlaceholder } from "../blurhash.js";
import { similarSection } from "../similar.js";
import {
  $,
  clear,
  copyField,
  el,
  errorText,
  formatBytes,
  formatDate,
  formatDimensions,
  imagePageUrl,
  markLoaded,
  rejectReasonText,
  setStatus,
  sleep,
} from "../ui.js";

initNav("");

const view = $("#view");
// image.html?id=… or a share page /{short_id}, which the API renders with data-image-id for this script.
const id = new URLSearchParams(window.location.search).get("id") || view.dataset.imageId || "";

function setTitle(text) {
  document.title = `${text} — Chitram`;
}

function stateCard(title, message, ...extra) {
  clear(view).append(
    el("section", { class: "state-card full" }, el("h1", {}, title), el("p", {}, message), ...extra),
  );
  setTitle(title);
}

function showNotFound() {
  stateCard(
    "Image not found",
    "There is no image at this address. It may have been deleted, made private by its owner, or the link is incomplete.",
    el("a", { class: "button button-primary", href: "./" }, "Upload an image"),
  );
}

function showPending() {
  clear(view).append(
    el(
      "section",
      { class: "state-card full", "aria-busy": "true" },
      el("div", { class: "spinner", role: "presentation" }),
      el("h1", {}, "Processing…"),
      el("p", {}, "The image is being checked and its thumbnails made. This page updates by itself."),
    ),
  );
  setTitle("Processing");
}

function showRejected(image) {
  forgetUpload(image.id);
  stateCard(
    "Image rejected",
    `“${image.filename}” was not accepted. ${rejectReasonText(image.reject_reason)}`,
    el("a", { class: "button button-primary", href: "./" }, "Upload another file"),
  );
}

function showError(error) {
  stateCard("Something went wrong", errorText(error), el("a", { class: "button", href: window.location.href }, "Try again"));
}

/**
 * The image the share page carries in its JSON data block (chalicelib/api/share.py): the public metadata the API
 * would answer an anonymous visitor, so that visitor's view asks the API nothing. A signed-in visitor may be the
 * owner (visibility switch, delete, a private image's links): the API answers them. Null when there is none.
 */
function embeddedImage() {
  const block = document.getElementById("image-data");
  if (!block || isSignedIn()) return null;
  try {
    const image = JSON.parse(block.textContent || "");
    return image && image.status === "ready" && (image.short_id === id || image.id === id) ? image : null;
  } catch {
    return null;
  }
}

async function load() {
  if (!/^[\w-]{1,100}$/.test(id)) {
    showNotFound();
    return;
  }
  const embedded = embeddedImage();
  if (embedded) {
    showReady(embedded);
    return;
  }
  let delay = 500;
  for (;;) {
    let image;
    try {
      image = await getImage(id);
    } catch (error) {
      if (error instanceof ApiError && error.isNotFound) showNotFound();
      else showError(error);
      return;
    }
    if (image.status === "ready") {
      showReady(image);
      return;
    }
    if (image.status === "rejected") {
      showRejected(image);
      return;
    }
    showPending();
    await sleep(delay);
    delay = Math.min(3000, Math.round(delay * 1.5));
  }
}

// When the owner's presigned links (owner_links) stop working; see fullSizeLink().
let ownerLinksExpireAt = 0;

function showReady(image) {
  setTitle(image.filename || "Image");
  const alt = image.filename || "Uploaded image";
  const copyStatus = el("p", { class: "visually-hidden", role: "status" });
  ownerLinksExpireAt = Date.now() + 1000 * (Number(image.owner_links?.expires_in) || 0);

  const preview = markLoaded(
    el("img", {
      id: "preview",
      src: previewSrc(image),
      alt,
      // Known dimensions up front avoid layout shift; the largest thumbnail keeps the aspect ratio.
      width: image.width || null,
      height: image.height || null,
    }),
  );
  withPlaceholder(preview, image, { sized: true });
  preview.addEventListener(
    "error",
    () => {
      preview.replaceWith(
        el("div", { class: "thumb-missing preview-missing", role: "img", "aria-label": alt }, "The preview could not be loaded."),
      );
    },
    { once: true },
  );
  const figure = el(
    "figure",
    { class: "preview" },
    fullSizeLink(image, { title: "Open the full-size file" }, previewPicture(image, preview)),
    el("figcaption", {}, fullSizeLink(image, {}, "View full size")),
  );

  const facts = el(
    "dl",
    { class: "facts" },
    fact("Dimensions", formatDimensions(image.width, image.height), "dimensions"),
    fact("Size", formatBytes(image.file_size), "size"),
    fact("Type", image.content_type, "type"),
    fact("Uploaded", formatDate(image.created_at), "uploaded"),
    fact("Visibility", visibilityText(image.visibility), "visibility"),
  );

  const panel = el("div", { class: "panel" }, el("h1", {}, image.filename || "Image"), facts);
  const local = findUpload(image.id);
  if (local?.deleteToken && !local.tokenShown) {
    panel.append(tokenBox(local.deleteToken, copyStatus));
    markTokenShown(image.id);
  }
  if (image.duplicate_of) {
    // The API names an earlier upload with the very same bytes, and only to its owner.
    panel.append(
      el(
        "p",
        { class: "notice", dataset: { duplicateOf: image.duplicate_of } },
        "You uploaded this exact image before: ",
        el("a", { href: imagePageUrl(image.duplicate_of) }, "see the earlier copy"),
        ".",
      ),
    );
  }
  let share = shareSection(image, copyStatus);
  if (image.is_owner) {
    // Before Share: the switch is what makes a private image shareable.
    panel.append(
      visibilitySection(image, (visibility) => {
        image.visibility = visibility;
        $('[data-fact="visibility"]', facts).textContent = visibilityText(visibility);
        const replacement = shareSection(image, copyStatus);
        share.replaceWith(replacement);
        share = replacement;
        for (const link of figure.querySelectorAll("a[data-full-size]")) link.href = fullSizeHref(image);
      }),
    );
  }
  panel.append(share, copyStatus);
  if (image.has_display && image.owner_links?.file) {
    // The page shows a browser-friendly copy; the owner can still have the original (location removed).
    panel.append(
      el("p", {}, el("a", { class: "button", href: image.owner_links.file, download: image.filename }, "Download the original")),
    );
  }
  if (image.is_owner) panel.append(similarSection(image)); // the owner's own near-duplicates (nobody else's)
  const deleteSection = deleteControls(image, local);
  if (deleteSection) panel.append(deleteSection);

  clear(view).append(figure, panel);
}

/** The largest thumbnail: its stable CDN link when it has one (a view never reaches the API), else the owner's
 * presigned link or the API's route. */
function previewSrc(image) {
  const largest = String(Math.max(...THUMBNAIL_SIZES));
  return image.links?.thumbnails?.[largest] || previewUrl(image, Number(largest));
}

/** The preview's <picture>: AVIF/WebP sources at every width. The preview is shown at the largest thumbnail's
 * own width (its CSS width is auto, so `sizes` *is* its width), or the viewport's where that is narrower. */
function previewPicture(image, img) {
  const shown = renditionWidth(image, Math.max(...THUMBNAIL_SIZES)) || Math.max(...THUMBNAIL_SIZES);
  return picture(image, img, `(max-width: ${shown}px) 100vw, ${shown}px`);
}

/** The public route for public and unlisted images; for a private one only its owner's presigned link works. */
function fullSizeHref(image) {
  // A format browsers cannot show (HEIC) has a display rendition: that is what the page links to.
  const owned = image.owner_links?.display || image.owner_links?.file;
  const shared = image.links?.display || image.links?.direct || fileUrl(image.id);
  return image.visibility === "private" ? owned || null : shared;
}

function fullSizeLink(image, attributes, ...children) {
  const link = el("a", { ...attributes, href: fullSizeHref(image), dataset: { fullSize: "" } }, ...children);
  link.addEventListener("click", async (event) => {
    // The presigned link has expired while the page stayed open: ask the API for a fresh one first.
    if (image.visibility !== "private" || Date.now() < ownerLinksExpireAt - 5000) return;
    event.preventDefault();
    try {
      const fresh = await getImage(image.id);
      if (!fresh.owner_links?.file) return;
      image.owner_links = fresh.owner_links;
      ownerLinksExpireAt = Date.now() + 1000 * (Number(fresh.owner_links.expires_in) || 0);
      window.location.assign(fresh.owner_links.display || fresh.owner_links.file);
    } catch (error) {
      showNotice(errorText(error), "error");
    }
  });
  return link;
}

function shareSection(image, copyStatus) {
  const section = el("section", { class: "stack-tight", "aria-labelledby": "share-title" }, el("h2", { id: "share-title" }, "Share"));
  if (image.visibility === "private") {
    section.append(
      el(
        "p",
        { class: "status", dataset: { kind: "warning" } },
        "This image is private: only you can see it, and its links work for nobody else. Make it unlisted or " +
          "public to share it.",
      ),
    );
    return section;
  }
  const alt = image.filename || "Uploaded image";
  const links = image.links || {};
  // Stable CDN links (they never expire); images without them fall back to the API's routes.
  const page = links.page || imagePageUrl(image.id);
  const direct = links.direct || fileUrl(image.id);
  const embed = embedRendition(image);
  section.append(
    copyField("Direct link", direct, copyStatus),
    copyField("Page link", page, copyStatus),
    copyField("Markdown", `[![${markdownText(alt)}](${embed.src})](${page})`, copyStatus),
    copyField("HTML", htmlEmbed(embed, alt, page), copyStatus),
    copyField("BBCode", `[url=${page}][img]${embed.src}[/img][/url]`, copyStatus),
  );
  return section;
}

/** What a snippet embeds: the 600 px rendition at its real size (never the original's pixel size). */
function embedRendition(image) {
  const longest = 600;
  const src = image.links?.thumbnails?.[String(longest)] || thumbnailUrl(image.id, longest);
  const side = Math.max(image.width || 0, image.height || 0);
  const scale = side > longest ? longest / side : 1;
  return {
    src,
    width: image.width ? Math.max(1, Math.round(image.width * scale)) : null,
    height: image.height ? Math.max(1, Math.round(image.height * scale)) : null,
  };
}

/** The owner's switch: who may see the image. */
function visibilitySection(image, onSaved) {
  const status = el("p", { class: "hint", role: "status" });
  const { label, select } = visibilitySelect(image, { status, label: "Who can see it", onSaved });
  return el(
    "section",
    { class: "stack-tight", "aria-labelledby": "visibility-title" },
    el("h2", { id: "visibility-title" }, "Visibility"),
    el("div", { class: "field" }, label, select, status),
  );
}

function fact(label, value, key) {
  return [el("dt", {}, label), el("dd", { dataset: { fact: key } }, value)];
}

function markdownText(text) {
  return text.replace(/[[\]\\]/g, "\\$&");
}

function htmlEmbed(embed, alt, page) {
  const escape = (text) =>
    String(text).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
  const size = embed.width && embed.height ? ` width="${embed.width}" height="${embed.height}"` : "";
  return `<a href="${escape(page)}"><img src="${escape(embed.src)}" alt="${escape(alt)}"${size}></a>`;
}

function tokenBox(token, status) {
  return el(
    "section",
    { class: "token-box", "aria-labelledby": "token-title", id: "delete-token" },
    el("h2", { id: "token-title" }, "Save your delete token"),
    el(
      "p",
      {},
      "This is the only time it is shown. Anyone with it can delete this image; without it (and without an " +
        "account) nobody can. This browser remembers it for you under My images.",
    ),
    copyField("Delete token", token, status),
  );
}

/** Delete is offered to the owner (the bearer token is enough) and where this browser holds the delete token. */
function deleteControls(image, local) {
  const token = image.is_owner ? null : local?.deleteToken;
  if (!image.is_owner && !token) return null;

  const status = el("p", { class: "status", role: "status", hidden: true });
  const section = el("section", { class: "stack-tight", "aria-labelledby": "delete-title" }, el("h2", { id: "delete-title" }, "Delete"));
  const start = el("button", { type: "button", class: "button button-danger" }, "Delete image…");
  const confirm = el(
    "div",
    { class: "confirm", hidden: true },
    el("p", {}, "Delete this image for everyone? This cannot be undone."),
    el("button", { type: "button", class: "button button-danger-solid", id: "confirm-delete" }, "Delete permanently"),
    el("button", { type: "button", class: "button", id: "cancel-delete" }, "Cancel"),
  );
  start.addEventListener("click", () => {
    start.hidden = true;
    confirm.hidden = false;
    confirm.querySelector("#cancel-delete").focus();
  });
  confirm.querySelector("#cancel-delete").addEventListener("click", () => {
    confirm.hidden = true;
    start.hidden = false;
    start.focus();
  });
  confirm.querySelector("#confirm-delete").addEventListener("click", async (event) => {
    event.target.disabled = true;
    try {
      await deleteImage(image.id, token);
      forgetUpload(image.id);
      stateCard("Image deleted", `“${image.filename}” and its thumbnails are gone.`, el("a", { class: "button button-primary", href: "./" }, "Upload another image"));
      $("h1", view).setAttribute("tabindex", "-1");
      $("h1", view).focus();
    } catch (error) {
      event.target.disabled = false;
      setStatus(status, errorText(error), "error");
    }
  });
  section.append(start, confirm, status);
  return section;
}

load();
