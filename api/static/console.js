// Progressive touches: the pages work without this file.
document.addEventListener("DOMContentLoaded", () => {
  // On the review board: a "select every preview shown" box beside "Approve selected".
  const bulk = document.getElementById("bulk");
  if (bulk) {
    const boxes = document.querySelectorAll('input[type=checkbox][form="bulk"]');
    if (boxes.length) {
      const label = document.createElement("label");
      label.className = "select";
      const all = document.createElement("input");
      all.type = "checkbox";
      all.addEventListener("change", () => boxes.forEach((b) => { b.checked = all.checked; }));
      label.append(all, " Select all awaiting");
      bulk.insertBefore(label, bulk.querySelector("button"));
    }
  }
  // Filters apply as soon as a choice changes.
  document.querySelectorAll("form.filters select").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
  document.querySelectorAll("form[data-progress]").forEach(uploadWithProgress);
  const card = document.getElementById("endcard");
  if (card) brandPreview(card, document.getElementById("kit-form"));
});

// Catalog upload: the same POST, sent by XHR so that a progress bar can show the bytes
// going up; then the browser goes where the server sent it (the report), or shows the
// page it answered with (a file that is not a catalog, say).
function uploadWithProgress(form) {
  const box = document.getElementById(form.dataset.progress);
  const bar = box.querySelector("progress");
  const said = box.querySelector("[aria-live]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    box.hidden = false;
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((100 * e.loaded) / e.total);
      bar.value = percent;
      bar.textContent = `${percent}%`;
      said.textContent = percent < 100 ? `${percent}% sent` : "Sent; checking every row…";
    });
    xhr.addEventListener("load", () => {
      if (xhr.status < 400 && xhr.responseURL && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL);
        return;
      }
      const answered = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const main = answered.querySelector("main");
      if (main) {
        document.querySelector("main").replaceWith(main);
        const again = main.querySelector("form[data-progress]");
        if (again) uploadWithProgress(again);
      } else {
        button.disabled = false;
        said.textContent = xhr.status === 413
          ? "This file is larger than this server accepts; nothing was changed. Split it, or ask your account manager to upload it with `adreel catalog upload`."
          : `The upload failed (HTTP ${xhr.status}); nothing was changed. Try again.`;
      }
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      said.textContent = "The connection broke during the upload; nothing was changed. Try again.";
    });
    xhr.open("POST", form.action);
    xhr.send(new FormData(form));
  });
}

// Brand kit: the end card follows the fields as they change (colours, name, call to
// action, a newly chosen logo or font), before anything is saved.
function brandPreview(card, form) {
  const field = (name) => form.elements.namedItem(name);
  const name = card.querySelector(".name");
  const cta = card.querySelector(".cta");
  const logo = card.querySelector(".logo");
  const fallbackName = name.textContent;
  const update = () => {
    const primary = field("primary").value;
    const secondary = field("secondary").value;
    card.style.setProperty("--primary", primary);
    card.style.setProperty("--secondary", secondary);
    card.style.setProperty("--on-primary", textOn(primary));
    card.style.setProperty("--on-secondary", textOn(secondary));
    name.textContent = field("name").value || fallbackName;
    cta.textContent = callToAction(field("call_to_action").value);
    const removeLogo = field("remove_logo");
    logo.hidden = Boolean(removeLogo && removeLogo.checked && !field("logo").files.length);
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  field("logo").addEventListener("change", () => {
    const file = field("logo").files[0];
    if (!file) return;
    const img = document.createElement("img");
    img.alt = "logo";
    img.src = URL.createObjectURL(file);
    logo.replaceChildren(img);
  });
  const useFont = (source) => {
    const face = new FontFace("BrandPreview", source);
    face.load().then((loaded) => {
      document.fonts.add(loaded);
      card.style.setProperty("--brand-font", "BrandPreview");
    }).catch(() => {});
  };
  field("font").addEventListener("change", () => {
    const file = field("font").files[0];
    if (file) file.arrayBuffer().then(useFont);
  });
  if (card.dataset.font) useFont(`url(${card.dataset.font})`);
  update();
}

function callToAction(value) {
  const text = value.trim();
  if (!text.startsWith("{")) return text || "Shop now";
  try {
    const given = JSON.parse(text);
    return given.en || Object.values(given)[0] || "Shop now";
  } catch {
    return "Shop now";
  }
}

// Near black or white, whichever contrasts more with the colour: the composer's rule
// (composer/scene.py `_on`), so the preview's text is the ad's.
function textOn(hex) {
  const linear = (v) => { const c = v / 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const luminance = (rgb) => { const [r, g, b] = rgb.map(linear); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const contrast = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const colour = luminance([0, 1, 2].map((i) => parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16)));
  const dark = luminance([17, 17, 20]);
  const light = luminance([250, 250, 250]);
  return contrast(colour, dark) >= contrast(colour, light) ? "#111114" : "#fafafa";
}
