/** The sign-in page: email + password → access token kept by auth.js, then back to where the user was. */

import { login, me } from "../api.js";
import { handOverEmail, isSignedIn, leaveNotice, setSession, updateUser } from "../auth.js";
import { initNav } from "../nav.js";
import { $, FormProblem, onSubmit } from "../ui.js";

initNav("signin");

const form = $("#signin-form");
const error = $("#form-error");

/** Only a page of this site (no scheme, no host, no path tricks): never an open redirect. */
export function safeNext(value) {
  return value && /^[a-z]+\.html(\?[\w=&%.-]*)?$/.test(value) ? value : "mine.html";
}

const next = safeNext(new URLSearchParams(window.location.search).get("next"));
if (isSignedIn()) window.location.replace(next);

// Whatever was typed as the email goes along to the reset page, so it need not be typed again.
$("#forgot-link").addEventListener("click", () => handOverEmail(form.email.value.trim()));

onSubmit(
  form,
  error,
  async () => {
    const email = form.email.value.trim();
    const password = form.password.value;
    if (!email || !password) throw new FormProblem("Enter your email and password.", email ? form.password : form.email);
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
  },
  { onError: () => form.password.select() },
);
