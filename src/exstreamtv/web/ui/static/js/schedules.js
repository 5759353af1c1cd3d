import { api, el, labelCells, pageReady, toast, words } from "./api.js";

async function load() {
  const schedules = await api("/api/schedules");
  const rows = schedules.map((s) => {
    const remove = el("button", { type: "button", class: "danger", "aria-label": `Delete schedule ${s.name}` }, "Delete");
    remove.addEventListener("click", async () => {
      if (!confirm(`Delete schedule ${s.name}?`)) return;
      try { await api(`/api/schedules/${s.id}`, { method: "DELETE" }); toast("Schedule deleted"); load(); }
      catch (error) { toast(error.message); }
    });
    return el("tr", {}, el("td", {}, el("a", { href: `/schedules/${s.id}` }, s.name)), el("td", {}, words(s.kind)), el("td", {}, s.timezone), el("td", { class: "actions" }, remove));
  });
  document.querySelector("#schedules tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 4 }, "No schedules yet."))]));
  labelCells(document.getElementById("schedules"));
}
load().catch((error) => toast(error.message)).finally(pageReady);
