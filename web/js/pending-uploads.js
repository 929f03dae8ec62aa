/**
 * Unfinished large uploads, kept in IndexedDB (it can hold the File itself, which localStorage cannot) so a
 * reload or a crashed tab resumes them: the upload's id, its delete token (anonymous uploads), the part plan and
 * the file. An entry is removed when its upload completes or is abandoned.
 */

const DB_NAME = "chitram";
const STORE = "pending-uploads";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export function savePending(entry) {
  return run("readwrite", (store) => store.put(entry));
}

export function forgetPending(id) {
  return run("readwrite", (store) => store.delete(id));
}

export async function listPending() {
  try {
    return (await run("readonly", (store) => store.getAll())) || [];
  } catch {
    return [];
  }
}
