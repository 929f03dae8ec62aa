/**
 * Auth state: the signed-in session (access token + user) kept in localStorage, and who wants to know when
 * it changes. Nothing here talks to the API; api.js reads the token and calls signOut()
 * when endsSession() says so (a 401, never a 503).
 */

const SESSION_KEY = "chitram.session";
const NOTICE_KEY = "chitram.notice";
const EMAIL_KEY = "chitram.handover-email";
const listeners = new Set();

function readSession() {
  try {
    const value = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    return value && typeof value.token === "string" ? value : null;
  } catch {
    // A corrupt entry is as good as no session.
    return null;
  }
}

export function getSession() {
  return readSession();
}

export function getToken() {
  return readSession()?.token ?? null;
}

export function getUser() {
  return readSession()?.user ?? null;
}

export function isSignedIn() {
  return getToken() !== null;
}

export function setSession(token, user) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({ token, user: user ?? null }));
  notify();
}

export function updateUser(user) {
  const session = readSession();
  if (session) setSession(session.token, user);
}

/**
 * Whether an answer ends the session: only a 401 to a request that carried a token (expired, revoked, user
 * gone). A 503 (the identity provider's keys could not be fetched) says nothing about the token: keep it.
 */
export function endsSession(status, token) {
  return status === 401 && Boolean(token);
}

/** Forget the session. `notice` is shown once on the next page (e.g. why the user was signed out). */
export function signOut(notice) {
  const wasSignedIn = readSession() !== null;
  localStorage.removeItem(SESSION_KEY);
  if (notice) sessionStorage.setItem(NOTICE_KEY, notice);
  if (wasSignedIn) notify();
}

/** A one-time notice left by signOut() or another page, consumed on read. */
export function takeNotice() {
  const notice = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  return notice;
}

export function leaveNotice(text) {
  sessionStorage.setItem(NOTICE_KEY, text);
}

/** The address typed on one page, for the next (sign-in → reset password), consumed on read; tab-scoped. */
export function handOverEmail(email) {
  if (email) sessionStorage.setItem(EMAIL_KEY, email);
  else sessionStorage.removeItem(EMAIL_KEY);
}

export function takeHandedOverEmail() {
  const email = sessionStorage.getItem(EMAIL_KEY);
  sessionStorage.removeItem(EMAIL_KEY);
  return email;
}

export function onAuthChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify() {
  const session = readSession();
  for (const listener of listeners) listener(session);
}

// Signing in or out in another tab changes this one too.
window.addEventListener("storage", (event) => {
  if (event.key === SESSION_KEY || event.key === null) notify();
});
