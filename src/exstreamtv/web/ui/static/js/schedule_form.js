import { api, duration, el, entryTitle, field, showErrors, time, toast } from "./api.js";

const form = document.getElementById("schedule-form");
const scheduleId = document.querySelector("main").dataset.schedule;
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const ORDERS = ["season_episode", "chronological", "shuffle", "random", "shuffle_in_order", "rotate"];
let collections = [];
let state = { name: "", kind: "slots", timezone: "UTC", fallback: null, items: [], slots: [], blocks: [], templates: [] };
let counter = 0;

const source = () => ({ collection_ids: collections.length ? [collections[0].id] : [], order: "season_episode" });

function labelled(label, input, hint) {
  const id = `f${++counter}`;
  input.id = id;
  return el("div", { class: "field" }, el("label", { for: id }, label), input, hint ? el("small", {}, hint) : null);
}

function select(values, current, onChange) {
  const node = el("select", {}, values.map(([value, text]) => el("option", { value }, text)));
  node.value = String(current ?? "");
  node.addEventListener("change", () => { onChange(node.value); changed(); });
  return node;
}

function input(attrs, current, onChange) {
  const node = el("input", attrs);
  node.value = current ?? "";
  node.addEventListener("input", () => { onChange(node.value); changed(); });
  return node;
}

function sourceFields(target) {
  return [
    labelled("Collection", select(collections.map((c) => [c.id, c.name]), target.source.collection_ids[0], (v) => { target.source.collection_ids = [Number(v)]; })),
    labelled("Order", select(ORDERS.map((o) => [o, o.replaceAll("_", " ")]), target.source.order, (v) => { target.source.order = v; })),
  ];
}

function removeButton(list, index, what) {
  const button = el("button", { type: "button", class: "danger", "aria-label": `Remove ${what} ${index + 1}` }, "Remove");
  button.addEventListener("click", () => { list.splice(index, 1); render(); changed(); });
  return button;
}

function modeFields(target, modes) {
  return [
    labelled("Play", select(modes.map((m) => [m, m]), target.mode, (v) => { target.mode = v; })),
    labelled("Count", input({ type: "number", min: 1, max: 1000 }, target.count, (v) => { target.count = Number(v) || 1; })),
  ];
}

function itemRow(item, index) {
  return el("div", {}, ...sourceFields(item), ...modeFields(item, ["one", "multiple", "duration", "flood"]),
    labelled("Minutes (duration)", input({ type: "number", min: 1 }, item.duration_minutes, (v) => { item.duration_minutes = v ? Number(v) : null; })),
    labelled("Fixed start", input({ type: "time" }, item.fixed_start, (v) => { item.fixed_start = v || null; })),
    labelled("Guide title", input({ maxlength: 200 }, item.guide_title, (v) => { item.guide_title = v || null; })),
    removeButton(state.items, index, "item"));
}

function dayBoxes(slot) {
  return el("fieldset", { class: "days" }, el("legend", { class: "sr-only" }, "Days"), DAYS.map((day, n) => {
    const box = el("input", { type: "checkbox", value: n });
    box.checked = slot.weekdays.includes(n);
    box.addEventListener("change", () => {
      slot.weekdays = box.checked ? [...slot.weekdays, n].sort() : slot.weekdays.filter((d) => d !== n);
      changed();
    });
    return el("label", {}, box, day);
  }));
}

function slotRow(slot, index) {
  return el("div", {},
    labelled("Starts at", input({ type: "time", required: true }, slot.start, (v) => { slot.start = v; })),
    dayBoxes(slot), ...sourceFields(slot), ...modeFields(slot, ["flood", "one", "multiple"]),
    labelled("Guide title", input({ maxlength: 200 }, slot.guide_title, (v) => { slot.guide_title = v || null; })),
    removeButton(state.slots, index, "slot"));
}

