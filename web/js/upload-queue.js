/**
 * The upload queue: takes File objects and runs each through the presigned-POST flow:
 *
 *   1. courtesy pre-checks (type, size, from /config.js) — the server still decides;
 *   2. POST /api/v1/images/upload-url for a form bound to this file;
 *   3. a multipart POST of the form's fields + the file straight to the bucket (XMLHttpRequest, for progress);
 *   4. poll GET /api/v1/images/{id} until the processor says `ready` or `rejected`.
 *
 * Files above MULTIPART_THRESHOLD_BYTES (from /config.js) take steps 2–3 as a multipart upload instead
 * (large-upload.js: parts in parallel, each retried, resumable after a reload). Either way the browser computes
 * the SHA-256 (WebCrypto) and the store refuses bytes that do not match it.
 *
 * At most `concurrency` files are in steps 2–3 at once, so a bulk drop does not flood the API or the bucket.
 * A 429 pauses the whole queue for Retry-After seconds (the limit is per client, so every other file would get
 * the same answer) and the file is retried automatically a few times before it is marked failed.
 */

import { ApiError, errorFromResponse, getImage, requestUpload } from "./api.js";
import { getUser } from "./auth.js";
import { FORMATS, MAX_UPLOAD_BYTES, MULTIPART_THRESHOLD_BYTES, UPLOADABLE_TYPES, formatList } from "./facts.js";
import { abandon, sha256Hex, uploadInParts } from "./large-upload.js";
import { forgetUpload, rememberReady, rememberUpload } from "./uploads-store.js";
import { errorText, formatBytes, rejectReasonText, sleep } from "./ui.js";

const MAX_AUTO_RETRIES = 3;
const POLL_FIRST_MS = 400;
const POLL_MAX_MS = 3000;
const POLL_GIVE_UP_MS = 120_000;

/** States an item goes through; the UI shows `message` and, while uploading, `loaded`/`total`. */
export const STATES = Object.freeze({
  QUEUED: "queued",
  WAITING: "waiting", // rate limited; retried automatically at `retryAt`
  REQUESTING: "requesting",
  UPLOADING: "uploading",
  PROCESSING: "processing",
  READY: "ready",
  REJECTED: "rejected",
  FAILED: "failed",
  CANCELLED: "cancelled",
});

const FINAL = new Set([STATES.READY, STATES.REJECTED, STATES.FAILED, STATES.CANCELLED]);

let nextKey = 1;

/**
 * The Content-Type to claim: the browser's, or (desktop browsers report "" for HEIC) the one the catalog gives
 * the file's extension. The processor decides by content either way.
 */
export function claimedType(file) {
  if (UPLOADABLE_TYPES.includes(file.type)) return file.type;
  const extension = (file.name.split(".").pop() || "").toLowerCase();
  const format = FORMATS.find((candidate) => candidate.extensions.includes(extension));
  return format && (file.type === "" || file.type === "application/octet-stream") ? format.mime_type : file.type;
}

export class UploadItem {
  constructor(file, { pending = null } = {}) {
    this.key = nextKey++;
    this.file = file;
    this.contentType = claimedType(file);
    this.pending = pending; // an unfinished multipart upload (resumed from IndexedDB)
    this.visibility = pending?.visibility ?? null;
    this.partsDone = 0;
    this.partsLeft = 0;
    this.state = STATES.QUEUED;
    this.message = "Waiting to upload…";
    this.loaded = 0;
    this.total = file.size;
    this.image = null;
    this.imageId = null;
    this.deleteToken = null;
    this.retryAt = null;
    this.autoRetries = 0;
    this.xhr = null;
    this.abort = new AbortController();
  }

  get done() {
    return FINAL.has(this.state);
  }

  get canRetry() {
    return this.state === STATES.FAILED && !this.precheckFailed;
  }

  get canCancel() {
    return [STATES.QUEUED, STATES.WAITING, STATES.REQUESTING, STATES.UPLOADING].includes(this.state);
  }

  get canDismiss() {
    return [STATES.FAILED, STATES.REJECTED, STATES.CANCELLED].includes(this.state);
  }

  get multipart() {
    return this.pending !== null || this.file.size > MULTIPART_THRESHOLD_BYTES;
  }
}

/** Why the browser will not even try this file, or null. */
export function precheck(file) {
  if (file.size === 0) return "The file is empty.";
  if (!UPLOADABLE_TYPES.includes(claimedType(file))) {
    const kind = file.type ? `“${file.type}” files` : "Files of unknown type";
    return `${kind} cannot be uploaded. Choose a ${formatList()} image.`;
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    return `The file is ${formatBytes(file.size)}; the limit is ${formatBytes(MAX_UPLOAD_BYTES)}.`;
  }
  return null;
}

