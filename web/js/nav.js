/**
 * The site header shared by every page: marks the current link, shows who is signed in (or the sign-in and
 * register links), the sign-out button, and one-time notices (e.g. "your session has ended").
 */

import { getUser, isSignedIn, leaveNotice, onAuthChange, signOut, takeNotice } from "./auth.js";
import { $, clear, el, setStatus } from "./ui.js";

export function initNav(current) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === current) link.setAttribute("aria-current", "page");
  }
  renderAccount();
  onAuthChange(() => {
    renderAccount();
    // Signed out by a 401 while on this page: say why right here.
    const notice = takeNotice();
    if (notice) showNotice(notice);
  });
  const notice = takeNotice();
  if (notice) showNotice(notice);
}

export function showNotice(text, kind = "info") {
  const node = $("#notice");
  if (node) setStatus(node, text, kind);
}

function renderAccount() {
  const slot = $("#account");
  if (!slot) return;
  clear(slot);
  if (isSignedIn()) {
    const user = getUser();
    slot.append(
      el("span", { class: "account-name", title: user?.email || "" }, user?.email ? user.email : "Signed in"),
      el(
        "button",
        {
          type: "button",
          class: "button button-small button-quiet",
          onclick: () => {
            signOut();
            leaveNotice("You have signed out.");
            window.location.assign("./");
          },
        },
        "Sign out",
      ),
    );
  } else {
    const here = encodeURIComponent(window.location.pathname.split("/").pop() + window.location.search);
    slot.append(
      el("a", { href: `signin.html?next=${here}`, class: "button button-small button-quiet", "data-nav": "signin" }, "Sign in"),
      el("a", { href: "register.html", class: "button button-small", "data-nav": "register" }, "Register"),
    );
  }
}
