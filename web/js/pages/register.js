/** The register page: creates the account, keeps the access token it returns, and goes to My images. */

import { register } from "../api.js";
import { isSignedIn, leaveNotice, setSession } from "../auth.js";
import { initNav } from "../nav.js";
import { $, errorText, setStatus } from "../ui.js";

initNav("register");

const form = $("#register-form");
const error = $("#form-error");

if (isSignedIn()) window.location.replace("mine.html");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !form.email.checkValidity()) {
    setStatus(error, "Enter a valid email address.", "error");
    form.email.focus();
    return;
  }
  if (password.length < 8) {
    // A courtesy check; the server's password rules decide.
    setStatus(error, "Choose a password of at least 8 characters.", "error");
    form.password.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  setStatus(error, "");
  try {
    const result = await register(email, password);
    setSession(result.access_token, result.user ?? { email });
    leaveNotice("Welcome! Your account is ready; uploads you make while signed in are yours.");
    window.location.assign("mine.html");
  } catch (failure) {
    setStatus(error, errorText(failure), "error");
  } finally {
    button.disabled = false;
  }
});
