/**
 * The public gallery: thumbnails filling 300 px tiles, newest first, fetched a page at a time with `next_cursor`.
 * Scrolling near the end loads the next page (IntersectionObserver); the "Load more" button does the same for
 * keyboards and for browsers without the observer.
 */

import { apiUrl, listGallery, thumbnailUrl } from "../api.js";
import { PAGE_SIZE_MAX, thumbnailSizeFor } from "../facts.js";
import { withPlaceholder } from "../blurhash.js";
import { initNav } from "../nav.js";
import { picture } from "../picture.js";
import { $, el, errorText, formatDimensions, setStatus, thumbnail } from "../ui.js";

initNav("gallery");

const grid = $("#gallery");
const more = $("#load-more");
const status = $("#gallery-status");
const sentinel = $("#sentinel");
// ?per_page=N (1 to the API's PAGE_SIZE_MAX) picks another page size, mostly useful to see the paging work.
// 24 fills whole rows of 2, 3, 4 or 6 tiles.
const requested = Number(new URLSearchParams(window.location.search).get("per_page"));
const PAGE_SIZE =
  Number.isInteger(requested) && requested >= 1 && requested <= PAGE_SIZE_MAX ? requested : Math.min(24, PAGE_SIZE_MAX);
const TILE_PX = 300; // the tile's CSS size; the thumbnail is the smallest rendition that fills it
const TILE_SIZE = thumbnailSizeFor(TILE_PX);

let cursor = null;
let finished = false;
let loading = false;
const seen = new Set();

async function loadPage() {
  if (loading || finished) return;
  loading = true;
  more.disabled = true;
  more.textContent = "Loading…";
  try {
    const page = await listGallery({ cursor, limit: PAGE_SIZE });
    for (const image of page.items || []) {
      if (seen.has(image.id)) continue; // a new upload can shift a page boundary
      seen.add(image.id);
      const node = tile(image);
      withPlaceholder(node.querySelector("img.thumb"), image); // the BlurHash until the thumbnail arrives
      grid.append(node);
    }
    cursor = page.next_cursor || null;
    finished = !cursor;
    setStatus(status, "");
    if (seen.size === 0) {
      grid.append(
        el("li", { class: "empty" }, "No public images yet. ", el("a", { href: "./" }, "Upload the first one"), "."),
      );
    }
  } catch (error) {
    setStatus(status, errorText(error), "error");
  } finally {
    loading = false;
    more.disabled = false;
    more.textContent = "Load more";
    more.hidden = finished;
  }
  // The observer only reports changes: if a short page left the end of the list in view, keep going.
  if (cursor && !status.textContent && nearViewport(sentinel)) loadPage();
}

function nearViewport(node) {
  return node.getBoundingClientRect().top < window.innerHeight + 600;
}

function tile(image) {
  const name = image.filename || "Untitled";
  const listed = image.thumbnails?.[String(TILE_SIZE)];
  // The CDN's stable rendition links when there are any (a view never reaches the API), else the API route.
  const cdn = image.links?.thumbnails || {};
  const src = cdn[String(TILE_SIZE)] || (listed ? apiUrl(listed) : thumbnailUrl(image.id, TILE_SIZE));
  const img = thumbnail(src, name, { className: "thumb", width: TILE_PX, height: TILE_PX });
  return el(
    "li",
    {},
    el(
      "a",
      { class: "tile", href: `image.html?id=${encodeURIComponent(image.id)}` },
      tilePicture(image, img),
      el("span", { class: "tile-caption" }, name, el("small", {}, formatDimensions(image.width, image.height))),
    ),
  );
}

/**
 * The tile's <picture>: AVIF/WebP sources and the JPEG, each at every width, so high-density screens get the next
 * rendition up. A tile is a grid cell: about half the viewport on phones (two columns), at most TILE_PX wide
 * elsewhere. The tile's box is reserved either way (the <img>'s width/height + CSS aspect-ratio).
 */
function tilePicture(image, img) {
  return picture(image, img, `(max-width: 760px) 50vw, ${TILE_PX}px`);
}

more.addEventListener("click", () => loadPage());

if ("IntersectionObserver" in window) {
  new IntersectionObserver(
    (entries) => {
      if (entries.some((entry) => entry.isIntersecting) && cursor) loadPage();
    },
    { rootMargin: "600px 0px" },
  ).observe(sentinel);
}

loadPage();