function blockRow(block, index) {
  const entry = block.entries[0];
  return el("div", {},
    labelled("Key", input({ maxlength: 48, pattern: "[A-Za-z0-9_.-]+" }, block.key, (v) => { block.key = v; })),
    labelled("Name", input({ maxlength: 200 }, block.name, (v) => { block.name = v; })),
    labelled("Minutes", input({ type: "number", min: 1 }, block.minutes, (v) => { block.minutes = Number(v) || 1; })),
    ...sourceFields(entry),
    labelled("Items", input({ type: "number", min: 1, max: 1000 }, entry.count, (v) => { entry.count = Number(v) || 1; })),
    removeButton(state.blocks, index, "block"));
}

function placementRow(placement, index, list) {
  return el("div", {},
    labelled("Starts at", input({ type: "time" }, placement.start, (v) => { placement.start = v; })),
    labelled("Block", select(state.blocks.map((b) => [b.key, b.name || b.key]), placement.block_key, (v) => { placement.block_key = v; })),
    removeButton(list, index, "placement"));
}

const minutes = (hhmm) => { const [h, m] = hhmm.split(":").map(Number); return h * 60 + m; };

// The weekly grid of slots: one bar per day, each slot from its start to the next one.
function renderGrid() {
  const names = new Map(collections.map((c, n) => [c.id, [c.name, n]]));
  document.getElementById("slot-grid").replaceChildren(...DAYS.map((day, d) => {
    const today = state.slots.filter((s) => s.start && (!s.weekdays.length || s.weekdays.includes(d)))
      .sort((a, b) => minutes(a.start) - minutes(b.start));
    const spans = today.map((slot, n) => {
      const from = minutes(slot.start), to = n + 1 < today.length ? minutes(today[n + 1].start) : 1440;
      const [name, colour] = names.get(slot.source.collection_ids[0]) || ["?", 0];
      return el("span", { class: `c${colour % 6}`, title: `${slot.start} ${slot.guide_title || name}`,
        style: { left: `${(100 * from) / 1440}%`, width: `${(100 * (to - from)) / 1440}%` } }, slot.guide_title || name);
    });
    return el("div", {}, el("b", {}, day), el("div", { class: "day" }, spans));
  }));
}

function render() {
  for (const kind of ["items", "slots", "blocks"]) document.getElementById(`part-${kind}`).hidden = state.kind !== kind;
  document.getElementById("items").replaceChildren(...state.items.map(itemRow));
  document.getElementById("slots").replaceChildren(...state.slots.map(slotRow));
  document.getElementById("blocks").replaceChildren(...state.blocks.map(blockRow));
  const placements = state.templates[0]?.placements || [];
  document.getElementById("placements").replaceChildren(...placements.map((p, i) => placementRow(p, i, placements)));
}

function body() {
  const out = { ...state, name: state.name.trim() || "Preview" };
  for (const kind of ["items", "slots", "blocks", "templates"]) if (!(kind === state.kind || (state.kind === "blocks" && kind === "templates"))) out[kind] = [];
  if (out.templates.length) out.templates = out.templates.filter((t) => t.placements.length);
  return out;
}

function ready(b) {
  const sources = [...b.items.map((i) => i.source), ...b.slots.map((s) => s.source), ...b.blocks.flatMap((k) => k.entries.map((e) => e.source))];
  if (sources.some((s) => !s.collection_ids.length)) return "Choose a collection for every row.";
  if (b.kind === "slots" && (!b.slots.length || b.slots.some((s) => !s.start))) return "Add a slot with a start time.";
  if (b.kind === "items" && !b.items.length) return "Add an item.";
  if (b.kind === "items" && b.items.some((i) => i.mode === "duration" && !i.duration_minutes)) return "A duration item needs minutes.";
  if (b.kind === "blocks" && (!b.blocks.length || !b.templates.length || b.blocks.some((k) => !/^[A-Za-z0-9_.-]+$/.test(k.key)))) return "Add a block with a key, and a placement.";
  return null;
}

let timer;
function changed() {
  renderGrid();
  document.getElementById("json").value = JSON.stringify(state, null, 2);
  clearTimeout(timer);
  timer = setTimeout(preview, 500);
}

