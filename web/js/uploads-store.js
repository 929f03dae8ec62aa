/**
 * This browser's uploads, remembered in localStorage so anonymous users can find (and delete) what they
 * uploaded: id, filename, the delete token (anonymous uploads only), who owned it, and whether the token has
 * been shown on the share page yet (it is shown once, prominently; afterwards it stays usable here). Once the
 * image is ready, also its BlurHash and size (`blurhash`, `width`, `height`, named as in the API's image), so
 * "My images" can paint the placeholder while the thumbnail loads. Entries stored before that have none of the
 * three: readers must treat them as optional (the row's placeholder colour shows instead).
 */

const KEY = "chitram.uploads";
const MAX_ENTRIES = 200;
const MAX_BLURHASH_CHARS = 200; // 9x9 components, BlurHash's most, take 166: anything longer is not one

function readAll() {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(value) ? value.filter((entry) => entry && typeof entry.id === "string") : [];
  } catch {
    return [];
  }
}

function writeAll(entries) {
  localStorage.setItem(KEY, JSON.stringify(entries.slice(0, MAX_ENTRIES)));
}

export function listUploads() {
  return readAll();
}

export function findUpload(id) {
  return readAll().find((entry) => entry.id === id) ?? null;
}

export function rememberUpload({ id, filename, deleteToken, ownerId, batch = null }) {
  const entries = readAll().filter((entry) => entry.id !== id);
  entries.unshift({
    id,
    filename,
    deleteToken: deleteToken || null,
    ownerId: ownerId || null,
    batch,
    tokenShown: false,
    uploadedAt: new Date().toISOString(),
  });
  writeAll(entries);
}

/**
 * The placeholder fields worth keeping from an API image: a plausible BlurHash and its positive integer size,
 * or nothing at all (an image without a BlurHash stores no placeholder fields, like an older entry).
 */
function placeholderFields(image) {
  const { blurhash, width, height } = image ?? {};
  if (typeof blurhash !== "string" || blurhash.length === 0 || blurhash.length > MAX_BLURHASH_CHARS) return {};
  const side = (value) => (Number.isInteger(value) && value > 0 ? value : null);
  return { blurhash, width: side(width), height: side(height) };
}

/** The upload is ready: keep its placeholder fields. An entry forgotten meanwhile is not brought back. */
export function rememberReady(id, image) {
  const fields = placeholderFields(image);
  if (Object.keys(fields).length === 0) return;
  writeAll(readAll().map((entry) => (entry.id === id ? { ...entry, ...fields } : entry)));
}

export function markTokenShown(id) {
  writeAll(readAll().map((entry) => (entry.id === id ? { ...entry, tokenShown: true } : entry)));
}

export function forgetUpload(id) {
  writeAll(readAll().filter((entry) => entry.id !== id));
}

/** The uploads of the most recent batch (one visit to the upload page), oldest first. */
export function lastBatch() {
  const entries = readAll();
  const batch = entries.find((entry) => entry.batch)?.batch;
  return batch ? entries.filter((entry) => entry.batch === batch).reverse() : [];
}
