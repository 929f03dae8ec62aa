/**
 * "Similar images" on the image page, for its owner only: their own images whose perceptual hash is within the
 * API's threshold (GET /api/v1/users/me/images/{id}/similar), nearest first, as thumbnails linking to each.
 * Nobody else is shown the section (and the API would answer 404 anyway).
 */

import { previewUrl, similarImages } from "./api.js";
import { withPlaceholder } from "./blurhash.js";
import { el, errorText, imagePageUrl, thumbnail } from "./ui.js";

const SIZE = 150;

export function similarSection(image) {
  const list = el("ul", { class: "similar-list" });
  const status = el("p", { class: "muted" }, "Looking for similar images…");
  const section = el("section", { class: "similar", "aria-labelledby": "similar-heading" });
  section.append(el("h2", { id: "similar-heading" }, "Similar images"), status, list);
  similarImages(image.id)
    .then((found) => {
      const items = found?.items || [];
      status.textContent = items.length ? "" : "None of your other images looks like this one.";
      status.hidden = items.length > 0;
      for (const item of items) list.append(entry(item));
    })
    .catch((error) => {
      status.textContent = errorText(error);
    });
  return section;
}

function entry(item) {
  const name = item.filename || "Untitled";
  const img = withPlaceholder(thumbnail(previewUrl(item, SIZE), name, { width: 96, height: 96 }), item);
  return el(
    "li",
    { dataset: { similarId: item.id, distance: String(item.distance) } },
    el("a", { href: imagePageUrl(item.id), title: `${name} (${item.distance} bits apart)` }, img),
  );
}
