import { api, button, clearErrors, debounce, duration, el, enumOf, field, pageReady, requireText, showErrors, toast, words } from "./api.js";

// One collection: a smart query builder with a live preview, a manual list (search, add,
// reorder, remove) or a multi-collection's members. Automatic ones are shown read-only.
const form = document.getElementById("collection-form");
const collectionId = document.querySelector("main").dataset.collection;
const params = new URLSearchParams(location.search);
const PREVIEW_LIMIT = 50;
const ALIASES = {
  "query.duration_min_sec": "duration_min", "query.duration_max_sec": "duration_max",
  item_ids: "m-q", member_ids: "member-add",
};
let collections = [];
let chosen = []; // manual: [{id, label}]
let members = []; // multi: [collection id]
let current = null; // the stored collection (editing)

const byId = (id) => document.getElementById(id);
const kind = () => field(form, "kind").value;
const value = (name) => field(form, name).value.trim();
const number = (name) => (value(name) === "" ? null : Number(value(name)));
const ticked = (id) => [...byId(id).querySelectorAll("input:checked")].map((box) => box.value);

function checks(id, values, label = words) {
  byId(id).replaceChildren(...values.map(([v, text]) => el("label", {}, el("input", { type: "checkbox", value: v }), ` ${label(text)}`)));
}

function itemLabel(m) {
  const episode = m.show ? `${m.show}${m.season !== null ? ` S${m.season}E${m.episode ?? "?"}` : ""} · ` : "";
  return `${episode}${m.title}${m.year ? ` (${m.year})` : ""} · ${m.duration_ms ? duration(m.duration_ms) : "length unknown"}`;
}

function showPart() {
  const automatic = Boolean(current?.automatic);
  byId("part-automatic").hidden = !automatic;
  for (const part of ["smart", "manual", "multi"]) byId(`part-${part}`).hidden = automatic || kind() !== part;
  byId("save").hidden = automatic;
  field(form, "name").readOnly = automatic;
  field(form, "kind").disabled = automatic || Boolean(current);
}

// --- smart ---------------------------------------------------------------------------------

function query() {
  const minutes = (name) => (number(name) === null ? null : Math.round(number(name) * 60));
  return {
    text: value("text") || null, title: value("title") || null, show: value("show") || null,
    season: number("season"),
    genres: value("genres").split(",").map((g) => g.trim()).filter(Boolean),
    kinds: ticked("q-kinds"), year_min: number("year_min"), year_max: number("year_max"),
    duration_min_sec: minutes("duration_min"), duration_max_sec: minutes("duration_max"),
    added_within_days: number("added_within_days"),
    added_after: value("added_after") || null, added_before: value("added_before") || null,
    library_ids: ticked("q-libraries").map(Number), statuses: ticked("q-statuses"), states: ticked("q-states"),
  };
}

function fillQuery(q) {
  const set = (name, v) => { field(form, name).value = v ?? ""; };
  set("text", q.text); set("title", q.title); set("show", q.show); set("season", q.season);
  set("genres", (q.genres || []).join(", ")); set("year_min", q.year_min); set("year_max", q.year_max);
  set("duration_min", q.duration_min_sec === null || q.duration_min_sec === undefined ? null : q.duration_min_sec / 60);
  set("duration_max", q.duration_max_sec === null || q.duration_max_sec === undefined ? null : q.duration_max_sec / 60);
  set("added_within_days", q.added_within_days); set("added_after", q.added_after); set("added_before", q.added_before);
  const tick = (id, values) => { for (const box of byId(id).querySelectorAll("input")) box.checked = (values || []).map(String).includes(box.value); };
  tick("q-kinds", q.kinds); tick("q-libraries", q.library_ids); tick("q-statuses", q.statuses); tick("q-states", q.states);
}

function listPreview(items, total, durationMs) {
  const status = byId("preview-status");
  status.textContent = `${total} item${total === 1 ? "" : "s"}, ${duration(durationMs)} in all${total > items.length ? ` (the first ${items.length} listed)` : ""}.`;
  byId("preview").replaceChildren(...items.map((m) => el("li", {}, itemLabel(m))));
}

