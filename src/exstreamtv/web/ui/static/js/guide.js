import { api, duration, el, time } from "./api.js";

const PX_PER_MIN = 4;
const dialog = document.getElementById("details");

function details(p, channel, opener) {
  document.getElementById("details-title").textContent = p.title;
  const rows = [
    ["Channel", `${channel.number} · ${channel.name}`],
    ["Time", `${time(p.start)} – ${time(p.stop)} (${duration(Date.parse(p.stop) - Date.parse(p.start))})`],
    ["Episode", p.sub_title],
    ["Season and episode", p.season !== null && p.episode !== null ? `S${p.season}E${p.episode}` : null],
    ["Year", p.year], ["Rating", p.rating], ["Categories", p.categories.join(", ") || null],
    ["Description", p.description],
  ].filter(([, value]) => value !== null && value !== undefined && value !== "");
  document.getElementById("details-body").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  dialog.addEventListener("close", () => opener.focus(), { once: true });
  dialog.showModal();
}

async function load() {
  const hours = Number(document.getElementById("hours").value);
  const guide = await api(`/api/guide?hours=${hours}`);
  const now = Date.now();
  const origin = now - (now % (30 * 60_000));
  const end = now + hours * 3_600_000;
  const width = ((end - origin) / 60_000) * PX_PER_MIN;
  const x = (t) => ((Math.max(t, origin) - origin) / 60_000) * PX_PER_MIN;
  const ticks = [];
  for (let t = origin; t < end; t += 30 * 60_000) ticks.push(el("span", { class: "tick", style: { left: `${x(t)}px` } }, time(new Date(t).toISOString())));
  const ruler = el("div", { class: "ruler", "aria-hidden": "true" }, el("div", { class: "chname" }, "Channel"), el("div", { class: "track", style: { width: `${width}px` } }, ticks));
  const byChannel = new Map(guide.channels.map((c) => [c.id, []]));
  for (const p of guide.programmes) byChannel.get(p.channel_id)?.push(p);
  const rows = guide.channels.map((channel) => {
    const buttons = byChannel.get(channel.id).map((p) => {
      const start = Date.parse(p.start), stop = Date.parse(p.stop);
      const left = x(start), right = x(Math.min(stop, end));
      const onNow = start <= now && now < stop;
      const button = el("button", {
        type: "button", class: `prog ${p.kind}${onNow ? " now" : ""}`, style: { left: `${left}px`, width: `${Math.max(right - left - 2, 2)}px` },
        "aria-label": `${p.title}${p.sub_title ? `: ${p.sub_title}` : ""}, ${time(p.start)} to ${time(p.stop)}${onNow ? ", on now" : ""}`,
      }, p.title);
      button.addEventListener("click", () => details(p, channel, button));
      return button;
    });
    return el("section", { class: "gch", "aria-label": `Channel ${channel.number} ${channel.name}` },
      el("div", { class: "chname" }, el("a", { href: `/watch/${encodeURIComponent(channel.number)}` }, `${channel.number} ${channel.name}`)),
      el("div", { class: "track", style: { width: `${width}px` } }, buttons));
  });
  document.getElementById("guide").replaceChildren(ruler, ...rows);
  document.getElementById("guide-status").textContent = `${guide.channels.length} channels, ${guide.programmes.length} programmes over ${hours} hours.`;
}

document.getElementById("hours").addEventListener("change", () => load().catch((e) => { document.getElementById("guide-status").textContent = e.message; }));
load().catch((e) => { document.getElementById("guide-status").textContent = e.message; });
