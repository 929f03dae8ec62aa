/**
 * The page shell shared by every page: the skip link, the site header (brand, main navigation with the current
 * page marked, who is signed in or the sign-in/register links, sign out), the notice line for one-time notices
 * (e.g. "your session has ended") and the footer.
 *
 * Each HTML page holds only its <head> (which must stay static: charset, title, stylesheet; the security headers
 * come from the server, chalicelib/site_headers.py) and its own <main id="main">; initNav() builds the rest
 * around that <main>, so the shared markup lives here once. It also fills in the product facts the static HTML
 * leaves to /config.js (applyConfig), so no page carries a copy of a format list, a size or a password rule.
 */

import { getUser, isSignedIn, leaveNotice, onAuthChange, signOut, takeNotice } from "./auth.js";
import { ACCEPT, MAX_UPLOAD_BYTES, PASSWORD_MIN_CHARS, formatList } from "./facts.js";
import { $, clear, el, formatBytes, setStatus } from "./ui.js";

const NAV_LINKS = [
  ["home", "./", "Upload"],
  ["gallery", "gallery.html", "Gallery"],
  ["mine", "mine.html", "My images"],
  ["tokens", "tokens.html", "API tokens"],
  ["docs", "docs", "API docs"],
];

const FOOTER_TEXT =
  "Chitram — simple image hosting. Uploads are checked and processed before they are shared; location data is removed.";

/** Build the shell around the page's <main> (once) and mark `current` ("home", "gallery", "mine", …). */
export function initNav(current) {
  applyConfig(document);
  renderShell(current);
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

/** What each data-config="…" marker in the HTML becomes (an unknown marker is a bug: it throws). */
const CONFIG_FILLERS = {
  "upload-rules": (node) => {
    node.textContent = `${formatList()}, up to ${formatBytes(MAX_UPLOAD_BYTES)} each.`;
  },
  "accept": (node) => {
    node.accept = ACCEPT;
  },
  "new-password": (node) => {
    node.minLength = PASSWORD_MIN_CHARS;
  },
  "password-rules": (node) => {
    node.textContent = `At least ${PASSWORD_MIN_CHARS} characters.`;
  },
};

export function applyConfig(root) {
  for (const node of root.querySelectorAll("[data-config]")) {
    const fill = CONFIG_FILLERS[node.dataset.config];
    if (!fill) throw new Error(`unknown data-config="${node.dataset.config}"`);
    fill(node);
  }
}

function renderShell(current) {
  if ($(".site-header")) return;
  const main = $("#main");
  const links = NAV_LINKS.map(([key, href, label]) =>
    el("li", {}, el("a", { href, "data-nav": key, "aria-current": key === current ? "page" : null }, label)),
  );
  const header = el(
    "header",
    { class: "site-header" },
    el(
      "div",
      { class: "header-inner" },
      el("a", { class: "brand", href: "./" }, el("img", { src: "favicon.svg", alt: "", width: 28, height: 28 }), el("span", {}, "Chitram")),
      el("nav", { class: "site-nav", "aria-label": "Main" }, el("ul", {}, links)),
      el("div", { class: "account", id: "account" }),
    ),
  );
  const notice = el("div", { class: "notice-wrap" }, el("p", { id: "notice", class: "notice", role: "status", hidden: true }));
  const footer = el("footer", { class: "site-footer" }, el("p", {}, FOOTER_TEXT));
  const skip = el("a", { class: "skip-link", href: "#main" }, "Skip to content");
  if (main) {
    main.before(skip, header, notice);
    main.after(footer);
  } else {
    document.body.prepend(skip, header, notice);
    document.body.append(footer);
  }
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
