/**
 * Small DOM and formatting helpers shared by the pages.
 *
 * Everything that shows API data goes through el()/text nodes: filenames and messages are user input, so no
 * HTML is ever built from strings (no innerHTML), which also keeps a strict CSP workable.
 */

import { formatList } from "./facts.js";

/** Create an element: el("a", {href: "...", class: "x"}, "text", childNode, ...). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) {
      // Handlers are functions only: an inline handler string would be blocked by the CSP anyway.
      if (typeof value !== "function") throw new TypeError(`${name} must be a function`);
      node.addEventListener(name.slice(2), value);
    }
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

const UNITS = ["bytes", "KB", "MB", "GB"];

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "unknown size";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function formatDimensions(width, height) {
  return Number.isFinite(width) && Number.isFinite(height) ? `${width} × ${height} px` : "unknown";
}

/** Words for the processor's reject reasons (details.reason / reject_reason). */
const REJECT_REASONS = {
  EMPTY_FILE: "The file is empty.",
  TOO_LARGE: "The file is larger than this site accepts.",
  NOT_AN_IMAGE: "This file is not an image: its contents are not a picture, whatever its name says.",
  UNSUPPORTED_FORMAT: `This image format is not supported. Use ${formatList()}.`,
  TRUNCATED: "The image file is incomplete (it was cut off).",
  CORRUPT: "The image file is damaged and cannot be read.",
  TOO_MANY_PIXELS: "The image has too many pixels to process.",
  TOO_COMPLEX: "The image is built in a way that would take too long to process (too many scans, frames or parts).",
};

export function rejectReasonText(reason) {
  return REJECT_REASONS[reason] || "The file was not accepted as an image.";
}

/** "42 s" / "5 min" for a Retry-After in seconds. */
export function formatWait(seconds) {
  return seconds < 90 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`;
}

/** The text to show for any error: the server's own message, plus when to retry if the server said so. */
export function errorText(error) {
  const message = error?.message || "Something went wrong.";
  const wait = error?.retryAfter;
  if (error?.status === 429) {
    return wait ? `Slow down: ${message} Retry in ${formatWait(wait)}.` : `Slow down: ${message}`;
  }
  // e.g. ACCOUNT_LOCKED or a 503 that names its own back-off.
  return wait ? `${message} Try again in ${formatWait(wait)}.` : message;
}

/** A button that copies `getText()` to the clipboard and says so in a live region. */
export function copyButton(label, getText, status) {
  return el(
    "button",
    {
      type: "button",
      class: "button button-small",
      onclick: async (event) => {
        const button = event.currentTarget; // gone once the handler awaits
        const text = getText();
        try {
          await navigator.clipboard.writeText(text);
          status.textContent = `${label} copied.`;
          confirmCopied(button);
        } catch {
          // Clipboard access can be refused (permissions, insecure origins): select the text instead.
          status.textContent = "Press Ctrl+C (⌘C) to copy the selected text.";
        }
      },
    },
    "Copy",
  );
}

/** The button itself says it worked for a moment (the status line is for screen readers). */
function confirmCopied(button) {
  if (!button) return;
  if (!button.dataset.copied) button.dataset.label = button.textContent;
  button.textContent = "Copied ✓";
  button.dataset.copied = "true";
  clearTimeout(button.copiedTimer);
  button.copiedTimer = setTimeout(() => {
    button.textContent = button.dataset.label || "Copy";
    delete button.dataset.copied;
  }, 2000);
}

export function labelled(button, label) {
  button.setAttribute("aria-label", label);
  return button;
}

/** A labelled read-only field with a copy button, for share links and embed snippets. */
export function copyField(label, value, status) {
  const id = `copy-${Math.random().toString(36).slice(2, 9)}`;
  const input = el("input", {
    id,
    type: "text",
    readonly: true,
    class: "copy-input",
    spellcheck: "false",
    onfocus: (event) => event.target.select(),
  });
  input.value = value;
  const button = copyButton(label, () => input.value, status);
  button.setAttribute("aria-label", `Copy ${label}`);
  button.addEventListener("click", () => input.select());
  return el(
    "div",
    { class: "copy-field" },
    el("label", { for: id }, label),
    el("div", { class: "copy-row" }, input, button),
  );
}

/** Show a message in a status element; `kind` is "info", "error" or "success". */
export function setStatus(node, text, kind = "info") {
  node.textContent = text || "";
  node.dataset.kind = kind;
  node.hidden = !text;
}

/** Sets data-loaded on an <img> once it has decoded (a hook for CSS and for the browser tests). */
export function markLoaded(image) {
  image.addEventListener("load", () => {
    image.dataset.loaded = "true";
  });
  return image;
}

/** Fall back to a placeholder if an image cannot be loaded (private images have no public thumbnail). */
export function thumbnail(src, alt, { width, height, className = "thumb", loading = "lazy" } = {}) {
  const image = el("img", { src, alt, loading, decoding: "async", class: className, width, height });
  markLoaded(image);
  image.addEventListener(
    "error",
    () => {
      const placeholder = el("div", { class: `${className} thumb-missing`, role: "img", "aria-label": alt }, "No preview");
      image.replaceWith(placeholder);
    },
    { once: true },
  );
  return image;
}

export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("Aborted", "AbortError"));
    });
  });
}

/** The page link for an image, relative to where the site is served. */
export function imagePageUrl(id) {
  return new URL(`image.html?id=${encodeURIComponent(id)}`, document.baseURI).href;
}

/** A problem the page found in a form before asking the server: shown like the server's own errors. */
export class FormProblem extends Error {
  constructor(message, field = null) {
    super(message);
    this.name = "FormProblem";
    this.field = field;
  }
}

/**
 * Handle a form's submit: `action()` runs with the submit button disabled and `errorNode` cleared. If it throws,
 * a FormProblem's message is shown and its field focused; anything else (an ApiError) shows errorText() and then
 * `onError(error)` runs, with the button enabled again.
 */
export function onSubmit(form, errorNode, action, { onError } = {}) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    setStatus(errorNode, "");
    let failure = null;
    try {
      await action();
    } catch (error) {
      failure = error;
    }
    button.disabled = false;
    if (!failure) return;
    if (failure instanceof FormProblem) {
      setStatus(errorNode, failure.message, "error");
      failure.field?.focus();
      return;
    }
    setStatus(errorNode, errorText(failure), "error");
    onError?.(failure);
  });
}
