/**
 * Image visibility in words, and the owner's switch (a <select> that saves on change and says what happened).
 * Shared by the image page and "My images".
 */

import { setVisibility } from "./api.js";
import { DEFAULT_VISIBILITY, VISIBILITIES } from "./facts.js";
import { el, errorText } from "./ui.js";

// The words for the visibilities /config.js lists (which ones exist is the server's fact, not this file's).
// One the server adds before this file learns its words still works: its name and the catalog's description.
const WORDS = {
  public: ["Public", "listed in the gallery"],
  unlisted: ["Unlisted", "only people with the link"],
  private: ["Private", "only you"],
};

function words(name) {
  const known = VISIBILITIES.find((visibility) => visibility.name === name);
  const fallback = [name.charAt(0).toUpperCase() + name.slice(1), known?.description || ""];
  return WORDS[name] || fallback;
}

export function visibilityLabel(name) {
  return words(name)[0];
}

export function visibilityText(visibility) {
  if (!visibility) return "unknown";
  const [label, description] = words(visibility);
  return description ? `${label} — ${description}` : label;
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
    VISIBILITIES.map(({ name }) => el("option", { value: name }, visibilityLabel(name))),
  );
  select.value = image.visibility || DEFAULT_VISIBILITY;
  let current = select.value;
  select.addEventListener("change", async () => {
    const wanted = select.value;
    select.disabled = true;
    status.textContent = "Saving…";
    try {
      const updated = await setVisibility(image.id, wanted);
      current = updated?.visibility || wanted;
      select.value = current;
      status.textContent = `Now ${visibilityLabel(current).toLowerCase()}.`;
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
