/**
 * Image visibility in words, and the owner's switch (a <select> that saves on change and says what happened).
 * Shared by the image page and "My images".
 */

import { setVisibility } from "./api.js";
import { el, errorText } from "./ui.js";

export const VISIBILITY_LABELS = { public: "Public", unlisted: "Unlisted", private: "Private" };

export function visibilityText(visibility) {
  return (
    {
      public: "Public — listed in the gallery",
      unlisted: "Unlisted — only people with the link",
      private: "Private — only you",
    }[visibility] ||
    visibility ||
    "unknown"
  );
}

/**
 * A visibility <select> for `image` and its (visually hidden) label. `status` is the live region that reports
 * "Saving…", "Now private." or the server's error; `onSaved(visibility)` runs once the server accepted a change.
 */
export function visibilitySelect(image, { status, label, onSaved = () => {} }) {
  const id = `visibility-${image.id}`;
  const select = el(
    "select",
    { id, name: "visibility", dataset: { imageId: image.id } },
    Object.entries(VISIBILITY_LABELS).map(([value, text]) => el("option", { value }, text)),
  );
  select.value = image.visibility || "public";
  let current = select.value;
  select.addEventListener("change", async () => {
    const wanted = select.value;
    select.disabled = true;
    status.textContent = "Saving…";
    try {
      const updated = await setVisibility(image.id, wanted);
      current = updated?.visibility || wanted;
      select.value = current;
      status.textContent = `Now ${VISIBILITY_LABELS[current].toLowerCase()}.`;
      onSaved(current);
    } catch (error) {
      select.value = current;
      status.textContent = errorText(error);
    } finally {
      select.disabled = false;
    }
  });
  // The label is for assistive technology; each page shows the context visually (a row, a heading).
  return { label: el("label", { for: id, class: "visually-hidden" }, label), select };
}
