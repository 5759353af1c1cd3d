import { api, day, debounce, duration, el, hasPath, pageReady, time } from "./api.js";

// The TV guide grid. Only what is on screen is asked for: the rows in view (more as they
// scroll into view) over the chosen hours; runs of programmes too short to read are merged
// by the server into one "short items" cell, listed when opened. Times are local.
const PX_PER_MIN = 8;
const MIN_CELL_PX = 44;
const SHORT_UNDER_SEC = Math.round((MIN_CELL_PX / PX_PER_MIN) * 60);
const ROW_BATCH = 12;
const TICK_MS = 30 * 60_000;
const wrap = document.getElementById("grid-wrap");
const grid = document.getElementById("guide");
const status = document.getElementById("guide-status");
const dialog = document.getElementById("details");

let view = null; // { origin, end, hours, rows: Map(channelId -> {section, track, loaded}), channels }
let observer = null;
let nowTimer = null;

const x = (ms) => ((ms - view.origin) / 60_000) * PX_PER_MIN;
const hoursChosen = () => Number(document.getElementById("hours").value);

function ruler(width) {
  const ticks = [];
  let previousDay = null;
  for (let t = view.origin; t < view.end; t += TICK_MS) {
    const today = day(t);
    const label = today !== previousDay ? `${today} ${time(t)}` : time(t);
    previousDay = today;
    ticks.push(el("span", { class: "tick", style: { left: `${x(t)}px` } }, label));
  }
  return el("div", { class: "gline head", "aria-hidden": "true" },
    el("div", { class: "chan" }, "Channel"), el("div", { class: "track", style: { width: `${width}px` } }, ticks));
}

function cellLabel(p) {
  const when = `${time(p.start)} to ${time(p.stop)}`;
  if (p.count > 1) return `${p.count} short items, ${when}`;
  return `${p.title}${p.sub_title ? `: ${p.sub_title}` : ""}, ${when}`;
}

function cell(p, channel) {
  const start = Date.parse(p.start), stop = Date.parse(p.stop), now = Date.now();
  const left = Math.max(0, x(start)), right = Math.min(x(view.end), x(stop));
  const onNow = start <= now && now < stop;
  const short = p.count > 1;
  const button = el("button", {
    type: "button", tabindex: "-1",
    class: `cell ${short ? "short" : p.kind}${onNow ? " now" : ""}`,
    style: { left: `${left}px`, width: `${Math.max(right - left - 2, 3)}px` },
    "aria-label": `${cellLabel(p)}${onNow ? ", on now" : ""}`,
    "data-start": start, "data-stop": stop,
  }, short ? `${p.count} short items` : p.title, !short && p.sub_title ? el("small", {}, p.sub_title) : null);
  button.addEventListener("click", () => details(p, channel, button));
  return button;
}

function details(p, channel, opener) {
  const short = p.count > 1;
  document.getElementById("details-title").textContent = short ? `${p.count} short items` : p.title;
  const rows = [
    ["Channel", `${channel.number} · ${channel.name}`],
    ["Time", `${time(p.start)} – ${time(p.stop)} (${duration(Date.parse(p.stop) - Date.parse(p.start))})`],
    ...(short ? [] : [
      ["Episode", p.sub_title],
      ["Season and episode", p.season !== null && p.episode !== null ? `S${p.season}E${p.episode}` : null],
      ["Year", p.year], ["Rating", p.rating], ["Categories", p.categories.join(", ") || null],
      ["Description", p.description],
    ]),
  ].filter(([, value]) => value !== null && value !== undefined && value !== "");
  document.getElementById("details-body").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const more = document.getElementById("details-more");
  const watch = `/watch/${encodeURIComponent(channel.number)}`;
  more.replaceChildren(el("p", {}, el("a", { href: watch }, `Watch ${channel.name}`)));
  // A programme that has begun can be watched from its start when the server offers
  // catch-up (the watch page replays it, and says why when that time is no longer kept).
  if (Date.parse(p.start) < Date.now() && p.kind !== "offline") {
    hasPath("/iptv/channel/{number}/catchup.ts").then((offered) => {
      if (!offered) return;
      const title = short ? `${p.count} short items` : p.title;
      const query = new URLSearchParams({ start: p.start, end: p.stop, title });
      more.append(el("p", {}, el("a", { href: `${watch}?${query}` }, `Watch ${title} from the start`)));
    }).catch(() => {});
  }
  if (short) {
    const list = el("ol", { "aria-label": "The short items" }, el("li", {}, "Loading…"));
    more.prepend(list);
    const params = new URLSearchParams({ start: p.start, end: p.stop, channel: channel.id, short_under_sec: 0 });
    api(`/api/guide?${params}`).then((found) => {
      list.replaceChildren(...found.programmes.map((q) => el("li", {},
        `${time(q.start)} ${q.title}${q.sub_title ? `: ${q.sub_title}` : ""} (${duration(Date.parse(q.stop) - Date.parse(q.start))})`)));
    }).catch((error) => list.replaceChildren(el("li", {}, error.message)));
  }
  dialog.addEventListener("close", () => opener.focus(), { once: true });
  dialog.showModal();
}