const previewSmart = debounce(async () => {
  try {
    const page = await api(`/api/collections/preview?limit=${PREVIEW_LIMIT}`, { method: "POST", body: query() });
    form.querySelector(".form-error").hidden = true;
    listPreview(page.items, page.total, page.duration_ms);
  } catch (error) {
    byId("preview-status").textContent = `No preview: ${error.message}`;
    if (error.status === 422) showErrors(form, error, ALIASES);
  }
}, 350);

// --- manual --------------------------------------------------------------------------------

function moveButtons(list, index, label, rerender) {
  const move = (to) => { const [item] = list.splice(index, 1); list.splice(to, 0, item); rerender(); };
  return [
    button("Up", () => move(index - 1), { label: `Move ${label} up` }),
    button("Down", () => move(index + 1), { label: `Move ${label} down` }),
    button("Remove", () => { list.splice(index, 1); rerender(); }, { label: `Remove ${label}`, kind: "danger" }),
  ].map((b, n) => { if ((n === 0 && index === 0) || (n === 1 && index === list.length - 1)) b.disabled = true; return b; });
}

function renderChosen() {
  byId("chosen").replaceChildren(...(chosen.length ? chosen.map((item, index) => el("li", {},
    el("span", { class: "grow" }, item.label), ...moveButtons(chosen, index, item.label, renderChosen)))
    : [el("li", {}, "Nothing yet: search below and add items.")]));
  const total = chosen.reduce((sum, item) => sum + (item.duration_ms || 0), 0);
  byId("preview-status").textContent = `${chosen.length} item${chosen.length === 1 ? "" : "s"}, ${duration(total)} in all.`;
  byId("preview").replaceChildren(...chosen.slice(0, PREVIEW_LIMIT).map((item) => el("li", {}, item.label)));
  for (const add of byId("m-results").querySelectorAll("button[data-item]")) add.disabled = chosen.some((c) => c.id === Number(add.dataset.item));
}

async function search() {
  const q = new URLSearchParams({ limit: 25, state: "present" });
  if (byId("m-q").value.trim()) q.set("q", byId("m-q").value.trim());
  if (byId("m-kind").value) q.set("kind", byId("m-kind").value);
  const page = await api(`/api/media?${q}`);
  byId("m-status").textContent = `${page.total} match${page.total === 1 ? "" : "es"}${page.total > page.items.length ? `; the first ${page.items.length} shown` : ""}.`;
  byId("m-results").replaceChildren(...page.items.map((m) => {
    const label = itemLabel(m);
    const add = button("Add", () => { chosen.push({ id: m.id, label, duration_ms: m.duration_ms }); renderChosen(); }, { label: `Add ${label}` });
    add.dataset.item = m.id;
    add.disabled = chosen.some((c) => c.id === m.id);
    return el("li", {}, el("span", { class: "grow" }, label), add);
  }));
}

async function loadChosen(ids) {
  const found = new Map();
  for (let offset = 0; ; offset += 500) {
    const page = await api(`/api/collections/${collectionId}/items?offset=${offset}&limit=500`);
    for (const m of page.items) found.set(m.id, m);
    if (offset + 500 >= page.total) break;
  }
  chosen = ids.map((id) => {
    const m = found.get(id);
    return m ? { id, label: itemLabel(m), duration_ms: m.duration_ms } : { id, label: `Item ${id} (its file is missing)`, duration_ms: 0 };
  });
  renderChosen();
}

// --- multi ---------------------------------------------------------------------------------

function renderMembers() {
  const names = new Map(collections.map((c) => [c.id, c.name]));
  byId("members").replaceChildren(...(members.length ? members.map((id, index) => el("li", {},
    el("span", { class: "grow" }, names.get(id) || `Collection ${id}`), ...moveButtons(members, index, names.get(id), renderMembers)))
    : [el("li", {}, "None yet: add collections below.")]));
  const choices = collections.filter((c) => c.kind !== "multi" && c.id !== current?.id && !members.includes(c.id));
  byId("member-add").replaceChildren(...choices.map((c) => el("option", { value: c.id }, `${c.name}${c.automatic ? " (automatic)" : ""}`)));
  byId("preview-status").textContent = members.length
    ? `${members.length} collection${members.length === 1 ? "" : "s"}; save to see the items they hold together.`
    : "Add collections to see what it holds.";
  byId("preview").replaceChildren();
}

