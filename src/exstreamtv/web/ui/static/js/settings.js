import { api, clearErrors, el, hasPath, pageReady, showErrors, toast } from "./api.js";

// The editable fields of a stream profile: [name, label, kind, choices or input attributes].
const FIELDS = [
  ["name", "Name", "text", { maxlength: 100, required: true }],
  ["mode", "Mode", "select", ["transcode", "copy"]],
  ["video_encoder", "Video encoder", "select", ["libx264", "h264_nvenc", "h264_qsv", "h264_vaapi"]],
  ["width", "Width (even)", "int", { min: 16, max: 7680, step: 2 }],
  ["height", "Height (even)", "int", { min: 16, max: 4320, step: 2 }],
  ["fps", "Frames per second", "float", { min: 1, max: 120, step: "any" }],
  ["video_bitrate_kbps", "Video bitrate (kbit/s)", "int", { min: 1 }],
  ["gop_seconds", "Keyframe interval (s)", "int", { min: 1 }],
  ["preset", "Encoder preset", "text", { maxlength: 16 }],
  ["audio_codec", "Audio codec", "select", ["aac", "ac3"]],
  ["audio_bitrate_kbps", "Audio bitrate (kbit/s)", "int", { min: 1 }],
  ["audio_channels", "Audio channels", "select", ["2", "1"]],
  ["sample_rate", "Sample rate (Hz)", "select", ["48000", "44100", "32000"]],
  ["loudnorm", "Normalise loudness", "bool", {}],
];
let editing = null; // the id of the profile in the form, or null for a new one

function control([name, label, kind, extra]) {
  const id = `profile-${name}`;
  const describedby = `${id}-error`;
  if (kind === "bool") {
    return el("div", { class: "field check" }, el("input", { id, name, type: "checkbox" }), el("label", { for: id }, label),
      el("small", { id: describedby, class: "error", "aria-live": "polite" }));
  }
  const input = kind === "select"
    ? el("select", { id, name, "aria-describedby": describedby }, extra.map((v) => el("option", { value: v }, v)))
    : el("input", { id, name, type: kind === "text" ? "text" : "number", "aria-describedby": describedby, ...extra });
  return el("div", { class: "field" }, el("label", { for: id }, label), input, el("small", { id: describedby, class: "error", "aria-live": "polite" }));
}

function read(form) {
  const body = {};
  for (const [name, , kind] of FIELDS) {
    const input = form.elements.namedItem(name);
    if (kind === "bool") body[name] = input.checked;
    else if (kind === "int" || ["audio_channels", "sample_rate"].includes(name)) body[name] = Number.parseInt(input.value, 10);
    else if (kind === "float") body[name] = Number(input.value);
    else body[name] = input.value;
  }
  return body;
}

function fill(form, profile) {
  editing = profile ? profile.id : null;
  for (const [name, , kind] of FIELDS) {
    const input = form.elements.namedItem(name);
    if (kind === "bool") input.checked = profile ? profile[name] : false;
    else input.value = profile ? String(profile[name]) : input.value;
  }
  if (!profile) form.elements.namedItem("name").value = "";
  form.querySelector("button[type=submit]").textContent = profile ? `Save ${profile.name}` : "Add profile";
  clearErrors(form);
}

function editor(reload) {
  const form = el("form", { id: "profile-form", novalidate: true, "aria-labelledby": "profile-form-h" },
    el("h3", { id: "profile-form-h" }, "Profile"), el("p", { class: "error form-error", role: "alert", hidden: true }),
    el("div", { class: "row" }, FIELDS.map(control)),
    el("button", { type: "submit" }, "Add profile"),
    el("button", { type: "button", class: "secondary", onclick: () => fill(form, null) }, "New profile"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = read(form);
      if (editing) await api(`/api/stream-profiles/${editing}`, { method: "PUT", body });
      else await api("/api/stream-profiles", { method: "POST", body });
      toast("Profile saved");
      fill(form, null);
      reload();
    } catch (error) { showErrors(form, error); }
  });
  return form;
}

async function profiles() {
  const box = document.getElementById("profiles");
  if (!(await hasPath("/api/stream-profiles"))) {
    box.replaceChildren(el("p", {}, "Every channel uses the built-in profile (H.264 and AAC); this server has no profile editor."));
    return;
  }
  let form;
  const reload = async () => {
    const found = await api("/api/stream-profiles");
    const list = el("ul", { class: "cards" }, found.map((p) => {
      const edit = el("button", { type: "button", class: "secondary", "aria-label": `Edit profile ${p.name}` }, "Edit");
      edit.addEventListener("click", () => { fill(form, p); form.elements.namedItem("name").focus(); });
      const remove = p.default ? null : el("button", { type: "button", class: "danger", "aria-label": `Delete profile ${p.name}` }, "Delete");
      remove?.addEventListener("click", async () => {
        if (!confirm(`Delete profile ${p.name}?`)) return;
        try { await api(`/api/stream-profiles/${p.id}`, { method: "DELETE" }); reload(); } catch (error) { toast(error.message); }
      });
      return el("li", {}, el("h3", {}, p.name, p.default ? " (default)" : ""),
        el("p", { class: "hint" }, `${p.mode}, ${p.video_encoder} ${p.width}×${p.height} at ${p.fps} fps, ${p.video_bitrate_kbps} kbit/s; ${p.audio_codec} ${p.audio_channels} ch ${p.sample_rate} Hz${p.loudnorm ? ", loudness normalised" : ""}`),
        edit, remove);
    }));
    box.replaceChildren(list, form);
  };
  form = editor(reload);
  fill(form, null);
  // The form gets the default profile's values before it is shown, so nothing typed is lost.
  const defaults = (await api("/api/stream-profiles")).find((p) => p.default);
  if (defaults) for (const [name, , kind] of FIELDS) if (name !== "name" && kind !== "bool") form.elements.namedItem(name).value = String(defaults[name]);
  await reload();
  if (await hasPath("/api/stream-profiles/capabilities")) {
    const caps = await api("/api/stream-profiles/capabilities");
    document.getElementById("encoders").replaceChildren(el("h3", {}, "Encoders on this machine"),
      el("ul", {}, caps.encoders.map((e) => el("li", {}, `${e.encoder}: `, el("span", { class: `badge ${e.usable ? "ok" : "warn"}` }, e.usable ? "usable" : "not usable"), e.reason ? ` ${e.reason}` : ""))));
  }
}
profiles().catch((error) => toast(error.message)).finally(pageReady);
