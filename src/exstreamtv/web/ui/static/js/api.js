// Calls to the EXStreamTV API with the UI's credentials, and small DOM helpers.
// Every request sends X-EXStreamTV-UI: 1 (a change made with the session cookie needs it).

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function api(path, { method = "GET", body, form } = {}) {
  const headers = { Accept: "application/json", "X-EXStreamTV-UI": "1" };
  let payload;
  if (form !== undefined) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  if (response.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    throw new ApiError(401, { detail: "signed out" });
  }
  if (!response.ok) {
    let problem = {};
    try { problem = await response.json(); } catch { problem = {}; }
    throw new ApiError(response.status, problem);
  }
  return response.status === 204 ? null : response.json();
}

let openapi;
function spec() {
  openapi ??= fetch("/openapi.json", { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : { paths: {} }));
  return openapi;
}

// The API paths this server has (optional features are only called when present, so a
// page never requests an endpoint that does not exist).
export async function hasPath(path) {
  return Object.prototype.hasOwnProperty.call((await spec()).paths || {}, path);
}

// The values of an enumeration of the API (for example "PlaybackOrder"), so choices offered
// in a form are exactly those the server accepts, new ones included; [] when unknown.
export async function enumOf(name, fallback = []) {
  const schema = ((await spec()).components?.schemas || {})[name];
  return schema?.enum || fallback;
}

// The query parameters an API path and method declares (for optional features).
export async function parametersOf(path, method = "get") {
  return ((await spec()).paths?.[path]?.[method]?.parameters || []).map((p) => p.name);
}

// Elements whose content must stay plain text (option labels, textarea values).
const PLAIN_TEXT = new Set(["OPTION", "TEXTAREA", "TITLE"]);

function textOf(parent, value) {
  if (PLAIN_TEXT.has(parent.tagName)) return document.createTextNode(String(value));
  return Object.assign(document.createElement("bdi"), { textContent: String(value) });
}

// el("a", {href: "/x", class: "y"}, "text", child) builds elements; text is never parsed as HTML.
// Each text child sits in its own <bdi>: titles and names come from users and media files,
// and a right-to-left override inside one must not reorder the text around it.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "text") node.replaceChildren(textOf(node, value));
    else if (key === "style") Object.assign(node.style, value); // CSSOM: allowed by the CSP
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : textOf(node, child));
  }
  return node;
}

export function clearErrors(form) {
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of form.querySelectorAll("small.error")) node.textContent = "";
  const general = form.querySelector(".form-error");
  if (general) { general.textContent = ""; general.hidden = true; }
}

// Show a problem's field errors next to their fields (loc "body.name" -> the field named
// "name", message in the element its aria-describedby names ending in "-error");
// what matches no field goes to the form's general message. Focus moves to the first.
export function showErrors(form, error, aliases = {}) {
  clearErrors(form);
  const items = error instanceof ApiError && error.problem.errors ? error.problem.errors : [];
  const general = [];
  let first = null;
  for (const item of items) {
    const parts = item.loc.split(".").filter((p) => p !== "body");
    const name = aliases[parts.join(".")] || aliases[parts[0]] || parts[0];
    const input = name ? form.elements.namedItem(name) || form.querySelector(`#${CSS.escape(name)}`) : null;
    const slotId = input?.getAttribute?.("aria-describedby")?.split(" ").find((id) => id.endsWith("-error"));
    const slot = slotId ? document.getElementById(slotId) : null;
    if (slot && input) {
      slot.textContent = item.message;
      input.setAttribute("aria-invalid", "true");
      first ??= input;
    } else general.push(`${item.loc}: ${item.message}`);
  }
  if (!items.length) general.push(error.message);
  const box = form.querySelector(".form-error");
  if (general.length && box) { box.textContent = general.join(" · "); box.hidden = false; }
  (first || box)?.focus?.();
}

// Say at a field that it needs text (its slot is the "-error" element it describes), and
// focus it; true when the field has text.
export function requireText(form, name, message) {
  const input = form.elements.namedItem(name);
  if (input.value.trim()) return true;
  const slotId = input.getAttribute("aria-describedby")?.split(" ").find((id) => id.endsWith("-error"));
  if (slotId) document.getElementById(slotId).textContent = message;
  input.setAttribute("aria-invalid", "true");
  input.focus();
  return false;
}

export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  setTimeout(() => { if (box.textContent === message) box.textContent = ""; }, 5000);
}

// One formatter for the page: making one per call costs far more than formatting.
const CLOCK = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat([], { weekday: "short", day: "numeric", month: "short" });

// "20:30" (or "08:30 PM") in the viewer's time zone, from an ISO time or epoch ms.
export function time(when) {
  return CLOCK.format(typeof when === "number" ? when : new Date(when));
}

// "Sun, 6 Dec" in the viewer's time zone, from an ISO time or epoch ms.
export function day(when) {
  return DAY.format(typeof when === "number" ? when : new Date(when));
}

export function duration(ms) {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h} h ${m} min` : m ? `${m} min ${r} s` : `${r} s`;
}

export function entryTitle(entry) {
  if (!entry) return "Nothing scheduled";
  const title = entry.guide_title || entry.show || entry.title || entry.kind;
  if (entry.show && entry.season !== null && entry.episode !== null) return `${title} S${entry.season}E${entry.episode} · ${entry.title}`;
  return title;
}

export function field(form, name) { return form.elements.namedItem(name); }

// Give every cell of a table the text of its column header (data-label), so the table can
// be shown as cards on a phone (see style.css) and each value keeps its name.
export function labelCells(table) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.tBodies[0]?.rows || []) {
    [...row.cells].forEach((cell, n) => { if (heads[n] && cell.colSpan === 1) cell.dataset.label = heads[n]; });
  }
}

// Wraps a loader so only the answer to its latest call counts: an earlier, slower answer
// (the page's first load racing a filter the user just applied) resolves to null and is
// not drawn over the newer one.
export function latest(load) {
  let current = 0;
  return async (...args) => {
    const mine = ++current;
    const answer = await load(...args);
    return mine === current ? answer : null;
  };
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

// "Word words" for an API value such as "pre_roll" or "season_episode".
export function words(value) {
  const text = String(value).replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// An accessible button; its text is what it does, its label may name the thing it acts on.
export function button(text, onclick, { label, kind = "secondary", type = "button" } = {}) {
  return el("button", { type, class: kind, "aria-label": label, onclick }, text);
}

// Marks the page as loaded (its first data shown): tests and benchmarks wait for
// body[data-ready] rather than for a quiet network.
export function pageReady() {
  document.body.dataset.ready = "yes";
  performance.mark("page-ready"); // bench/guide_page.py reads it: the time to a full page
}

// On a phone the menu scrolls sideways: show the current page's entry.
document.querySelector('.top nav [aria-current="page"]')?.scrollIntoView({ block: "nearest", inline: "center" });