// --- loading and saving --------------------------------------------------------------------

async function showSaved() {
  const [page, summary] = await Promise.all([
    api(`/api/collections/${collectionId}/items?limit=${PREVIEW_LIMIT}`), api(`/api/collections/${collectionId}/summary`),
  ]);
  listPreview(page.items, summary.count, summary.duration_ms);
}

function smartFrom(c) {
  if (c.kind === "show" || c.kind === "season") return { kinds: ["episode"], show: c.show, season: c.kind === "season" ? c.season : null };
  if (c.kind === "library") return { library_ids: [c.library_id] };
  return c.query || {};
}

async function init() {
  const [found, libraries, kinds, statuses, states] = await Promise.all([
    api("/api/collections"), api("/api/libraries"),
    enumOf("MediaKind", ["movie", "episode", "music_video", "other"]),
    enumOf("MetadataStatus", ["ok", "placeholder", "failed"]), enumOf("MediaState", ["present", "missing"]),
  ]);
  collections = found;
  checks("q-kinds", kinds.map((k) => [k, k]));
  checks("q-libraries", libraries.map((l) => [l.id, l.name]), String);
  checks("q-statuses", statuses.map((s) => [s, s]));
  checks("q-states", states.map((s) => [s, s]));
  byId("m-kind").append(...kinds.map((k) => el("option", { value: k }, words(k))));
  byId("shows").replaceChildren(...found.filter((c) => c.kind === "show").map((c) => el("option", { value: c.show })));
  if (collectionId) {
    current = await api(`/api/collections/${collectionId}`);
    document.querySelector("h1").textContent = `Collection: ${current.name}`;
    field(form, "name").value = current.name;
    if (!["smart", "manual", "multi"].includes(current.kind)) field(form, "kind").append(el("option", { value: current.kind }, words(current.kind)));
    field(form, "kind").value = current.kind;
    byId("to-smart").href = `/collections/new?kind=smart&from=${current.id}`;
    showPart();
    if (current.kind === "smart") { fillQuery(current.query); previewSmart(); }
    else if (current.kind === "manual") await loadChosen(current.item_ids);
    else if (current.kind === "multi") { members = [...current.member_ids]; renderMembers(); await showSaved(); }
    else await showSaved();
    return;
  }
  field(form, "kind").value = ["smart", "manual", "multi"].includes(params.get("kind")) ? params.get("kind") : "smart";
  const from = Number(params.get("from"));
  if (from) {
    const source = found.find((c) => c.id === from);
    if (source) { fillQuery(smartFrom(source)); field(form, "name").value = `${source.name} (smart)`.slice(0, 200); }
  }
  showPart();
  changed();
}

function changed() {
  if (kind() === "smart") previewSmart();
  else if (kind() === "manual") renderChosen();
  else renderMembers();
}

function body() {
  const b = { name: value("name"), kind: kind() };
  if (b.kind === "smart") b.query = query();
  if (b.kind === "manual") b.item_ids = chosen.map((item) => item.id);
  if (b.kind === "multi") b.member_ids = members;
  return b;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  if (!requireText(form, "name", "Enter a name.")) return;
  try {
    const saved = current
      ? await api(`/api/collections/${current.id}`, { method: "PUT", body: body() })
      : await api("/api/collections", { method: "POST", body: body() });
    toast(`Collection ${saved.name} saved`);
    location.assign("/collections");
  } catch (error) {
    if (error.status === 409) error.problem.errors = [{ loc: "body.name", message: error.message }];
    showErrors(form, error, ALIASES);
  }
});

byId("part-smart").addEventListener("input", () => previewSmart());
field(form, "kind").addEventListener("change", () => { showPart(); changed(); });
byId("m-search").addEventListener("click", () => search().catch((error) => toast(error.message)));
byId("m-q").addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); search().catch((error) => toast(error.message)); } });
byId("member-add-button").addEventListener("click", () => {
  const id = Number(byId("member-add").value);
  if (id) { members.push(id); renderMembers(); }
});

init().catch((error) => toast(error.message)).finally(pageReady);
