/**
 * BlurHash placeholders: decode the API's `blurhash` (Wolt's format, docs/adr/0014) into a few pixels, paint them
 * on a canvas and show the result as the image element's background until the rendition has loaded.
 *
 * Runs under the site's CSP: no inline script; the background is a `data:` URL (img-src allows data:) set through
 * the CSSOM (`element.style`), which style-src 'self' permits. Images without a blurhash (older records) keep the
 * stylesheet's placeholder colour.
 */

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

function base83(text) {
  let value = 0;
  for (const char of text) {
    const digit = DIGITS.indexOf(char);
    if (digit < 0) throw new Error("not a BlurHash");
    value = value * 83 + digit;
  }
  return value;
}

function toLinear(value) {
  const v = value / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function toSrgb(value) {
  const v = Math.max(0, Math.min(1, value));
  return Math.trunc(v <= 0.0031308 ? v * 12.92 * 255 + 0.5 : (1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5);
}

function signPow(value, exp) {
  return Math.sign(value) * Math.abs(value) ** exp;
}

/** RGBA pixels (width x height) of a BlurHash; throws on a malformed hash. */
export function decode(hash, width, height, punch = 1) {
  if (typeof hash !== "string" || hash.length < 6) throw new Error("not a BlurHash");
  const flag = base83(hash[0]);
  const nx = (flag % 9) + 1;
  const ny = Math.floor(flag / 9) + 1;
  if (hash.length !== 4 + 2 * nx * ny) throw new Error("not a BlurHash");
  const maxAc = ((base83(hash[1]) + 1) / 166) * punch;
  const colours = [];
  const dc = base83(hash.slice(2, 6));
  colours.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
  for (let i = 1; i < nx * ny; i++) {
    const ac = base83(hash.slice(4 + i * 2, 6 + i * 2));
    colours.push([
      signPow((Math.floor(ac / 361) - 9) / 9, 2) * maxAc,
      signPow(((Math.floor(ac / 19) % 19) - 9) / 9, 2) * maxAc,
      signPow(((ac % 19) - 9) / 9, 2) * maxAc,
    ]);
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const [cr, cg, cb] = colours[i + j * nx];
          r += cr * basis;
          g += cg * basis;
          b += cb * basis;
        }
      }
      const at = 4 * (x + y * width);
      pixels[at] = toSrgb(r);
      pixels[at + 1] = toSrgb(g);
      pixels[at + 2] = toSrgb(b);
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

/** A data: URL of the placeholder (32 px on the long side: the browser scales it up smoothly), or null. */
export function placeholderUrl(hash, width, height) {
  if (!hash) return null;
  const ratio = width && height ? width / height : 1;
  const w = ratio >= 1 ? 32 : Math.max(1, Math.round(32 * ratio));
  const h = ratio >= 1 ? Math.max(1, Math.round(32 / ratio)) : 32;
  try {
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const context = canvas.getContext("2d");
    context.putImageData(new ImageData(decode(hash, w, h), w, h), 0, 0);
    return canvas.toDataURL(); // PNG, the default
  } catch {
    return null; // a malformed hash or no canvas: the placeholder colour stays
  }
}

/**
 * Paint `image`'s BlurHash behind `img` until it loads; marks it `data-placeholder="blurhash"` meanwhile.
 * `sized`: the element's CSS size is auto (the image page's preview), so give it the image's shape until then,
 * whether or not there is a BlurHash to paint.
 */
export function withPlaceholder(img, image, { sized = false } = {}) {
  if (img.complete) return img;
  const url = placeholderUrl(image?.blurhash, image?.width, image?.height);
  // The shape is reserved with or without a BlurHash (older images have none): no layout shift either way.
  const shaped = Boolean(sized && image?.width && image?.height);
  if (!url && !shaped) return img;
  if (url) {
    img.style.backgroundImage = `url("${url}")`;
    img.style.backgroundSize = "cover";
    img.dataset.placeholder = "blurhash";
  }
  if (shaped) {
    img.style.width = `min(100%, ${image.width}px)`;
    img.style.aspectRatio = `${image.width} / ${image.height}`;
  }
  img.addEventListener(
    "load",
    () => {
      for (const property of ["backgroundImage", "backgroundSize", "width", "aspectRatio"]) img.style[property] = "";
      delete img.dataset.placeholder;
    },
    { once: true },
  );
  return img;
}
