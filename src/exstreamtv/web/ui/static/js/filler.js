import { api, button, clearErrors, el, enumOf, field, labelCells, pageReady, requireText, showErrors, toast, words } from "./api.js";

// Filler presets: the list, and one form that adds or edits a preset with the fields its
// kind uses (count for pre/mid/post-roll breaks, where mid-roll breaks go, how long a tail
// lasts).
const form = document.getElementById("preset-form");
const table = document.getElementById("presets");
const HINTS = {
  pre_roll: "Plays before each programme.", mid_roll: "Plays inside programmes.",
  post_roll: "Plays after each programme.", tail: "Pads after a programme, to a clock boundary or for a set time.",
  fallback: "Fills any gap, and stands in when a source is unavailable.",
};
const byId = (id) => document.getElementById(id);
const radio = (name) => form.querySelector(`input[name="${name}"]:checked`).value;
let collections = [];
let sources = []; // [{collection_id, weight}]
let editing = null;

function kindName(kind) { return words(kind).replace(" roll", "-roll"); }

function renderSources() {
  byId("sources").replaceChildren(...sources.map((source, index) => {
    const select = el("select", { "aria-label": `Collection ${index + 1}` },
      collections.map((c) => el("option", { value: c.id }, c.name)));
    select.value = source.collection_id;
    select.addEventListener("change", () => { source.collection_id = Number(select.value); });
    const weight = el("input", { type: "number", min: 1, max: 1000, value: source.weight, "aria-label": `Weight of collection ${index + 1}`, style: { width: "6rem" } });
    weight.addEventListener("input", () => { source.weight = Number(weight.value) || 1; });
    return el("li", {}, el("span", { class: "grow" }, select), el("label", {}, "Weight ", weight),
      button("Remove", () => { sources.splice(index, 1); renderSources(); }, { label: `Remove collection ${index + 1}`, kind: "danger" }));
  }));
  if (!sources.length) byId("sources").append(el("li", {}, collections.length ? "None yet." : "There are no collections yet: scan a library first."));
}

function showKind() {
  const kind = field(form, "kind").value;
  byId("kind-hint").textContent = HINTS[kind] || "";
  byId("count-field").hidden = !["pre_roll", "mid_roll", "post_roll"].includes(kind);
  byId("mid-roll").hidden = kind !== "mid_roll";
  byId("tail").hidden = kind !== "tail";
  byId("mid-every").hidden = radio("mid") !== "every";
  byId("tail-boundary").hidden = radio("tail") !== "boundary";
  byId("tail-fixed").hidden = radio("tail") !== "fixed";
}

function fill(preset) {
  editing = preset ? preset.id : null;
  clearErrors(form);
  byId("preset-h").textContent = preset ? `Edit ${preset.name}` : "New filler preset";
  byId("save").textContent = preset ? "Save preset" : "Add preset";
  field(form, "name").value = preset?.name || "";
  field(form, "kind").value = preset?.kind || "pre_roll";
  field(form, "count").value = preset?.count ?? 1;
  field(form, "cooldown_minutes").value = preset?.cooldown_minutes ?? 0;
  form.querySelector(`input[name="mid"][value="${preset?.mid_roll_every_minutes ? "every" : "chapters"}"]`).checked = true;
  field(form, "mid_roll_every_minutes").value = preset?.mid_roll_every_minutes ?? 10;
  const fixed = preset && preset.kind === "tail" && preset.tail_boundary_minutes === null;
  form.querySelector(`input[name="tail"][value="${fixed ? "fixed" : "boundary"}"]`).checked = true;
  field(form, "tail_boundary_minutes").value = preset?.tail_boundary_minutes ?? 30;
  field(form, "tail_fixed_seconds").value = preset?.tail_fixed_seconds ?? 60;
  sources = preset ? preset.collections.map((c) => ({ ...c })) : (collections.length ? [{ collection_id: collections[0].id, weight: 1 }] : []);
  renderSources();
  showKind();
}

