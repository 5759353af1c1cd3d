// The import page: upload another program's export, show what was (or would be) created.
import { api, el } from "./api.js";

const form = document.getElementById("import-form");
const status = document.getElementById("import-status");
const report = document.getElementById("import-report");

function list(title, items) {
  if (!items.length) return el("p", {}, `${title}: none`);
  return el("div", {}, el("h3", {}, `${title} (${items.length})`), el("ul", {}, ...items.map((i) => el("li", {}, i))));
}

function show(data) {
  const verb = data.dry_run ? "Would create" : "Created";
  report.replaceChildren(
    list(`${verb} channels`, data.channels),
    list(`${verb} collections`, data.collections),
    list(`${verb} filler presets`, data.presets),
    list(`${verb} schedules`, data.schedules),
    list("Skipped", data.skipped),
    list("Reused", data.reused),
    el("p", {}, `Matched ${data.matched} media item(s); ${data.unmatched.length} not matched.`),
    list("Not matched", data.unmatched.map((u) => `${u.item} (in ${u.where}): ${u.reason}`)),
    list("Notes", [...data.notes, ...data.builds]),
  );
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = new FormData();
  body.set("file", form.elements.file.files[0]);
  body.set("path_map", form.elements.path_map.value);
  body.set("dry_run", form.elements.dry_run.checked ? "true" : "false");
  status.textContent = "Importing…";
  report.replaceChildren();
  try {
    const data = await api(`/api/imports/${form.elements.system.value}`, { method: "POST", form: body });
    status.textContent = `${data.system}: ${data.dry_run ? "dry run, nothing saved" : "done"}.`;
    show(data);
  } catch (error) {
    status.textContent = error.message;
  }
});
