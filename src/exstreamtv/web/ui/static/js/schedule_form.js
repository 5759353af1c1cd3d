import { api, button, duration, el, entryTitle, enumOf, field, pageReady, showErrors, time, toast, words } from "./api.js";

// The schedule editor: the schedule's JSON (the API's shape) is the state; every control
// edits it, and every change rebuilds a 24-hour preview on the server.
const form = document.getElementById("schedule-form");
const scheduleId = document.querySelector("main").dataset.schedule;
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const FILLER_ROWS = ["pre_roll", "mid_roll", "post_roll", "tail"];
const ZONES = ["UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"];
let collections = [];
let presets = [];
let enums = { orders: [], modes: [], tails: [], lateness: [] };
let state = { name: "", kind: "slots", timezone: "UTC", fallback: null, items: [], slots: [], blocks: [], templates: [] };
let counter = 0;

const source = () => ({ collection_ids: collections.length ? [collections[0].id] : [], order: "season_episode" });
const filler = () => ({ pre_roll: null, mid_roll: null, post_roll: null, tail: null, fallback: null });
const kindName = (kind) => words(kind).replace(" roll", "-roll");

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

// One or more collections (played in rotation), each keeping its place in the order.
function sourceFields(target, what) {
  const names = new Map(collections.map((c) => [c.id, c.name]));
  const chips = el("ul", { class: "chips", "aria-label": `Collections of ${what}` });
  const adder = el("select", { "aria-label": `Add a collection to ${what}` });
  const renderChips = () => {
    const ids = target.source.collection_ids;
    chips.replaceChildren(...ids.map((id, n) => el("li", {}, names.get(id) || `Collection ${id}`,
      button("×", () => { ids.splice(n, 1); renderChips(); changed(); }, { label: `Remove ${names.get(id) || id} from ${what}` }))));
    adder.replaceChildren(el("option", { value: "" }, ids.length ? "Add another…" : "Choose a collection…"),
      ...collections.filter((c) => !ids.includes(c.id)).map((c) => el("option", { value: c.id }, c.name)));
  };
  adder.addEventListener("change", () => {
    if (!adder.value) return;
    target.source.collection_ids.push(Number(adder.value));
    renderChips();
    changed();
  });
  renderChips();
  return [
    el("div", { class: "field sources" }, el("span", { class: "label" }, "Collections"), chips, adder,
      el("small", {}, "Several play in rotation.")),
    labelled("Order", select(enums.orders.map((o) => [o, words(o)]), target.source.order, (v) => { target.source.order = v; })),
  ];
}

// Filler presets for one row, each choice limited to presets of its kind.
function fillerFields(target, what) {
  target.filler ??= filler();
  const chosen = FILLER_ROWS.filter((k) => target.filler[k] !== null).length;
  return el("details", { class: "filler-row" }, el("summary", {}, `Filler${chosen ? ` (${chosen})` : ""}`),
    el("div", { class: "row" }, FILLER_ROWS.map((kind) => labelled(kindName(kind),
      select([["", "None"], ...presets.filter((p) => p.kind === kind).map((p) => [p.id, p.name])], target.filler[kind],
        (v) => { target.filler[kind] = v ? Number(v) : null; }), null))),
    el("small", {}, `Filler for ${what}; presets are made on the `, el("a", { href: "/filler" }, "filler page"), "."));
}

function removeButton(list, index, what) {
  return button("Remove", () => { list.splice(index, 1); render(); changed(); }, { label: `Remove ${what} ${index + 1}`, kind: "danger" });
}

function modeFields(target, modes) {
  return [
    labelled("Play", select(modes.map((m) => [m, words(m)]), target.mode, (v) => { target.mode = v; render(); })),
    labelled("Count", input({ type: "number", min: 1, max: 1000 }, target.count, (v) => { target.count = Number(v) || 1; })),
  ];
}

function dayBoxes(target, what) {
  return el("fieldset", { class: "days" }, el("legend", { class: "sr-only" }, `Days of ${what}`), DAYS.map((day, n) => {
    const box = el("input", { type: "checkbox", value: n });
    box.checked = target.weekdays.includes(n);
    box.addEventListener("change", () => {
      target.weekdays = box.checked ? [...target.weekdays, n].sort() : target.weekdays.filter((d) => d !== n);
      changed();
    });
    return el("label", {}, box, day);
  }));
}

