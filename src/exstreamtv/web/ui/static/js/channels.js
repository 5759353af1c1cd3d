import { api, el, labelCells, pageReady, toast } from "./api.js";

async function load() {
  const [channels, schedules] = await Promise.all([api("/api/channels"), api("/api/schedules")]);
  const names = new Map(schedules.map((s) => [s.id, s.name]));
  const table = document.getElementById("channels");
  const rows = channels.map((c) => {
    const number = encodeURIComponent(c.number);
    const remove = el("button", { type: "button", class: "danger", "aria-label": `Delete channel ${c.number} ${c.name}` }, "Delete");
    remove.addEventListener("click", async () => {
      if (!confirm(`Delete channel ${c.number} (${c.name}) and its playout?`)) return;
      try { await api(`/api/channels/${number}`, { method: "DELETE" }); toast(`Channel ${c.number} deleted`); load(); }
      catch (error) { toast(error.message); }
    });
    return el("tr", {},
      el("td", {}, c.number),
      el("td", {}, el("img", { class: "thumb", src: `/iptv/logos/${number}.png`, alt: "", loading: "lazy" })),
      el("td", {}, el("a", { href: `/channels/${number}/edit` }, c.name)),
      el("td", {}, c.group || "—"),
      el("td", {}, c.schedule_id ? names.get(c.schedule_id) || `#${c.schedule_id}` : "None"),
      el("td", {}, c.enabled ? "Yes" : "No"),
      el("td", { class: "actions" },
        el("a", { href: `/watch/${number}`, class: "button secondary", "aria-label": `Watch ${c.name}` }, "Watch"),
        el("a", { href: `/channels/${number}/edit`, class: "button secondary", "aria-label": `Edit ${c.name}` }, "Edit"),
        remove));
  });
  table.tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7 }, "No channels yet."))]));
  labelCells(table);
}
load().catch((error) => toast(error.message)).finally(pageReady);
