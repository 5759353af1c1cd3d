import { api, el, labelCells, pageReady, toast, words } from "./api.js";

const form = document.getElementById("collection-filter");
const table = document.getElementById("collections");
let all = [];

export function describe(c, names) {
  if (c.kind === "show") return `Episodes of ${c.show}`;
  if (c.kind === "season") return `${c.show}, season ${c.season}`;
  if (c.kind === "library") return "Everything in the library";
  if (c.kind === "manual") return `${c.item_ids.length} item${c.item_ids.length === 1 ? "" : "s"} in order`;
  if (c.kind === "multi") return c.member_ids.map((id) => names.get(id) || `#${id}`).join(", ");
  const q = c.query || {};
  const parts = [];
  if (q.kinds?.length) parts.push(q.kinds.map(words).join(" or "));
  if (q.text) parts.push(`“${q.text}”`);
  if (q.title) parts.push(`title “${q.title}”`);
  if (q.show) parts.push(`show ${q.show}`);
  if (q.genres?.length) parts.push(`genre ${q.genres.join(" or ")}`);
  if (q.year_min !== null || q.year_max !== null) parts.push(`years ${q.year_min ?? "…"}–${q.year_max ?? "…"}`);
  if (q.added_within_days) parts.push(`added in the last ${q.added_within_days} days`);
  return parts.join(", ") || "Everything";
}

function render() {
  const text = form.elements.q.value.trim().toLowerCase();
  const kind = form.elements.kind.value;
  const names = new Map(all.map((c) => [c.id, c.name]));
  const shown = all.filter((c) => (!text || c.name.toLowerCase().includes(text))
    && (!kind || (kind === "automatic") === c.automatic));
  const rows = shown.map((c) => {
    const remove = c.automatic ? null : el("button", { type: "button", class: "danger", "aria-label": `Delete collection ${c.name}` }, "Delete");
    remove?.addEventListener("click", async () => {
      if (!confirm(`Delete collection ${c.name}?`)) return;
      try { await api(`/api/collections/${c.id}`, { method: "DELETE" }); toast("Collection deleted"); load(); }
      catch (error) { toast(error.message); }
    });
    return el("tr", {},
      el("td", {}, el("a", { href: `/collections/${c.id}` }, c.name)),
      el("td", {}, words(c.kind), c.automatic ? " " : null, c.automatic ? el("span", { class: "badge auto" }, "automatic") : null),
      el("td", {}, describe(c, names)),
      el("td", { class: "actions" }, remove));
  });
  table.tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 4 }, all.length ? "No collection matches." : "No collections yet: scan a library, or make one."))]));
  labelCells(table);
  document.getElementById("collections-status").textContent = `${shown.length} of ${all.length} collections.`;
}

async function load() {
  all = await api("/api/collections");
  render();
}

form.addEventListener("submit", (event) => event.preventDefault());
form.addEventListener("input", render);
load().catch((error) => toast(error.message)).finally(pageReady);
