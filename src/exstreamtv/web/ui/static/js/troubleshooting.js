import { api, el, field, hasPath, showErrors, toast } from "./api.js";

const form = document.getElementById("ask-form");

// A JSON value as nested description lists (depth-limited); text only, never HTML.
function describe(value, depth = 0) {
  if (value === null || value === undefined) return el("span", {}, "none");
  if (typeof value !== "object") return el("span", {}, String(value));
  if (depth > 3) return el("span", {}, JSON.stringify(value));
  if (Array.isArray(value)) return value.length ? el("ul", {}, value.map((v) => el("li", {}, describe(v, depth + 1)))) : el("span", {}, "none");
  return el("dl", { class: "kv" }, Object.entries(value).flatMap(([k, v]) => [el("dt", {}, k.replaceAll("_", " ")), el("dd", {}, describe(v, depth + 1))]));
}

const missing = (what) => el("p", {}, `${what} is not available on this server yet.`);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = document.getElementById("answer");
  if (!(await hasPath("/api/troubleshoot"))) { answer.replaceChildren(missing("Troubleshooting")); return; }
  const question = field(form, "question").value.trim();
  if (!question) { field(form, "question").focus(); return; }
  answer.replaceChildren(el("p", {}, "Thinking…"));
  try {
    const result = await api("/api/troubleshoot", { method: "POST", body: { question } });
    const { answer: text, evidence, ...rest } = result;
    answer.replaceChildren(el("h3", {}, "Answer"), el("p", {}, text || ""),
      el("h3", {}, "Evidence"), describe(evidence || []), describe(rest));
  } catch (error) {
    answer.replaceChildren();
    showErrors(form, error);
  }
});

async function act(id, verdict) {
  try {
    await api(`/api/agent/approvals/${encodeURIComponent(id)}/${verdict}`, { method: "POST" });
    toast(`Action ${verdict === "approve" ? "approved" : "rejected"}`);
  } catch (error) { toast(error.message); }
  refresh();
}

function approval(item) {
  const id = item.id ?? item.approval_id;
  const label = item.tool || item.action || "action";
  return el("li", { "data-approval": id },
    el("h3", {}, `${label}${item.channel_id ? ` (channel id ${item.channel_id})` : ""}`),
    describe(item),
    el("button", { type: "button", onclick: () => act(id, "approve"), "aria-label": `Approve ${label} ${id}` }, "Approve"),
    el("button", { type: "button", class: "danger", onclick: () => act(id, "reject"), "aria-label": `Reject ${label} ${id}` }, "Reject"));
}

async function section(path, target, render, what) {
  const box = document.getElementById(target);
  if (!(await hasPath(path))) { box.replaceChildren(missing(what)); return; }
  const data = await api(path);
  const list = Array.isArray(data) ? data : data.items || data.runs || data.approvals;
  box.replaceChildren(...render(list === undefined ? data : list));
}

async function refresh() {
  await Promise.all([
    section("/api/agent/state", "agent-state", (state) => [describe(state)], "The agent's state"),
    section("/api/agent/approvals", "approvals", (items) => {
      const pending = items.filter((i) => !i.status || i.status === "pending");
      return pending.length ? pending.map(approval) : [el("li", {}, "Nothing is waiting for approval.")];
    }, "Approvals"),
    section("/api/agent/runs", "runs", (runs) => runs.length ? runs.slice(0, 20).map((r) => el("li", {}, describe(r))) : [el("li", {}, "No runs yet.")], "The agent's runs"),
  ]);
}
window.troubleshootingLoaded = refresh().catch((error) => toast(error.message));
