/**
 * The password reset page, two steps on one page:
 * - without a token: ask for a reset link (the answer is the same neutral text for any address);
 * - opened from the mailed link (reset-password.html#token=…): choose the new password, twice.
 *
 * The token travels in the URL fragment, which browsers never send to the site's server (nor in a Referer);
 * it is read once into memory, removed from the address bar and history with replaceState, and sent only to
 * the API. Reloading the page therefore forgets it: open the link from the mail again (it stays valid until used).
 */

import { ApiError, confirmPasswordReset, requestPasswordReset } from "../api.js";
import { isSignedIn, signOut, takeHandedOverEmail } from "../auth.js";
import { initNav } from "../nav.js";
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS } from "../facts.js";
import { $, FormProblem, onSubmit, setStatus } from "../ui.js";

initNav("");

let token = null;

const requestSection = $("#request-section");
const requestForm = $("#request-form");
const requestError = $("#request-error");
const requestDone = $("#request-done");
const confirmSection = $("#confirm-section");
const confirmForm = $("#confirm-form");
const confirmError = $("#confirm-error");
const doneSection = $("#done-section");

function takeTokenFromUrl() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const value = params.get("token");
  if (window.location.hash) {
    window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
  }
  return value && value.length <= 512 ? value : null;
}

/** Switch to "choose a new password" if the URL carries a token (on load, or a link opened in this same page). */
function useTokenFromUrl() {
  const fresh = takeTokenFromUrl();
  if (!fresh) return false;
  token = fresh;
  requestSection.hidden = true;
  doneSection.hidden = true;
  confirmSection.hidden = false;
  confirmForm.reset();
  for (const control of confirmForm.elements) control.disabled = false;
  setStatus(confirmError, "");
  $("#confirm-retry").hidden = true;
  confirmForm.new_password.focus();
  return true;
}

window.addEventListener("hashchange", useTokenFromUrl);
if (!useTokenFromUrl()) {
  // The sign-in page hands over what was typed there, so the address need not be typed twice.
  const email = takeHandedOverEmail();
  if (email) requestForm.email.value = email;
}

onSubmit(requestForm, requestError, async () => {
  const email = requestForm.email.value.trim();
  setStatus(requestDone, "");
  if (!email || !requestForm.email.checkValidity()) throw new FormProblem("Enter a valid email address.", requestForm.email);
  await requestPasswordReset(email);
  // Deliberately the same words for every address, registered or not.
  setStatus(
    requestDone,
    "If an account uses that address, a link to reset its password is on its way. Check your inbox; the link " +
      "works once and expires.",
    "success",
  );
});

/** A courtesy check before the round trip; the server's password policy decides. */
function checkNewPassword(password, repeated) {
  const field = confirmForm.new_password;
  if (password.length < PASSWORD_MIN_CHARS) {
    throw new FormProblem(`Choose a password of at least ${PASSWORD_MIN_CHARS} characters.`, field);
  }
  if (new TextEncoder().encode(password).length > PASSWORD_MAX_BYTES) {
    throw new FormProblem(
      `That password is too long: use at most ${PASSWORD_MAX_BYTES} bytes (fewer for non-Latin letters).`,
      field,
    );
  }
  if (!password.trim()) throw new FormProblem("The password must not be only spaces.", field);
  if (password !== repeated) throw new FormProblem("The two passwords do not match.", confirmForm.repeat_password);
}

onSubmit(
  confirmForm,
  confirmError,
  async () => {
    const password = confirmForm.new_password.value;
    checkNewPassword(password, confirmForm.repeat_password.value);
    const answer = await confirmPasswordReset(token, password);
    // Whoever is signed in here must sign in again: the sign-in page would otherwise send them away.
    if (isSignedIn()) signOut();
    confirmSection.hidden = true;
    $("#done-message").textContent = answer?.message || "Your password has been changed. Sign in with the new one.";
    doneSection.hidden = false;
    doneSection.focus();
  },
  {
    onError: (failure) => {
      if (!(failure instanceof ApiError && failure.code === "INVALID_RESET_TOKEN")) return;
      // Unknown, expired or already used: trying again cannot help, a new link can.
      confirmForm.reset();
      for (const control of confirmForm.elements) control.disabled = true;
      $("#confirm-retry").hidden = false;
      $("#request-again").focus();
    },
  },
);