function itemRow(item, index) {
  const what = `item ${index + 1}`;
  return el("div", {}, ...sourceFields(item, what), ...modeFields(item, enums.modes),
    item.mode === "duration" ? labelled("Minutes", input({ type: "number", min: 1 }, item.duration_minutes, (v) => { item.duration_minutes = v ? Number(v) : null; })) : null,
    item.mode === "duration" ? labelled("What does not fit", select(enums.tails.map((t) => [t, t === "trim" ? "Cut at the end" : "Leave for later, pad with filler"]), item.tail_mode, (v) => { item.tail_mode = v; })) : null,
    labelled("Fixed start", input({ type: "time" }, item.fixed_start, (v) => { item.fixed_start = v || null; })),
    item.fixed_start ? labelled("If late", select(enums.lateness.map((l) => [l, words(l)]), item.lateness, (v) => { item.lateness = v; })) : null,
    labelled("Guide title", input({ maxlength: 200 }, item.guide_title, (v) => { item.guide_title = v || null; })),
    fillerFields(item, what), removeButton(state.items, index, "item"));
}

function slotRow(slot, index) {
  const what = `slot ${index + 1}`;
  return el("div", {},
    labelled("Starts at", input({ type: "time", required: true }, slot.start, (v) => { slot.start = v; })),
    dayBoxes(slot, what), ...sourceFields(slot, what), ...modeFields(slot, enums.modes.filter((m) => m !== "duration")),
    labelled("If late", select(enums.lateness.map((l) => [l, words(l)]), slot.lateness, (v) => { slot.lateness = v; })),
    labelled("Guide title", input({ maxlength: 200 }, slot.guide_title, (v) => { slot.guide_title = v || null; })),
    fillerFields(slot, what), removeButton(state.slots, index, "slot"));
}

function blockRow(block, index) {
  const what = `block ${block.name || index + 1}`;
  const entries = block.entries.map((entry, n) => el("div", { class: "part" },
    ...sourceFields(entry, `${what}, part ${n + 1}`),
    labelled("Items", input({ type: "number", min: 1, max: 1000 }, entry.count, (v) => { entry.count = Number(v) || 1; })),
    block.entries.length > 1 ? button("Remove part", () => { block.entries.splice(n, 1); render(); changed(); }, { label: `Remove part ${n + 1} of ${what}`, kind: "danger" }) : null));
  return el("div", {},
    labelled("Key", input({ maxlength: 48, pattern: "[A-Za-z0-9_.-]+" }, block.key, (v) => { block.key = v; })),
    labelled("Name", input({ maxlength: 200 }, block.name, (v) => { block.name = v; })),
    labelled("Minutes", input({ type: "number", min: 1 }, block.minutes, (v) => { block.minutes = Number(v) || 1; })),
    ...entries,
    button("Add a part", () => { block.entries.push({ source: source(), count: 1 }); render(); changed(); }, { label: `Add a part to ${what}` }),
    fillerFields(block, what), removeButton(state.blocks, index, "block"));
}

