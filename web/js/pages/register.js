/** The register page: creates the account, keeps the access token it returns, and goes to My images. */

import { register } from "../api.js";
import { isSignedIn, leaveNotice, setSession } from "../auth.js";
import { initNav } from "../nav.js";
import { PASSWORD_MIN_CHARS } from "../facts.js";
import { $, FormProblem, onSubmit } from "../ui.js";

initNav("register");

const form = $("#register-form");
const error = $("#form-error");

if (isSignedIn()) window.location.replace("mine.html");

onSubmit(form, error, async () => {
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !form.email.checkValidity()) throw new FormProblem("Enter a valid email address.", form.email);
  // A courtesy check; the server's password rules decide.
  if (password.length < PASSWORD_MIN_CHARS) {
    throw new FormProblem(`Choose a password of at least ${PASSWORD_MIN_CHARS} characters.`, form.password);
  }
  const result = await register(email, password);
  setSession(result.access_token, result.user ?? { email });
  leaveNotice("Welcome! Your account is ready; uploads you make while signed in are yours.");
  window.location.assign("mine.html");
});
