/**
 * The product's facts, as the server publishes them in the generated /config.js (chalicelib/site_config.py
 * builds it from chalicelib/catalog.py and the settings): the formats this deployment accepts, upload limits,
 * thumbnail sizes, visibilities, password rules, page sizes. Nothing here is a copy; this module only names
 * them for the pages and phrases them. A name /config.js stops exporting fails the page at load, loudly.
 */

export {
  ACCEPT,
  DEFAULT_THUMBNAIL_SIZE,
  DEFAULT_VISIBILITY,
  FORMATS,
  MAX_UPLOAD_BYTES,
  MULTIPART_THRESHOLD_BYTES,
  PAGE_SIZE_MAX,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_CHARS,
  THUMBNAIL_COMPANIONS,
  THUMBNAIL_SIZES,
  UPLOADABLE_TYPES,
  VISIBILITIES,
} from "../config.js";
import { FORMATS, THUMBNAIL_SIZES } from "../config.js";

/** The accepted formats in words, "A, B or C", from their catalog labels. */
export function formatList(conjunction = "or") {
  const labels = FORMATS.map((format) => format.label);
  if (labels.length <= 1) return labels.join("");
  return `${labels.slice(0, -1).join(", ")} ${conjunction} ${labels[labels.length - 1]}`;
}

/** The smallest thumbnail size that fills `cssPixels` (the largest if none does). */
export function thumbnailSizeFor(cssPixels) {
  const sizes = [...THUMBNAIL_SIZES].sort((a, b) => a - b);
  return sizes.find((size) => size >= cssPixels) ?? sizes[sizes.length - 1];
}
