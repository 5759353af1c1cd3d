import { api, clearErrors, el, entryTitle, field, showErrors, toast } from "./api.js";

// Plan a channel from a sentence (POST /api/channel-plans), show what it would create and
// air, and create it only when "Create channel" is pressed (POST .../apply, confirm: true).
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const planForm = document.getElementById("plan-form");
const applyForm = document.getElementById("apply-form");
const section = document.getElementById("plan");
const details = document.getElementById("plan-details");
let current = null;

field(planForm, "timezone").value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const days = (weekdays) => (weekdays.length ? weekdays.map((d) => DAYS[d]).join(", ") : "Every day");

function describeCollection(item) {
  const examples = item.examples.length ? ` · e.g. ${item.examples.join(", ")}` : "";
  return el("li", {}, el("strong", {}, item.label), ` · ${item.items} item(s)${examples}`);
}

function render(plan) {
  const zone = plan.timezone;
  const at = (iso) => new Date(iso).toLocaleString([], { timeZone: zone, weekday: "short", hour: "2-digit", minute: "2-digit" });
  details.replaceChildren(
    el("p", {}, `Read by the ${plan.mode}. Times are in ${zone}. This plan expires at ${new Date(plan.expires_at).toLocaleTimeString()}.`),
    plan.notes.length ? el("ul", { class: "warnings" }, plan.notes.map((n) => el("li", {}, n))) : "",
    el("h3", {}, "Collections"),
    el("ul", { class: "plain", id: "plan-collections" }, plan.collections.map(describeCollection)),
    el("h3", {}, "Every week"),
    el("div", { class: "table-wrap" }, el("table", { id: "plan-slots" },
      el("caption", { class: "sr-only" }, "Weekly slots"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "From"), el("th", { scope: "col" }, "Days"), el("th", { scope: "col" }, "Plays"))),
      el("tbody", {}, plan.slots.map((s) => el("tr", {}, el("td", {}, s.start), el("td", {}, days(s.weekdays)), el("td", {}, s.title)))))),
    el("h3", {}, "Filler"),
    el("p", {}, plan.filler ? `${plan.filler.label} (${plan.filler.items} item(s)) fills the end of each slot.` : "None: the offline slate fills gaps."),
    el("h3", {}, "Coming up"),
    el("ol", { class: "plain", id: "plan-preview" }, plan.preview.entries.slice(0, 12).map((e) => el("li", {}, `${at(e.start)} · ${entryTitle(e)}`))),
  );
  field(applyForm, "name").value = plan.name;
  field(applyForm, "number").value = plan.number;
  section.hidden = false;
}

planForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(planForm);
  const sentence = field(planForm, "sentence").value.trim();
  if (!sentence) { field(planForm, "sentence").focus(); return; }
  try {
    current = await api("/api/channel-plans", { method: "POST", body: { sentence, timezone: field(planForm, "timezone").value.trim() || "UTC" } });
    render(current);
    document.getElementById("plan-h").focus?.();
  } catch (error) {
    section.hidden = true;
    showErrors(planForm, error);
  }
});

applyForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current) return;
  const body = { confirm: true, name: field(applyForm, "name").value.trim() || null, number: field(applyForm, "number").value.trim() || null };
  try {
    const channel = await api(`/api/channel-plans/${encodeURIComponent(current.id)}/apply`, { method: "POST", body });
    toast(`Channel ${channel.number} created`);
    location.assign("/channels");
  } catch (error) { showErrors(applyForm, error); }
});

document.getElementById("discard").addEventListener("click", async () => {
  if (!current) return;
  try { await api(`/api/channel-plans/${encodeURIComponent(current.id)}`, { method: "DELETE" }); } catch { /* expired already */ }
  current = null;
  section.hidden = true;
  toast("Plan discarded: nothing was saved");
});