function row(channel, width) {
  const number = encodeURIComponent(channel.number);
  const track = el("div", { class: "track", style: { width: `${width}px` } }, el("span", { class: "loading" }, "Loading…"));
  const section = el("section", { class: "gline", "aria-label": `Channel ${channel.number} ${channel.name}`, "data-channel": channel.id },
    el("div", { class: "chan" },
      el("img", { class: "thumb", src: `/iptv/logos/${number}.png`, alt: "", loading: "lazy" }),
      el("a", { href: `/watch/${number}`, title: `Watch ${channel.name}` }, `${channel.number} ${channel.name}`)),
    track);
  return { channel, section, track, loaded: false };
}

async function loadRows(offset) {
  const entries = [...view.rows.values()].slice(offset, offset + ROW_BATCH).filter((r) => !r.loaded);
  if (!entries.length) return;
  for (const r of entries) r.loaded = true; // claimed: the observer never asks twice
  const token = view;
  const found = await api(`/api/guide?${windowParams(view.loaded[0], view.loaded[1], { offset, limit: ROW_BATCH })}`);
  if (token !== view) return; // the window changed meanwhile
  for (const [id, programmes] of byRow(found)) {
    const r = view.rows.get(id);
    if (r) fillRow(r, programmes);
  }
  ensureTabStop();
  markNow();
}

function ensureTabStop() {
  if (grid.querySelector('.cell[tabindex="0"]')) return;
  const now = Date.now();
  const first = [...grid.querySelectorAll(".cell")].find((c) => Number(c.dataset.start) <= now && now < Number(c.dataset.stop))
    || grid.querySelector(".cell");
  if (first) first.tabIndex = 0;
}

function markNow() {
  if (!view) return;
  const now = Date.now();
  let line = grid.querySelector(".nowline");
  if (now < view.origin || now >= view.end) { line?.remove(); return; }
  if (!line) { line = el("div", { class: "nowline", "aria-hidden": "true" }); grid.append(line); }
  const chan = grid.querySelector(".chan").offsetWidth;
  line.style.left = `${chan + x(now)}px`;
  for (const c of grid.querySelectorAll(".cell")) c.classList.toggle("now", Number(c.dataset.start) <= now && now < Number(c.dataset.stop));
}

function scrollToNow() {
  const now = Date.now();
  if (now < view.origin || now >= view.end) { wrap.scrollLeft = 0; return; }
  wrap.scrollLeft = Math.max(0, x(now) - 15 * PX_PER_MIN); // a quarter hour of context
}

// The cells of a guide answer, by channel row.
function byRow(found) {
  const rows = new Map(found.rows.map((id) => [id, []]));
  for (const p of found.programmes) rows.get(p.channel_id)?.push(p);
  return rows;
}

// Replace a row's cells, keeping the keyboard where it was.
function fillRow(r, programmes) {
  const focused = r.track.contains(document.activeElement) ? document.activeElement.dataset.start : null;
  r.track.replaceChildren(...programmes.map((p) => cell(p, r.channel)));
  if (focused) r.track.querySelector(`.cell[data-start="${focused}"]`)?.focus();
}

function windowParams(from, to, extra) {
  return new URLSearchParams({ start: new Date(from).toISOString(), end: new Date(to).toISOString(), short_under_sec: SHORT_UNDER_SEC, ...extra });
}

async function show(origin, hours, focusNow = false) {
  view = { origin, end: origin + hours * 3_600_000, hours, rows: new Map() };
  const width = x(view.end);
  // First what is in view: the first rows, from the left edge shown to the right edge
  // (the page opens at now); then the rest of the hours for those rows.
  const now = Date.now();
  const left = focusNow && now > view.origin && now < view.end ? Math.max(view.origin, now - 15 * 60_000) : view.origin;
  const span = ((wrap.clientWidth || 1200) / PX_PER_MIN) * 60_000;
  const right = Math.min(view.end, left + span + 30 * 60_000);
  const token = view;
  const first = await api(`/api/guide?${windowParams(left, right, { limit: ROW_BATCH })}`);
  if (token !== view) return;
  observer?.disconnect();
  const rows = first.channels.map((c) => row(c, width));
  for (const r of rows) view.rows.set(r.channel.id, r);
  grid.replaceChildren(ruler(width), ...rows.map((r) => r.section));
  if (!rows.length) grid.append(el("p", { class: "hint" }, "No channels yet. ", el("a", { href: "/channels/new" }, "Create one")));
  for (const [id, programmes] of byRow(first)) {
    const r = view.rows.get(id);
    r.loaded = true;
    fillRow(r, programmes);
  }
  observer = new IntersectionObserver((seen) => {
    for (const entry of seen) {
      if (!entry.isIntersecting) continue;
      const index = rows.findIndex((r) => r.section === entry.target);
      if (index >= 0 && !rows[index].loaded) loadRows(index - (index % ROW_BATCH)).catch((e) => { status.textContent = e.message; });
    }
  }, { root: wrap, rootMargin: "200px 0px" });
  for (const r of rows) if (!r.loaded) observer.observe(r.section);
  if (focusNow) scrollToNow();
  ensureTabStop();
  markNow();
  status.textContent = `${first.total} channel${first.total === 1 ? "" : "s"}, ${day(view.origin)} ${time(view.origin)} to ${time(view.end)}.`;
  view.loaded = [left, right]; // the hours read so far; the rest when they scroll into view
}