export class UploadQueue {
  /** @param {{concurrency?: number, onChange: (item: UploadItem) => void}} options */
  constructor({ concurrency = 3, onChange, visibility = () => null }) {
    this.concurrency = concurrency;
    this.visibility = visibility; // the visibility chosen on the page when a file is added
    this.onChange = onChange;
    this.waiting = [];
    this.active = 0;
    this.pausedUntil = 0;
    this.resumeTimer = null;
    this.batch = new Date().toISOString(); // this page's uploads, remembered together (uploads-store.js)
  }

  add(file, { pending = null } = {}) {
    const item = new UploadItem(file, { pending });
    item.visibility ??= this.visibility();
    const problem = precheck(file);
    if (problem) {
      item.precheckFailed = true;
      this.update(item, STATES.FAILED, problem);
    } else {
      this.waiting.push(item);
      this.update(item, STATES.QUEUED, "Waiting to upload…");
      this.pump();
    }
    return item;
  }

  retry(item) {
    if (!item.canRetry) return;
    item.autoRetries = 0;
    item.abort = new AbortController();
    item.loaded = 0;
    this.waiting.push(item);
    this.update(item, STATES.QUEUED, "Waiting to upload…");
    this.pump();
  }

  cancel(item) {
    if (!item.canCancel) return;
    this.waiting = this.waiting.filter((other) => other !== item);
    item.abort.abort();
    item.xhr?.abort();
    if (item.pending) abandon(item.pending); // drop the parts the store already holds
    item.pending = null;
    this.update(item, STATES.CANCELLED, "Cancelled.");
  }

  /** A finished row the user no longer wants to see; an unfinished large upload it held is abandoned. */
  dismiss(item) {
    if (!item.canDismiss) return;
    if (item.pending) abandon(item.pending);
    item.pending = null;
    this.onDismiss?.(item);
  }

  get busy() {
    return this.active > 0 || this.waiting.length > 0;
  }

  update(item, state, message) {
    item.state = state;
    if (message !== undefined) item.message = message;
    this.onChange(item);
  }

  pump() {
    const now = Date.now();
    if (now < this.pausedUntil) {
      clearTimeout(this.resumeTimer);
      this.resumeTimer = setTimeout(() => this.pump(), this.pausedUntil - now);
      return;
    }
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const item = this.waiting.shift();
      this.active += 1;
      this.transfer(item)
        .then((uploaded) => uploaded && this.process(item))
        .catch(() => {}); // transfer() and process() record their own failures on the item
    }
  }

  /** Steps 2–3 (holding a concurrency slot). Resolves true when the bytes are in the bucket. */
  async transfer(item) {
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        this.active -= 1;
        this.pump();
      }
    };
    try {
      if (item.state === STATES.CANCELLED) return false;
      if (item.multipart) return await this.transferInParts(item);
      this.update(item, STATES.REQUESTING, "Preparing upload…");
      const sha256 = await sha256Hex(item.file);
      const ticket = await requestUpload({
        filename: item.file.name,
        contentType: item.contentType,
        size: item.file.size,
        sha256,
        visibility: item.visibility || undefined,
      });
      if (item.state === STATES.CANCELLED) return false;
      item.imageId = ticket.id;
      item.deleteToken = ticket.delete_token ?? null;
      this.remember(item, ticket.id, ticket.delete_token);
      this.update(item, STATES.UPLOADING, "Uploading…");
      await postToBucket(item, ticket.upload, () => this.onChange(item));
      return true;
    } catch (error) {
      if (item.pending && item.state !== STATES.CANCELLED && error?.name !== "AbortError") {
        // A large upload keeps its parts: Retry (or a reload) sends only what is missing.
        const { partsDone: done, partsLeft: left } = item;
        const detail = left ? ` ${done} parts are in, ${left} left.` : "";
        this.update(item, STATES.FAILED, `${errorText(error)}${detail} Retry to continue.`);
        return false;
      }
      if (item.imageId) {
        // The record was made but the bytes never arrived: it expires by itself; do not list it as ours.
        forgetUpload(item.imageId);
        item.imageId = null;
      }
      if (item.state === STATES.CANCELLED) return false;
      if (error instanceof ApiError && error.isRateLimited && item.autoRetries < MAX_AUTO_RETRIES) {
        this.backOff(item, error);
      } else {
        this.update(item, STATES.FAILED, errorText(error));
      }
      return false;
    } finally {
      release();
    }
  }

  /** Steps 2–3 for a large file: parts in parallel, resumable (large-upload.js). */
  async transferInParts(item) {
    this.update(item, STATES.REQUESTING, item.pending ? "Resuming: asking which parts arrived…" : "Preparing upload…");
    const state = await uploadInParts(item, {
      visibility: item.visibility || undefined,
      signal: item.abort.signal,
      onOpened: (opened) => this.remember(item, opened.id, opened.deleteToken),
      onProgress: ({ loaded, total, done, left }) => {
        item.loaded = loaded;
        item.total = total;
        item.partsDone = done;
        item.partsLeft = left;
        const message = `Uploading in parts: ${done} done, ${left} left.`;
        if (item.state !== STATES.UPLOADING) this.update(item, STATES.UPLOADING, message);
        else {
          item.message = message;
          this.onChange(item);
        }
      },
    });
    item.imageId = state.id;
    item.deleteToken = state.deleteToken;
    if (item.pending && !item.remembered) this.remember(item, state.id, state.deleteToken);
    item.pending = null;
    item.loaded = item.total;
    return true;
  }

  remember(item, id, deleteToken) {
    item.imageId = id;
    item.deleteToken = deleteToken ?? null;
    item.remembered = true;
    rememberUpload({
      id,
      filename: item.file.name,
      deleteToken: item.deleteToken,
      ownerId: item.deleteToken ? null : (getUser()?.id ?? null),
      batch: this.batch,
    });
  }

  backOff(item, error) {
    const seconds = error.retryAfter ?? 5;
    item.autoRetries += 1;
    item.retryAt = Date.now() + seconds * 1000;
    this.pausedUntil = Math.max(this.pausedUntil, item.retryAt);
    this.waiting.unshift(item);
    const tick = () => {
      if (item.state !== STATES.WAITING) return;
      const left = Math.ceil((item.retryAt - Date.now()) / 1000);
      if (left <= 0) return;
      this.update(item, STATES.WAITING, `Slow down: ${error.message} Retrying in ${left} s.`);
      setTimeout(tick, 1000);
    };
    item.state = STATES.WAITING;
    tick();
  }

  /** Step 4: wait for the processor's verdict. */
  async process(item) {
    this.update(item, STATES.PROCESSING, "Processing…");
    const started = Date.now();
    let delay = POLL_FIRST_MS;
    for (;;) {
      try {
        const image = await getImage(item.imageId, { signal: item.abort.signal });
        if (image.status === "ready") {
          item.image = image;
          // Before the update: a single upload's READY navigates away (home.js).
          if (item.remembered) rememberReady(item.imageId, image);
          this.update(item, STATES.READY, "Ready.");
          return;
        }
        if (image.status === "rejected") {
          item.image = image;
          forgetUpload(item.imageId);
          this.update(item, STATES.REJECTED, `Rejected: ${rejectReasonText(image.reject_reason)}`);
          return;
        }
      } catch (error) {
        if (error?.name === "AbortError") return;
        // A 404 now means it was deleted (or expired) meanwhile; anything else may be passing.
        if (error instanceof ApiError && (error.isNotFound || error.status === 401 || error.status === 403)) {
          this.update(item, STATES.FAILED, errorText(error));
          return;
        }
      }
      if (Date.now() - started > POLL_GIVE_UP_MS) {
        this.update(item, STATES.FAILED, "Still processing after two minutes. Open its page later to check.");
        return;
      }
      await sleep(delay, item.abort.signal).catch(() => {});
      if (item.abort.signal.aborted) return;
      delay = Math.min(POLL_MAX_MS, Math.round(delay * 1.5));
    }
  }
}

