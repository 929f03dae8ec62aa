/**
 * The upload page: the drop zone (mouse, keyboard, paste), one row per file with its own progress and status
 * line, and links to each image's share page. A single file that becomes ready opens its share page.
 */

import { isSignedIn, onAuthChange } from "../auth.js";
import { DEFAULT_VISIBILITY, VISIBILITIES } from "../facts.js";
import { initNav } from "../nav.js";
import { listPending } from "../pending-uploads.js";
import { STATES, UploadQueue } from "../upload-queue.js";
import { lastBatch as rememberedBatch } from "../uploads-store.js";
import { $, clear, copyButton, el, formatBytes, imagePageUrl, labelled, thumbnail } from "../ui.js";
import { visibilityText } from "../visibility.js";

// Old-style short links (#/i/{id}) land on the image page.
const shortLink = window.location.hash.match(/^#\/i\/([\w-]+)$/);
if (shortLink) window.location.replace(`image.html?id=${encodeURIComponent(shortLink[1])}`);

initNav("home");

const dropzone = $("#dropzone");
const input = $("#file-input");
const list = $("#upload-list");
const section = $("#uploads");
const summary = $("#uploads-summary");
const uploads = new Map(); // every item this page has shown, by key (for "Copy all links")
// "Copy all links" for a batch: one line per ready upload, confirmed on the button and in the summary line.
const copyAll = labelled(copyButton("All links", () => allLinks(), summary), "Copy all links");
copyAll.textContent = "Copy all links";
copyAll.hidden = true;
summary.after(copyAll);
const rows = new Map();
let lastBatch = [];

const visibility = $("#upload-visibility");
const queue = new UploadQueue({ concurrency: 3, onChange: render, visibility: () => visibility.value });
queue.onDismiss = (item) => {
  rows.get(item.key)?.node.remove();
  rows.delete(item.key);
  renderSummary();
};

// --- texts that fit the device: no "drag and drop" or "Ctrl+V" where there is no mouse or keyboard ---------

const touch = window.matchMedia("(pointer: coarse)").matches && !window.matchMedia("(pointer: fine)").matches;
if (touch) {
  $("#lede-how").textContent = "Choose photos from your phone or take new ones.";
  clear($("#dropzone-title")).append(el("span", { class: "link-like" }, "Tap to choose photos"));
  $("#dropzone-hint").textContent = "Several photos upload three at a time. Large ones resume if the connection drops.";
}

// --- visibility, chosen before upload (anonymous uploads may be unlisted; private needs an account) -----------

function renderVisibilityChoice() {
  const signedIn = isSignedIn();
  const previous = visibility.value || DEFAULT_VISIBILITY;
  clear(visibility).append(
    ...VISIBILITIES.map(({ name, needs_owner: needsOwner }) =>
      el("option", { value: name, disabled: needsOwner && !signedIn }, visibilityText(name)),
    ),
  );
  const allowed = VISIBILITIES.find((v) => v.name === previous && !(v.needs_owner && !signedIn));
  visibility.value = allowed ? previous : DEFAULT_VISIBILITY;
  $("#upload-visibility-hint").textContent = signedIn ? "" : "Sign in to upload private images.";
}
renderVisibilityChoice();
onAuthChange(renderVisibilityChoice);

function addFiles(files) {
  const batch = Array.from(files);
  if (batch.length === 0) return;
  section.hidden = false;
  lastBatch = batch.map((file) => queue.add(file));
}

// --- drop zone: click / keyboard / drag / paste ---------------------------------------------------

dropzone.addEventListener("click", () => input.click());
dropzone.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    input.click();
  }
});
input.addEventListener("change", () => {
  addFiles(input.files);
  input.value = ""; // choosing the same file again must fire change again
});

let dragDepth = 0;
dropzone.addEventListener("dragenter", (event) => {
  event.preventDefault();
  dragDepth += 1;
  dropzone.classList.add("is-dragover");
});
dropzone.addEventListener("dragover", (event) => {
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
});
dropzone.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) dropzone.classList.remove("is-dragover");
});
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  dropzone.classList.remove("is-dragover");
  addFiles(event.dataTransfer?.files ?? []);
});
// A file dropped beside the zone must not make the browser navigate away to it.
for (const type of ["dragover", "drop"]) {
  window.addEventListener(type, (event) => {
    if (!dropzone.contains(event.target)) event.preventDefault();
  });
}
document.addEventListener("paste", (event) => {
  const files = Array.from(event.clipboardData?.files ?? []);
  if (files.length > 0) {
    event.preventDefault();
    addFiles(files);
  }
});

// --- one row per file -------------------------------------------------------------------------------