function templateBox(template, index) {
  const what = `set of days ${index + 1}`;
  const placements = template.placements.map((placement, n) => el("div", {},
    labelled("Starts at", input({ type: "time" }, placement.start, (v) => { placement.start = v; })),
    labelled("Block", select(state.blocks.map((b) => [b.key, b.name || b.key]), placement.block_key, (v) => { placement.block_key = v; })),
    button("Remove", () => { template.placements.splice(n, 1); render(); changed(); }, { label: `Remove placement ${n + 1} of ${what}`, kind: "danger" })));
  return el("fieldset", { class: "part" }, el("legend", {}, `Days ${index + 1}`), dayBoxes(template, what),
    el("div", { class: "rows" }, placements),
    button("Add placement", () => { template.placements.push({ start: "00:00", block_key: state.blocks[0]?.key || "" }); render(); changed(); }, { label: `Add a placement to ${what}` }),
    button("Remove these days", () => { state.templates.splice(index, 1); render(); changed(); }, { label: `Remove ${what}`, kind: "danger" }));
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
  document.getElementById("templates").replaceChildren(...state.templates.map(templateBox));
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

const LISTED = 200;
let asked = 0; // the newest preview asked for: an older answer arriving late is dropped

async function preview() {
  const b = body();
  const problem = ready(b);
  const status = document.getElementById("preview-status");
  const mine = ++asked;
  if (problem) { status.textContent = problem; return; }
  status.textContent = "Building the preview…";
  try {
    const result = await api(`/api/schedules/preview?hours=24&limit=${LISTED}`, { method: "POST", body: b });
    if (mine !== asked) return;
    const first = result.overview.length ? Date.parse(result.overview[0].start) : Date.now();
    const span = 24 * 3_600_000;
    document.getElementById("timeline").replaceChildren(...result.overview.map((r) => el("span", {
      class: r.kind, title: r.entry ? entryTitle(r.entry) : `${r.entries} entries`,
      style: { left: `${(100 * (Date.parse(r.start) - first)) / span}%`, width: `${(100 * (Date.parse(r.finish) - Date.parse(r.start))) / span}%` },
    })));
    document.getElementById("preview-warnings").replaceChildren(...result.warnings.map((w) => el("li", {}, w.message)));
    const shown = result.entries;
    document.getElementById("preview").replaceChildren(...shown.map((e) => el("li", {}, `${time(e.start)} ${e.kind === "content" ? "" : `[${kindName(e.kind)}] `}${entryTitle(e)} (${duration(Date.parse(e.finish) - Date.parse(e.start))})`)));
    status.textContent = `${result.total} entries in the next 24 hours${result.total > shown.length ? ` (first ${shown.length} listed)` : ""}; ${result.warnings.length} warning(s).`;
  } catch (error) {
    if (mine === asked) status.textContent = `No preview: ${error.message}`;
  }
}

function add(list, make) { list.push(make()); render(); changed(); }
document.getElementById("add-item").addEventListener("click", () => add(state.items, () => ({ source: source(), mode: "one", count: 1, duration_minutes: null, tail_mode: "trim", fixed_start: null, lateness: "start_late", guide_title: null, filler: filler() })));
document.getElementById("add-slot").addEventListener("click", () => add(state.slots, () => ({ start: state.slots.length ? "" : "00:00", weekdays: [], source: source(), mode: "flood", count: 1, lateness: "start_late", guide_title: null, filler: filler() })));
document.getElementById("add-block").addEventListener("click", () => add(state.blocks, () => ({ key: `block${state.blocks.length + 1}`, name: `Block ${state.blocks.length + 1}`, minutes: 30, entries: [{ source: source(), count: 1 }], filler: filler() })));
document.getElementById("add-template").addEventListener("click", () => add(state.templates, () => ({ placements: [{ start: "00:00", block_key: state.blocks[0]?.key || "" }], weekdays: [] })));
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
  const [found, allPresets, orders, modes, tails, lateness] = await Promise.all([
    api("/api/collections"), api("/api/filler-presets"),
    enumOf("PlaybackOrder", ["season_episode", "chronological", "shuffle", "random", "shuffle_in_order"]),
    enumOf("PlayMode", ["flood", "one", "multiple", "duration"]), enumOf("TailMode", ["trim", "filler"]),
    enumOf("Lateness", ["start_late", "skip", "cut_previous"]),
  ]);
  collections = found;
  presets = allPresets;
  enums = { orders, modes, tails, lateness };
  document.getElementById("zones").replaceChildren(...ZONES.map((z) => el("option", { value: z })));
  field(form, "fallback").append(...presets.filter((p) => p.kind === "fallback").map((p) => el("option", { value: p.id }, p.name)));
  if (scheduleId) {
    load(await api(`/api/schedules/${scheduleId}`));
    document.querySelector("h1").textContent = `Schedule: ${state.name}`;
    clearTimeout(timer);
    await preview(); // at once on opening: the debounce is for typing
  } else { render(); changed(); }
  // The rows offer the collections and presets just loaded: adding one waits for them.
  for (const id of ["add-item", "add-slot", "add-block", "add-template"]) document.getElementById(id).disabled = false;
  if (!collections.length) document.getElementById("preview-status").textContent = "There are no collections yet: scan a library or make one on the collections page.";
}
init().catch((error) => toast(error.message)).finally(pageReady);
