/**
 * This browser's uploads, remembered in localStorage so anonymous users can find (and delete) what they
 * uploaded: id, filename, the delete token (anonymous uploads only), who owned it, and whether the token has
 * been shown on the share page yet (it is shown once, prominently; afterwards it stays usable here).
 */

const KEY = "chitram.uploads";
const MAX_ENTRIES = 200;

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
