import { api, el, entryTitle, hasPath, pageReady, time } from "./api.js";

function progress(now) {
  const entry = now.entry;
  if (!entry) return el("p", { class: "hint" }, now.reason || "Nothing scheduled");
  const start = Date.parse(entry.start), finish = Date.parse(entry.finish), at = Date.parse(now.at);
  const percent = Math.max(0, Math.min(100, Math.round((100 * (at - start)) / (finish - start))));
  return el("div", {},
    el("p", {}, entryTitle(entry)),
    el("progress", { max: 100, value: percent, "aria-label": `${percent}% of the programme played` }),
    el("small", {}, `${time(entry.start)} – ${time(entry.finish)}`));
}

function stat(label, value) { return el("div", {}, el("dt", {}, label), el("dd", {}, value)); }

function containmentWarnings(state) {
  const found = [];
  const containment = state && state.containment;
  if (containment && (containment.blocked || containment.contained || containment.active)) {
    const reasons = containment.reasons || containment.reason || "the station is under stress";
    found.push([`Automation is contained: ${Array.isArray(reasons) ? reasons.join(", ") : reasons}`, "bad"]);
  }
  return found;
}

async function agentState() {
  if (!(await hasPath("/api/agent/state"))) return null;
  try { return await api("/api/agent/state"); } catch { return null; }
}

async function refresh() {
  const [status, state] = await Promise.all([api("/api/status"), agentState()]);
  document.getElementById("stats").replaceChildren(
    stat("Viewers", status.viewers),
    stat("Channels streaming", status.live_channels),
    stat("FFmpeg processes", `${status.ffmpeg_processes} / ${status.ffmpeg_max}`),
    stat("Restarts", status.restarts_denied ? `${status.restarts} (${status.restarts_denied} refused)` : status.restarts),
  );
  const onair = status.channels.filter((c) => c.channel.enabled).map((c) => el("li", {},
    el("h3", {}, el("a", { href: `/watch/${encodeURIComponent(c.channel.number)}` }, `${c.channel.number} · ${c.channel.name}`)),
    progress(c.now),
    c.live ? el("small", {}, `Streaming to ${c.viewers} viewer${c.viewers === 1 ? "" : "s"}`) : null));
  document.getElementById("onair").replaceChildren(...(onair.length ? onair : [el("li", {}, "No channels yet. ", el("a", { href: "/channels/new" }, "Create one"))]));
  const scans = status.libraries.map((lib) => {
    const scan = lib.scan;
    const label = scan ? `${scan.status}, ${scan.percent}% (${scan.counts.processed} of ${scan.counts.total} files, ${scan.counts.failed} failed)` : lib.last_scan_at ? `last scanned ${new Date(lib.last_scan_at).toLocaleString()}` : "never scanned";
    return el("li", {}, el("a", { href: `/libraries/${lib.id}` }, lib.name), `: ${label}`,
      scan && scan.status === "running" ? el("progress", { max: 100, value: scan.percent, "aria-label": `${lib.name} scan progress` }) : null);
  });
  document.getElementById("scans").replaceChildren(...(scans.length ? scans : [el("li", {}, "No libraries.")]));
  const warnings = [];
  if (status.guide_problem) warnings.push([`The guide is refused: ${status.guide_problem}`, "bad"]);
  else if (status.guide_failures) warnings.push([`The guide failed validation ${status.guide_failures} time(s) since start-up`, ""]);
  for (const c of status.channels) {
    if (c.breaker !== "closed") warnings.push([`Channel ${c.channel.number}: restart breaker ${c.breaker.replace("_", "-")}`, "bad"]);
    for (const w of c.warnings) warnings.push([`Channel ${c.channel.number}: ${w.message}`, ""]);
  }
  warnings.push(...containmentWarnings(state));
  document.getElementById("warnings").replaceChildren(...warnings.map(([text, kind]) => el("li", { class: kind }, text)));
  document.getElementById("warnings-section").hidden = !warnings.length;
}

async function loop() {
  try { await refresh(); pageReady(); } catch (error) { document.getElementById("toast").textContent = `Could not load the status: ${error.message}`; }
  setTimeout(loop, 5000);
}
loop();
