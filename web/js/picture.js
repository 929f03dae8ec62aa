/**
 * Thumbnails as <picture>: one <source> per companion encoding the image has (the formats /config.js lists in
 * THUMBNAIL_COMPANIONS, best first, so a browser takes the smallest type it can show), each with a `srcset` of
 * every thumbnail width (150/300/600 on the longest side) and the page's `sizes`, so a 2× screen gets the next
 * rendition up; then the <img> with the thumbnail itself (JPEG, or WebP for images with alpha), which every
 * browser shows. The <img> keeps its width/height attributes, so the box is reserved before anything loads.
 *
 * Only images whose metadata carries `links.thumbnail_sources` (public or unlisted, stored since companions
 * exist) get sources; anything else keeps the plain <img> it was given.
 */

import { THUMBNAIL_COMPANIONS } from "./facts.js";
import { el } from "./ui.js";

/** The pixel width of the rendition whose longest side is `longest` (renditions never upscale). */
export function renditionWidth(image, longest) {
  const width = Number(image.width) || 0;
  const height = Number(image.height) || 0;
  const side = Math.max(width, height);
  if (!side) return null;
  return side <= longest ? width : Math.max(1, Math.round((width * longest) / side));
}

/** "url 150w, url 300w, url 600w" for one encoding (extension), or "" when a size lacks it. */
export function srcsetFor(image, extension) {
  const sources = image.links?.thumbnail_sources || {};
  const seen = new Set();
  const candidates = [];
  for (const size of Object.keys(sources).map(Number).sort((a, b) => a - b)) {
    const url = sources[String(size)]?.[extension];
    const width = renditionWidth(image, size);
    if (!url || !width) return "";
    if (seen.has(width)) continue; // a small image: several sizes are the same pixels
    seen.add(width);
    candidates.push(`${url} ${width}w`);
  }
  return candidates.join(", ");
}

/** The thumbnail's own encoding (the <img>'s): the extension of links.thumbnails' URLs. */
function ownExtension(image) {
  const any = Object.values(image.links?.thumbnails || {})[0] || "";
  return any.slice(any.lastIndexOf(".") + 1);
}

/**
 * Wrap `img` (already made, with its src, width/height, classes and handlers) in a <picture> whose sources
 * offer the companion encodings; `sizes` is the CSS width the image is shown at. Returns `img` itself when the
 * image has no companions to offer.
 */
export function picture(image, img, sizes) {
  const own = ownExtension(image);
  const sources = [];
  for (const companion of THUMBNAIL_COMPANIONS) {
    if (companion.extension === own) continue; // the <img> below already is this type
    const srcset = srcsetFor(image, companion.extension);
    if (srcset) sources.push(el("source", { type: companion.mime_type, srcset, sizes }));
  }
  const fallback = srcsetFor(image, own);
  if (!sources.length && !fallback) return img;
  if (fallback) {
    img.srcset = fallback;
    img.sizes = sizes;
  }
  // A failed load replaces the <img> with a placeholder (ui.js thumbnail()); the <picture> goes with it.
  const wrapper = el("picture", { class: "picture" }, ...sources);
  wrapper.append(img);
  return wrapper;
}
