import { api, duration, el, labelCells, latest, pageReady, toast } from "./api.js";

const library = document.querySelector("main").dataset.library;
const form = document.getElementById("media-filter");
const LIMIT = 50;
let offset = 0;
const fetchPage = latest((params) => api(`/api/media?${params}`));

async function load() {
  const params = new URLSearchParams({ library_id: library, offset, limit: LIMIT });
  const q = form.elements.q.value.trim();
  const state = form.elements.state.value;
  if (q) params.set("q", q);
  if (state === "failed") params.set("status", "failed");
  else if (state) params.set("state", state);
  const page = await fetchPage(params);
  if (page === null) return; // a newer filter or page was asked for meanwhile
  const rows = page.items.map((m) => el("tr", {},
    el("td", {}, m.title), el("td", {}, m.show ? `${m.show}${m.season !== null ? ` S${m.season}E${m.episode ?? "?"}` : ""}` : ""),
    el("td", {}, m.duration_ms ? duration(m.duration_ms) : "unknown"), el("td", {}, m.state),
    el("td", {}, `${m.metadata.status} (${m.metadata.source})`), el("td", {}, m.metadata.reason || "")));
  document.querySelector("#media tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6 }, "No items match."))]));
  labelCells(document.getElementById("media"));
  document.getElementById("media-status").textContent = page.total ? `Items ${offset + 1}–${offset + page.items.length} of ${page.total}.` : "No items.";
  document.getElementById("prev").disabled = offset === 0;
  document.getElementById("next").disabled = offset + LIMIT >= page.total;
}

async function problems() {
  const found = await api(`/api/libraries/${library}/problems`);
  document.getElementById("problems").replaceChildren(...(found.length ? found.map((p) => el("li", {}, el("code", {}, p.path), `: ${p.reason}`)) : [el("li", {}, "None.")]));
  const lib = await api(`/api/libraries/${library}`);
  document.querySelector("h1").textContent = `Media in ${lib.name}`;
}

// A filter sent before this script ran arrives as the page's query: start from it.
const asked = new URLSearchParams(location.search);
form.elements.q.value = asked.get("q") || "";
form.elements.state.value = asked.get("state") || "";
form.addEventListener("submit", (event) => {
  event.preventDefault();
  offset = 0;
  history.replaceState(null, "", `?${new URLSearchParams(new FormData(form))}`);
  load().catch((e) => toast(e.message));
});
document.getElementById("prev").addEventListener("click", () => { offset = Math.max(0, offset - LIMIT); load().catch((e) => toast(e.message)); });
document.getElementById("next").addEventListener("click", () => { offset += LIMIT; load().catch((e) => toast(e.message)); });
Promise.all([load(), problems()]).catch((e) => toast(e.message)).finally(pageReady);