// The rest of the hours for every row read so far, once the view reaches past them.
async function completeRows() {
  if (!view || view.completing || (view.loaded[0] <= view.origin && view.loaded[1] >= view.end)) return;
  const left = view.origin + ((wrap.scrollLeft) / PX_PER_MIN) * 60_000;
  const right = left + (wrap.clientWidth / PX_PER_MIN) * 60_000;
  if (left >= view.loaded[0] - 60_000 && right <= view.loaded[1] + 60_000) return; // a minute of slack for rounding
  const token = view;
  view.completing = true;
  const loaded = [...view.rows.values()].map((r, index) => [r, index]).filter(([r]) => r.loaded);
  const batches = [...new Set(loaded.map(([, index]) => index - (index % ROW_BATCH)))];
  try {
    for (const offset of batches) {
      const found = await api(`/api/guide?${windowParams(view.origin, view.end, { offset, limit: ROW_BATCH })}`);
      if (token !== view) return;
      for (const [id, programmes] of byRow(found)) fillRow(view.rows.get(id), programmes);
    }
    view.loaded = [view.origin, view.end];
    ensureTabStop();
    markNow();
  } finally { token.completing = false; }
}

function showNow() {
  const now = Date.now();
  const origin = now - (now % TICK_MS) - TICK_MS; // from the half hour before the last one
  return show(origin, hoursChosen(), true);
}

// --- keyboard: arrows between cells (one tab stop in the grid) ----------------------------

function cellsOf(section) { return [...section.querySelectorAll(".cell")]; }

function moveTo(target, from) {
  if (!target) return;
  if (from) from.tabIndex = -1;
  target.tabIndex = 0;
  target.focus();
  target.scrollIntoView({ block: "nearest", inline: "nearest" });
}

grid.addEventListener("keydown", (event) => {
  const current = event.target.closest?.(".cell");
  if (!current) return;
  const section = current.closest("section");
  const cells = cellsOf(section);
  const index = cells.indexOf(current);
  let target = null;
  if (event.key === "ArrowRight") target = cells[index + 1];
  else if (event.key === "ArrowLeft") target = cells[index - 1];
  else if (event.key === "Home") target = cells[0];
  else if (event.key === "End") target = cells[cells.length - 1];
  else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    let other = event.key === "ArrowDown" ? section.nextElementSibling : section.previousElementSibling;
    while (other && other.tagName === "SECTION" && !cellsOf(other).length) {
      other = event.key === "ArrowDown" ? other.nextElementSibling : other.previousElementSibling;
    }
    if (other && other.tagName === "SECTION") {
      const at = Math.max(Number(current.dataset.start), view.origin);
      const row = cellsOf(other);
      target = row.find((c) => Number(c.dataset.start) <= at && at < Number(c.dataset.stop)) || row[0];
    }
  } else return;
  event.preventDefault();
  moveTo(target, current);
});

wrap.addEventListener("scroll", debounce(() => completeRows().catch((e) => { status.textContent = e.message; }), 150));
document.getElementById("hours").addEventListener("change", () => show(view.origin, hoursChosen()).catch((e) => { status.textContent = e.message; }));
document.getElementById("now").addEventListener("click", () => showNow().catch((e) => { status.textContent = e.message; }));
document.getElementById("earlier").addEventListener("click", () => show(view.origin - (view.hours * 3_600_000) / 2, view.hours).catch((e) => { status.textContent = e.message; }));
document.getElementById("later").addEventListener("click", () => show(view.origin + (view.hours * 3_600_000) / 2, view.hours).catch((e) => { status.textContent = e.message; }));

showNow().catch((e) => { status.textContent = e.message; }).finally(pageReady);
nowTimer = setInterval(markNow, 30_000);
window.addEventListener("pagehide", () => clearInterval(nowTimer));
