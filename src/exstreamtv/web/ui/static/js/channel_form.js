import { api, clearErrors, el, field, hasPath, pageReady, showErrors, toast } from "./api.js";

// The channel form. Editing sends every field the form holds (a PATCH of all of them), so a
// setting the form shows is never dropped by a save.
const form = document.getElementById("channel-form");
const original = document.querySelector("main").dataset.number;
const MAX_UPLOAD = 1024 * 1024;
const ALIASES = {
  logo: "logo-file", watermark: "wm-on", "watermark.image": "wm-file", "watermark.size_percent": "wm-size",
  "watermark.opacity": "wm-opacity", "watermark.margin_x_percent": "wm-mx", "watermark.margin_y_percent": "wm-my",
  "watermark.every_minutes": "wm-every", "watermark.for_seconds": "wm-for",
};
let loaded = null; // the channel as the server sent it (edit only)

const byId = (id) => document.getElementById(id);
const radio = (name) => form.querySelector(`input[name="${name}"]:checked`).value;
const numberOrNull = (id) => (byId(id).value.trim() === "" ? null : Number(byId(id).value));

async function options() {
  const schedules = await api("/api/schedules");
  field(form, "schedule_id").append(...schedules.map((s) => el("option", { value: s.id }, s.name)));
  if (await hasPath("/api/stream-profiles")) {
    const profiles = await api("/api/stream-profiles");
    field(form, "stream_profile_id").append(...profiles.map((p) => el("option", { value: p.id }, `${p.name} (${p.mode}, ${p.width}×${p.height})`)));
  }
}

// What an image value looks like on this page: uploads come back through /api/logos.
function imageUrl(value) {
  if (!value) return null;
  if (value.includes("://")) return null; // another site's picture: not loaded from here (CSP)
  return `/api/logos?value=${encodeURIComponent(value)}`;
}

// The picture guides show for the channel: its uploaded logo, or the generated tile of a
// saved channel without one (none for a logo elsewhere, or one removed but not yet saved).
function logoUrl() {
  const value = field(form, "logo").value;
  if (value) return imageUrl(value);
  if (original && !loaded?.logo) return `/iptv/logos/${encodeURIComponent(original)}.png`;
  return null;
}

function showLogo() {
  const value = field(form, "logo").value;
  const preview = byId("logo-preview");
  const url = logoUrl();
  preview.hidden = !url;
  if (url) preview.src = url;
  byId("logo-state").textContent = value
    ? (url ? "The channel's own logo." : `Logo from ${value} (shown by players, not here).`)
    : "No logo of its own: guides show a tile with the channel number.";
  byId("logo-remove").hidden = !value;
  showWatermark();
}

function showWatermark() {
  const on = byId("wm-on").checked;
  byId("wm-fields").hidden = !on;
  const own = radio("wm-image") === "own";
  byId("wm-upload").hidden = !own;
  byId("wm-timing").hidden = radio("wm-mode") !== "intermittent";
  const image = byId("wm-preview");
  const url = own ? imageUrl(byId("wm-image-value").value) : logoUrl();
  image.hidden = !url;
  if (url && image.getAttribute("src") !== url) image.src = url;
  // Placed as the stream places it: width as a share of the picture, margins from the corner.
  const corner = byId("wm-corner").value;
  const size = numberOrNull("wm-size");
  const mx = numberOrNull("wm-mx") ?? (100 / 36) * (9 / 16);
  const my = numberOrNull("wm-my") ?? 100 / 36;
  Object.assign(image.style, {
    width: size ? `${size}%` : "12%", opacity: String((numberOrNull("wm-opacity") ?? 100) / 100),
    left: corner.endsWith("left") ? `${mx}%` : "auto", right: corner.endsWith("right") ? `${mx}%` : "auto",
    top: corner.startsWith("top") ? `${my}%` : "auto", bottom: corner.startsWith("bottom") ? `${my}%` : "auto",
  });
}

async function upload(input, slotId, onDone) {
  const file = input.files[0];
  const slot = byId(slotId);
  slot.textContent = "";
  input.removeAttribute("aria-invalid");
  if (!file) return;
  if (file.size > MAX_UPLOAD || file.type !== "image/png") {
    slot.textContent = "Choose a PNG image of at most 1 MiB.";
    input.setAttribute("aria-invalid", "true");
    return;
  }
  const data = new FormData();
  data.append("file", file);
  try { onDone((await api("/api/logos", { method: "POST", form: data })).logo); toast("Image uploaded"); }
  catch (error) { slot.textContent = error.message; input.setAttribute("aria-invalid", "true"); }
}