function rowFor(item) {
  let row = rows.get(item.key);
  if (row) return row;
  const preview = URL.createObjectURL(item.file);
  const progress = el("progress", { max: "100", value: "0", "aria-label": `Upload progress of ${item.file.name}` });
  const status = el("p", { class: "upload-status", "aria-live": "polite" });
  const actions = el("div", { class: "upload-actions" });
  const node = el(
    "li",
    { class: "upload-item" },
    thumbnail(preview, `Preview of ${item.file.name}`, { className: "thumb", loading: "eager" }),
    el(
      "div",
      { class: "upload-main" },
      el("p", { class: "upload-name", title: item.file.name }, item.file.name),
      el("p", { class: "upload-meta" }, formatBytes(item.file.size)),
      progress,
      status,
    ),
    actions,
  );
  row = { node, progress, status, actions, state: null };
  rows.set(item.key, row);
  list.prepend(node);
  return row;
}

function render(item) {
  uploads.set(item.key, item);
  const row = rowFor(item);
  row.node.dataset.state = item.state;
  if (item.state === STATES.READY) renderLastBatch();
  row.status.textContent = item.message;
  const percent = item.total > 0 ? Math.round((item.loaded / item.total) * 100) : 0;
  if (item.state === STATES.PROCESSING || item.state === STATES.READY) row.progress.value = 100;
  else row.progress.value = percent;
  row.progress.hidden = item.done && item.state !== STATES.READY;
  if (row.state !== item.state) {
    row.state = item.state;
    renderActions(item, row);
  }
  renderSummary();
  if (item.state === STATES.READY && lastBatch.length === 1 && lastBatch[0] === item && !queue.busy) {
    // One file, done: go where people expect, the share page (it shows the delete token once).
    window.location.assign(`image.html?id=${encodeURIComponent(item.imageId)}`);
  }
}

function renderActions(item, row) {
  clear(row.actions);
  if (item.canDismiss) {
    row.actions.append(
      labelled(
        el("button", { type: "button", class: "button button-small button-quiet", onclick: () => queue.dismiss(item) }, "Dismiss"),
        `Dismiss ${item.file.name}`,
      ),
    );
  }
  if (item.state === STATES.READY) {
    row.actions.append(
      el("a", { class: "button button-small button-primary", href: `image.html?id=${encodeURIComponent(item.imageId)}` }, "Open share page"),
      labelled(
        copyButton("Link", () => item.image?.links?.page || imagePageUrl(item.imageId), row.status),
        `Copy the link to ${item.file.name}`,
      ),
    );
  } else if (item.canRetry) {
    row.actions.append(el("button", { type: "button", class: "button button-small", onclick: () => queue.retry(item) }, "Retry"));
  } else if (item.canCancel) {
    row.actions.append(
      el("button", { type: "button", class: "button button-small button-quiet", onclick: () => queue.cancel(item) }, "Cancel"),
    );
  }
}

function renderSummary() {
  const counts = { ready: 0, failed: 0, active: 0 };
  for (const [, row] of rows) {
    if (row.state === STATES.READY) counts.ready += 1;
    else if ([STATES.FAILED, STATES.REJECTED, STATES.CANCELLED].includes(row.state)) counts.failed += 1;
    else counts.active += 1;
  }
  const parts = [];
  if (counts.active) parts.push(`${counts.active} in progress`);
  if (counts.ready) parts.push(`${counts.ready} ready`);
  if (counts.failed) parts.push(`${counts.failed} not uploaded`);
  summary.textContent = parts.join(" · ");
  copyAll.hidden = counts.ready < 2;
}

/** Every ready upload's direct link (its page link if it has none, e.g. a private image), one per line. */
function allLinks() {
  return [...uploads.values()]
    .filter((item) => item.state === STATES.READY && item.imageId)
    .map((item) => item.image?.links?.direct || item.image?.links?.page || imagePageUrl(item.imageId))
    .join("\n");
}

// --- after a reload: resume unfinished large uploads, and show the last batch's links and delete tokens -------

listPending().then((pending) => {
  if (pending.length === 0) return;
  section.hidden = false;
  for (const entry of pending) {
    const file = entry.file instanceof File ? entry.file : new File([entry.file], entry.filename, { type: entry.contentType });
    queue.add(file, { pending: entry });
  }
});

function renderLastBatch() {
  const entries = rememberedBatch();
  const node = $("#last-batch");
  node.hidden = entries.length === 0;
  const listNode = clear($("#last-batch-list"));
  for (const entry of entries) {
    listNode.append(
      el(
        "li",
        {},
        el("a", { href: `image.html?id=${encodeURIComponent(entry.id)}` }, entry.filename),
        el("span", { class: "batch-link" }, imagePageUrl(entry.id)),
        entry.deleteToken ? el("span", { class: "batch-token" }, `delete token: ${entry.deleteToken}`) : "",
      ),
    );
  }
}

function batchText() {
  return rememberedBatch()
    .map((entry) => [entry.filename, imagePageUrl(entry.id), entry.deleteToken ? `delete token: ${entry.deleteToken}` : ""]
      .filter(Boolean)
      .join("\t"))
    .join("\n");
}

$("#copy-batch").addEventListener("click", async () => {
  const status = $("#last-batch-status");
  const text = batchText();
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Links and delete tokens copied.";
  } catch {
    status.textContent = "Copying was refused; select the list and copy it.";
  }
  document.body.dataset.copied = text;
});
renderLastBatch();
window.addEventListener("storage", renderLastBatch);