async function preview() {
  const b = body();
  const problem = ready(b);
  const status = document.getElementById("preview-status");
  if (problem) { status.textContent = problem; return; }
  status.textContent = "Building the preview…";
  try {
    const result = await api("/api/schedules/preview?hours=24", { method: "POST", body: b });
    const first = result.entries.length ? Date.parse(result.entries[0].start) : Date.now();
    const span = 24 * 3_600_000;
    document.getElementById("timeline").replaceChildren(...result.entries.map((e) => el("span", {
      class: e.kind, title: entryTitle(e),
      style: { left: `${(100 * (Date.parse(e.start) - first)) / span}%`, width: `${(100 * (Date.parse(e.finish) - Date.parse(e.start))) / span}%` },
    })));
    document.getElementById("preview-warnings").replaceChildren(...result.warnings.map((w) => el("li", {}, w.message)));
    const shown = result.entries.slice(0, 200);
    document.getElementById("preview").replaceChildren(...shown.map((e) => el("li", {}, `${time(e.start)} ${entryTitle(e)} (${duration(Date.parse(e.finish) - Date.parse(e.start))})`)));
    status.textContent = `${result.entries.length} entries in the next 24 hours${result.entries.length > shown.length ? ` (first ${shown.length} listed)` : ""}; ${result.warnings.length} warning(s).`;
  } catch (error) {
    status.textContent = `No preview: ${error.message}`;
  }
}

function add(list, make) { list.push(make()); render(); changed(); }
document.getElementById("add-item").addEventListener("click", () => add(state.items, () => ({ source: source(), mode: "one", count: 1, duration_minutes: null, fixed_start: null, guide_title: null })));
document.getElementById("add-slot").addEventListener("click", () => add(state.slots, () => ({ start: state.slots.length ? "" : "00:00", weekdays: [], source: source(), mode: "flood", count: 1, guide_title: null })));
document.getElementById("add-block").addEventListener("click", () => add(state.blocks, () => ({ key: `block${state.blocks.length + 1}`, name: `Block ${state.blocks.length + 1}`, minutes: 30, entries: [{ source: source(), count: 1 }] })));
document.getElementById("add-placement").addEventListener("click", () => {
  if (!state.templates.length) state.templates.push({ placements: [], weekdays: [] });
  add(state.templates[0].placements, () => ({ start: "00:00", block_key: state.blocks[0]?.key || "" }));
});
field(form, "name").addEventListener("input", (e) => { state.name = e.target.value; changed(); });
field(form, "timezone").addEventListener("change", (e) => { state.timezone = e.target.value.trim() || "UTC"; changed(); });
field(form, "fallback").addEventListener("change", (e) => { state.fallback = e.target.value ? Number(e.target.value) : null; changed(); });
field(form, "kind").addEventListener("change", (e) => { state.kind = e.target.value; render(); changed(); });
document.getElementById("json").addEventListener("change", (e) => {
  try { load(JSON.parse(e.target.value)); } catch { toast("That is not valid JSON."); }
});

function load(schedule) {
  const { id: _id, ...rest } = schedule;
  state = { ...state, ...rest };
  field(form, "name").value = state.name;
  field(form, "kind").value = state.kind;
  field(form, "timezone").value = state.timezone;
  field(form, "fallback").value = state.fallback ?? "";
  render();
  changed();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const b = { ...body(), name: state.name.trim() };
  try {
    if (scheduleId) await api(`/api/schedules/${scheduleId}`, { method: "PUT", body: b });
    else await api("/api/schedules", { method: "POST", body: b });
    location.assign("/schedules");
  } catch (error) {
    showErrors(form, error);
  }
});

async function init() {
  const [found, presets] = await Promise.all([api("/api/collections"), api("/api/filler-presets")]);
  collections = found;
  field(form, "fallback").append(...presets.map((p) => el("option", { value: p.id }, `${p.name} (${p.kind})`)));
  if (scheduleId) load(await api(`/api/schedules/${scheduleId}`));
  else { render(); changed(); }
  if (!collections.length) document.getElementById("preview-status").textContent = "There are no collections yet: create one (for example through the API) first.";
}
init().catch((error) => toast(error.message));