/** The multipart POST to the bucket: the presigned fields first, the file last (S3 ignores fields after it). */
function postToBucket(item, upload, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields || {})) form.append(name, value);
    form.append("file", item.file);
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open("POST", upload.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        item.loaded = event.loaded;
        item.total = event.total;
        onProgress();
      }
    });
    xhr.addEventListener("load", () => {
      item.xhr = null;
      if (xhr.status >= 200 && xhr.status < 300) {
        item.loaded = item.total;
        resolve();
      } else {
        reject(storageError(xhr));
      }
    });
    xhr.addEventListener("error", () => {
      item.xhr = null;
      reject(new ApiError({ code: "UPLOAD_FAILED", message: "The upload was interrupted. Check your connection and retry." }));
    });
    xhr.addEventListener("abort", () => {
      item.xhr = null;
      reject(new DOMException("Aborted", "AbortError"));
    });
    xhr.send(form);
  });
}

/** S3 answers errors in XML (<Error><Code/><Message/></Error>); read it without ever rendering it as HTML. */
function storageError(xhr) {
  let code = `HTTP_${xhr.status}`;
  let message = "";
  try {
    const doc = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
    code = doc.querySelector("Error > Code")?.textContent || code;
    message = doc.querySelector("Error > Message")?.textContent || "";
  } catch {
    // Not XML: fall through to the generic message.
  }
  const words = {
    EntityTooLarge: "The file is larger than the storage allows.",
    EntityTooSmall: "The file is empty.",
    AccessDenied: "The storage refused the upload (the upload link may have expired). Retry.",
    SlowDown: "The storage is busy. Retry in a moment.",
  };
  if (xhr.status === 429 || xhr.status === 503) {
    return errorFromResponse(xhr.status, null, xhr.getResponseHeader("Retry-After"));
  }
  return new ApiError({
    status: xhr.status,
    code,
    message: words[code] || message || `The storage refused the upload (HTTP ${xhr.status}).`,
  });
}
