import { api, clearErrors, el, field, hasPath, showErrors, toast } from "./api.js";

const form = document.getElementById("channel-form");
const original = document.querySelector("main").dataset.number;

async function options() {
  const schedules = await api("/api/schedules");
  field(form, "schedule_id").append(...schedules.map((s) => el("option", { value: s.id }, s.name)));
  if (await hasPath("/api/stream-profiles")) {
    const profiles = await api("/api/stream-profiles");
    field(form, "stream_profile_id").append(...profiles.map((p) => el("option", { value: p.id }, p.name)));
  }
}

async function fill() {
  if (!original) return;
  const c = await api(`/api/channels/${encodeURIComponent(original)}`);
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
}

document.getElementById("logo-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  const slot = document.getElementById("logo-error");
  slot.textContent = "";
  event.target.removeAttribute("aria-invalid");
  if (!file) return;
  if (file.size > 1024 * 1024 || file.type !== "image/png") {
    slot.textContent = "Choose a PNG image of at most 1 MiB.";
    event.target.setAttribute("aria-invalid", "true");
    return;
  }
  const data = new FormData();
  data.append("file", file);
  try { field(form, "logo").value = (await api("/api/logos", { method: "POST", form: data })).logo; toast("Logo uploaded"); }
  catch (error) { slot.textContent = error.message; event.target.setAttribute("aria-invalid", "true"); }
});

function localCheck() {
  clearErrors(form);
  let first = null;
  for (const name of ["number", "name"]) {
    const input = field(form, name);
    if (!input.checkValidity() || !input.value.trim()) {
      document.getElementById(`${name}-error`).textContent = name === "number" ? "Enter a number like 5 or 5.1." : "Enter a name.";
      input.setAttribute("aria-invalid", "true");
      first ??= input;
    }
  }
  first?.focus();
  return first === null;
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
  };
  const scheduleId = field(form, "schedule_id").value ? Number(field(form, "schedule_id").value) : null;
  try {
    const saved = original
      ? await api(`/api/channels/${encodeURIComponent(original)}`, { method: "PUT", body })
      : await api("/api/channels", { method: "POST", body });
    if (saved.schedule_id !== scheduleId) {
      await api(`/api/channels/${encodeURIComponent(saved.number)}/schedule`, { method: "PUT", body: { schedule_id: scheduleId } });
    }
    location.assign("/channels");
  } catch (error) {
    if (error.status === 409) { // the number is taken: say so at the number
      error.problem.errors = [{ loc: "body.number", message: error.message }];
    }
    showErrors(form, error, { logo: "logo-file" });
  }
});

Promise.all([options()]).then(fill).catch((error) => toast(error.message));
