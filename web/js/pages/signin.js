/** The sign-in page: email + password → access token kept by auth.js, then back to where the user was. */

import { login, me } from "../api.js";
import { isSignedIn, leaveNotice, setSession, updateUser } from "../auth.js";
import { initNav } from "../nav.js";
import { $, errorText, setStatus } from "../ui.js";

initNav("signin");

const form = $("#signin-form");
const error = $("#form-error");

/** Only a page of this site (no scheme, no host, no path tricks): never an open redirect. */
export function safeNext(value) {
  return value && /^[a-z]+\.html(\?[\w=&%.-]*)?$/.test(value) ? value : "mine.html";
}

const next = safeNext(new URLSearchParams(window.location.search).get("next"));
if (isSignedIn()) window.location.replace(next);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    setStatus(error, "Enter your email and password.", "error");
    (email ? form.password : form.email).focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  setStatus(error, "");
  try {
    const session = await login(email, password);
    setSession(session.access_token, session.user ?? { email });
    if (!session.user) {
      // The login answer may carry only the token; ask who we are for the header.
      try {
        updateUser(await me());
      } catch {
        // The header falls back to the email typed in; nothing else depends on it.
      }
    }
    leaveNotice("You are signed in.");
    window.location.assign(next);
  } catch (failure) {
    setStatus(error, errorText(failure), "error");
    form.password.select();
  } finally {
    button.disabled = false;
  }
});
