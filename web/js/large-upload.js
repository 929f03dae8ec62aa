/**
 * Large files: S3 multipart uploads with presigned part URLs (the contract: POST /api/v1/images/multipart,
 * /{id}/multipart/parts, /complete, DELETE /{id}/multipart), resumable across a network drop and a page reload.
 *
 * - Every part's SHA-256 is computed here (WebCrypto) and bound into its presigned URL, so the store refuses a
 *   part whose bytes were damaged on the way; the whole file's SHA-256 goes with the create request, and the
 *   processor refuses an object whose bytes differ.
 * - Parts go up PARALLEL_PARTS at a time; a part that fails is retried on its own (after a pause that grows, and
 *   once the browser is back online), signed again if its URL expired.
 * - The file itself and the upload's id and credentials are kept in IndexedDB (pending-uploads.js) until the
 *   upload completes or is aborted, so after a reload the page asks the API which parts the store already holds
 *   (list-parts) and sends only the rest.
 */

import {
  abortMultipart,
  completeMultipart,
  createMultipart,
  listMultipartParts,
  signMultipartParts,
} from "./api.js";
import { forgetPending, savePending } from "./pending-uploads.js";
import { sleep } from "./ui.js";

const PARALLEL_PARTS = 3;
const PART_ATTEMPTS = 5;

/** Hex SHA-256 of a Blob (WebCrypto). */
export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Base64 SHA-256 of a Blob: the value S3's x-amz-checksum-sha256 header carries. */
export async function sha256Base64(blob) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Upload `item.file` in parts. `item.pending` (from IndexedDB) resumes an upload opened earlier; otherwise one is
 * opened. Reports progress through `onProgress({loaded, total, done, left})`. Resolves once the store has the
 * whole object (processing follows, as for small files).
 */
export async function uploadInParts(item, { visibility, onProgress, onOpened, signal }) {
  const file = item.file;
  let state = item.pending;
  if (!state) {
    const sha256 = await sha256Hex(file);
    const ticket = await createMultipart({
      filename: file.name,
      contentType: item.contentType,
      size: file.size,
      sha256,
      visibility,
    });
    state = {
      id: ticket.id,
      deleteToken: ticket.delete_token ?? null,
      partSize: ticket.part_size,
      partCount: ticket.part_count,
      filename: file.name,
      contentType: item.contentType,
      size: file.size,
      visibility,
      file,
      createdAt: new Date().toISOString(),
    };
    item.pending = state;
    await savePending(state).catch(() => {}); // private browsing may refuse IndexedDB: no resume, still uploads
    onOpened?.(state);
  }
  const credentials = state.deleteToken;
  const listed = await listMultipartParts(state.id, credentials);
  const done = new Map(listed.parts.map((part) => [part.part_number, part.size]));
  const numbers = [];
  for (let n = 1; n <= state.partCount; n += 1) if (!done.has(n)) numbers.push(n);

  const partBlob = (n) => file.slice((n - 1) * state.partSize, Math.min(n * state.partSize, file.size));
  const inFlight = new Map(); // part number -> bytes sent so far
  const report = () => {
    let loaded = 0;
    for (const size of done.values()) loaded += size;
    for (const bytes of inFlight.values()) loaded += bytes;
    onProgress({ loaded, total: file.size, done: done.size, left: state.partCount - done.size });
  };
  report();

  const queue = [...numbers];
  const worker = async () => {
    while (queue.length > 0) {
      if (signal.aborted) throw new DOMException("Aborted", "AbortError");
      const batch = queue.splice(0, 1);
      const n = batch[0];
      const blob = partBlob(n);
      const checksum = await sha256Base64(blob);
      await sendPart(state, n, blob, checksum, {
        signal,
        onProgress: (bytes) => {
          inFlight.set(n, bytes);
          report();
        },
      });
      inFlight.delete(n);
      done.set(n, blob.size);
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, queue.length) }, worker));
  await completeMultipart(state.id, credentials);
  await forgetPending(state.id).catch(() => {});
  return state;
}

/** One part: sign it, PUT it, and on failure try again on its own (sign again: the URL may have expired). */
async function sendPart(state, n, blob, checksum, { signal, onProgress }) {
  let lastError = null;
  for (let attempt = 1; attempt <= PART_ATTEMPTS; attempt += 1) {
    if (signal.aborted) throw new DOMException("Aborted", "AbortError");
    if (!navigator.onLine) await waitUntilOnline(signal);
    try {
      const [signed] = await signMultipartParts(state.id, [{ part_number: n, sha256_b64: checksum }], state.deleteToken);
      await putPart(signed, blob, { signal, onProgress });
      return;
    } catch (error) {
      if (error?.name === "AbortError") throw error;
      lastError = error;
      onProgress(0);
      await sleep(Math.min(8000, 500 * 2 ** attempt), signal).catch(() => {});
    }
  }
  throw lastError;
}

function putPart(signed, blob, { signal, onProgress }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    signal.addEventListener("abort", abort, { once: true });
    xhr.open("PUT", signed.url);
    for (const [name, value] of Object.entries(signed.headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    xhr.addEventListener("load", () => {
      signal.removeEventListener("abort", abort);
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader("ETag"));
      else reject(new Error(`The storage refused part ${signed.part_number} (HTTP ${xhr.status}).`));
    });
    xhr.addEventListener("error", () => {
      signal.removeEventListener("abort", abort);
      reject(new Error("The connection dropped."));
    });
    xhr.addEventListener("abort", () => reject(new DOMException("Aborted", "AbortError")));
    xhr.send(blob);
  });
}

function waitUntilOnline(signal) {
  return new Promise((resolve, reject) => {
    const done = () => {
      window.removeEventListener("online", done);
      resolve();
    };
    window.addEventListener("online", done);
    signal.addEventListener("abort", () => reject(new DOMException("Aborted", "AbortError")), { once: true });
  });
}

/** Give up on an upload: the API drops its parts and its pending record; the browser forgets the file. */
export async function abandon(state) {
  await abortMultipart(state.id, state.deleteToken).catch(() => {});
  await forgetPending(state.id).catch(() => {});
}
