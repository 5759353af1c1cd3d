import { api, el, hasPath, labelCells, latest, pageReady } from "./api.js";

const form = document.getElementById("log-filter");
const status = document.getElementById("log-status");
const fetchLogs = latest((params) => api(`/api/logs?${params}`));

async function load() {
  if (!(await hasPath("/api/logs"))) { status.textContent = "Recent logs are not available on this server yet; read the server's output."; return; }
  const params = new URLSearchParams({ limit: form.elements.limit.value });
  if (form.elements.level.value) params.set("level", form.elements.level.value);
  if (form.elements.q.value.trim()) params.set("q", form.elements.q.value.trim());
  const data = await fetchLogs(params);
  if (data === null) return; // a newer filter was asked for meanwhile
  const records = Array.isArray(data) ? data : data.records || data.items || [];
  document.querySelector("#logs tbody").replaceChildren(...records.map((r) => el("tr", {},
    el("td", {}, r.time ? new Date(r.time).toLocaleString() : ""), el("td", {}, r.level || r.levelname || ""),
    el("td", {}, r.logger || r.name || ""), el("td", {}, el("pre", {}, r.message || r.msg || "")))));
  labelCells(document.getElementById("logs"));
  status.textContent = `${records.length} line(s).`;
}

form.addEventListener("submit", (event) => { event.preventDefault(); load().catch((e) => { status.textContent = e.message; }); });
load().catch((e) => { status.textContent = e.message; }).finally(pageReady);