function body() {
  const kind = field(form, "kind").value;
  const int = (name) => Number.parseInt(field(form, name).value, 10);
  const tail = kind === "tail" ? radio("tail") : "boundary";
  return {
    name: field(form, "name").value.trim(), kind, collections: sources,
    count: byId("count-field").hidden ? 1 : int("count"), cooldown_minutes: int("cooldown_minutes") || 0,
    mid_roll_every_minutes: kind === "mid_roll" && radio("mid") === "every" ? int("mid_roll_every_minutes") : null,
    tail_boundary_minutes: tail === "boundary" ? int("tail_boundary_minutes") : null,
    tail_fixed_seconds: tail === "fixed" ? int("tail_fixed_seconds") : null,
  };
}

async function load() {
  const presets = await api("/api/filler-presets");
  const names = new Map(collections.map((c) => [c.id, c.name]));
  table.tBodies[0].replaceChildren(...(presets.length ? presets.map((p) => {
    const settings = [
      p.count > 1 ? `${p.count} per break` : null,
      p.kind === "mid_roll" ? (p.mid_roll_every_minutes ? `every ${p.mid_roll_every_minutes} min` : "at chapters") : null,
      p.kind === "tail" ? (p.tail_boundary_minutes ? `to every ${p.tail_boundary_minutes} min` : `${p.tail_fixed_seconds} s`) : null,
      p.cooldown_minutes ? `no repeat within ${p.cooldown_minutes} min` : null,
    ].filter(Boolean).join(", ") || "—";
    const remove = button("Delete", async () => {
      if (!confirm(`Delete filler preset ${p.name}?`)) return;
      try { await api(`/api/filler-presets/${p.id}`, { method: "DELETE" }); toast("Preset deleted"); load(); } catch (error) { toast(error.message); }
    }, { label: `Delete preset ${p.name}`, kind: "danger" });
    return el("tr", {},
      el("td", {}, p.name), el("td", {}, kindName(p.kind)),
      el("td", {}, p.collections.map((c) => `${names.get(c.collection_id) || `#${c.collection_id}`}${c.weight > 1 ? ` ×${c.weight}` : ""}`).join(", ")),
      el("td", {}, settings),
      el("td", { class: "actions" }, button("Edit", () => { fill(p); field(form, "name").focus(); }, { label: `Edit preset ${p.name}` }), remove));
  }) : [el("tr", {}, el("td", { colspan: 5 }, "No filler presets yet."))]));
  labelCells(table);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  if (!requireText(form, "name", "Enter a name.")) return;
  try {
    const saved = editing
      ? await api(`/api/filler-presets/${editing}`, { method: "PUT", body: body() })
      : await api("/api/filler-presets", { method: "POST", body: body() });
    toast(`Preset ${saved.name} saved`);
    fill(null);
    await load();
  } catch (error) {
    if (error.status === 409 && !error.problem.errors) error.problem.errors = [{ loc: "body.name", message: error.message }];
    showErrors(form, error, { collections: "add-source" });
  }
});
byId("add-source").addEventListener("click", () => {
  if (!collections.length) return;
  sources.push({ collection_id: collections[0].id, weight: 1 });
  renderSources();
});
byId("reset").addEventListener("click", () => fill(null));
field(form, "kind").addEventListener("change", showKind);
for (const input of form.querySelectorAll('input[name="mid"], input[name="tail"]')) input.addEventListener("change", showKind);

async function init() {
  const [found, kinds] = await Promise.all([api("/api/collections"), enumOf("FillerKind", ["pre_roll", "mid_roll", "post_roll", "tail", "fallback"])]);
  collections = found;
  field(form, "kind").replaceChildren(...kinds.map((k) => el("option", { value: k }, kindName(k))));
  // Defaults for a new preset, leaving alone whatever was typed while the page loaded.
  if (!sources.length && collections.length) sources = [{ collection_id: collections[0].id, weight: 1 }];
  renderSources();
  showKind();
  await load();
}
init().catch((error) => toast(error.message)).finally(pageReady);