function fillWatermark(mark) {
  byId("wm-on").checked = Boolean(mark);
  if (!mark) return;
  form.querySelector(`input[name="wm-image"][value="${mark.image ? "own" : "logo"}"]`).checked = true;
  byId("wm-image-value").value = mark.image || "";
  byId("wm-corner").value = mark.corner;
  byId("wm-size").value = mark.size_percent ?? "";
  byId("wm-opacity").value = Math.round(mark.opacity * 100);
  byId("wm-mx").value = mark.margin_x_percent ?? "";
  byId("wm-my").value = mark.margin_y_percent ?? "";
  form.querySelector(`input[name="wm-mode"][value="${mark.mode}"]`).checked = true;
  if (mark.mode === "intermittent") { byId("wm-every").value = mark.every_minutes; byId("wm-for").value = mark.for_seconds; }
}

async function fill() {
  if (!original) { showLogo(); return; }
  const c = await api(`/api/channels/${encodeURIComponent(original)}`);
  loaded = c;
  field(form, "number").value = c.number;
  field(form, "name").value = c.name;
  field(form, "group").value = c.group || "";
  field(form, "logo").value = c.logo || "";
  field(form, "enabled").checked = c.enabled;
  field(form, "schedule_id").value = c.schedule_id ?? "";
  if (c.stream_profile_id !== null) {
    const select = field(form, "stream_profile_id");
    if (![...select.options].some((o) => o.value === String(c.stream_profile_id))) select.append(el("option", { value: c.stream_profile_id }, `Profile ${c.stream_profile_id}`));
    select.value = c.stream_profile_id;
  }
  fillWatermark(c.watermark);
  document.querySelector("h1").textContent = `Edit channel ${c.number} · ${c.name}`;
  showLogo();
}

function watermark() {
  if (!byId("wm-on").checked) return null;
  const intermittent = radio("wm-mode") === "intermittent";
  return {
    corner: byId("wm-corner").value,
    opacity: (numberOrNull("wm-opacity") ?? 100) / 100,
    image: radio("wm-image") === "own" ? byId("wm-image-value").value || null : null,
    size_percent: numberOrNull("wm-size"),
    margin_x_percent: numberOrNull("wm-mx"),
    margin_y_percent: numberOrNull("wm-my"),
    mode: intermittent ? "intermittent" : "always",
    every_minutes: intermittent ? numberOrNull("wm-every") : null,
    for_seconds: intermittent ? numberOrNull("wm-for") : null,
  };
}

function localCheck() {
  clearErrors(form);
  const problems = [];
  for (const name of ["number", "name"]) {
    const input = field(form, name);
    if (!input.checkValidity() || !input.value.trim()) problems.push([input, name === "number" ? "Enter a number like 5 or 5.1." : "Enter a name."]);
  }
  if (byId("wm-on").checked && radio("wm-image") === "own" && !byId("wm-image-value").value) {
    problems.push([byId("wm-file"), "Upload the watermark's image, or use the channel's logo."]);
  }
  for (const [input, message] of problems) {
    byId(`${input.id}-error`).textContent = message;
    input.setAttribute("aria-invalid", "true");
  }
  problems[0]?.[0].focus();
  return problems.length === 0;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!localCheck()) return;
  const body = {
    number: field(form, "number").value.trim(),
    name: field(form, "name").value,
    group: field(form, "group").value.trim() || null,
    logo: field(form, "logo").value || null,
    enabled: field(form, "enabled").checked,
    stream_profile_id: field(form, "stream_profile_id").value ? Number(field(form, "stream_profile_id").value) : null,
    watermark: watermark(),
  };
  const scheduleId = field(form, "schedule_id").value ? Number(field(form, "schedule_id").value) : null;
  try {
    const saved = loaded
      ? await api(`/api/channels/${encodeURIComponent(original)}`, { method: "PATCH", body })
      : await api("/api/channels", { method: "POST", body });
    if (saved.schedule_id !== scheduleId) {
      await api(`/api/channels/${encodeURIComponent(saved.number)}/schedule`, { method: "PUT", body: { schedule_id: scheduleId } });
    }
    location.assign("/channels");
  } catch (error) {
    if (error.status === 409) { // the number is taken: say so at the number
      error.problem.errors = [{ loc: "body.number", message: error.message }];
    }
    showErrors(form, error, ALIASES);
  }
});

byId("logo-file").addEventListener("change", (event) => upload(event.target, "logo-error", (value) => { field(form, "logo").value = value; showLogo(); }));
byId("wm-file").addEventListener("change", (event) => upload(event.target, "wm-file-error", (value) => { byId("wm-image-value").value = value; showWatermark(); }));
byId("logo-remove").addEventListener("click", () => { field(form, "logo").value = ""; byId("logo-file").value = ""; showLogo(); toast("The logo will be removed when you save"); });
for (const id of ["wm-on", "wm-corner", "wm-size", "wm-opacity", "wm-mx", "wm-my"]) byId(id).addEventListener("input", showWatermark);
for (const input of form.querySelectorAll('input[name="wm-image"], input[name="wm-mode"]')) input.addEventListener("change", showWatermark);

options().then(fill).catch((error) => toast(error.message)).finally(pageReady);
