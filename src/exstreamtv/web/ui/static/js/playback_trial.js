import { api, debounce, duration, el, field, pageReady, showErrors, toast } from "./api.js";

// Troubleshooting playback: start a trial, follow it, then show its command, FFmpeg's log,
// the two probes, and play what it made (mpegts.js: the result is an MPEG-TS file).
const form = document.getElementById("trial-form");
const box = document.getElementById("trial");
const status = document.getElementById("trial-status");
let player = null;

function label(m) {
  const episode = m.show ? `${m.show}${m.season !== null ? ` S${m.season}E${m.episode ?? "?"}` : ""} · ` : "";
  return `${episode}${m.title} (${m.duration_ms ? duration(m.duration_ms) : "length unknown"})`;
}

async function search() {
  const q = document.getElementById("trial-q").value.trim();
  const params = new URLSearchParams({ limit: 50 });
  if (q) params.set("q", q);
  const page = await api(`/api/media?${params}`);
  const select = field(form, "media_id");
  select.replaceChildren(...(page.items.length ? page.items.map((m) => el("option", { value: m.id }, label(m))) : [el("option", { value: "" }, "No item matches")]));
}

function probe(title, info, problem) {
  const rows = info ? [
    ["Length", duration(info.duration_ms)], ["Container", info.container],
    ["Video", info.video_codec ? `${info.video_codec} ${info.width}×${info.height} ${info.fps ?? "?"} fps ${info.pixel_format ?? ""}` : "none"],
    ["Audio", info.audio_codec ? `${info.audio_codec} ${info.audio_channels} ch ${info.sample_rate} Hz` : "none"],
  ] : [];
  return el("div", {}, el("h3", {}, title), problem ? el("p", { class: "hint" }, problem) : null,
    rows.length ? el("dl", { class: "kv" }, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "unknown")])) : el("p", {}, "Nothing to show."));
}

function show(trial) {
  player?.destroy();
  player = null;
  const facts = [
    `${trial.title} with ${trial.profile}`, trial.status,
    trial.speed ? `made ${trial.speed}× faster than real time` : null, `${trial.elapsed_sec} s`,
  ].filter(Boolean).join(" · ");
  const video = trial.output_url ? el("video", { id: "trial-video", controls: true, muted: true, playsinline: true, "aria-label": `Result of troubleshooting playback ${trial.id}` }) : null;
  box.replaceChildren(
    el("p", { class: trial.status === "failed" ? "notice bad" : "notice" }, facts, trial.error ? `: ${trial.error}` : ""),
    video ? el("div", { class: "player" }, video) : null,
    el("h3", { id: "trial-command-h" }, "FFmpeg command"),
    el("pre", { class: "code", tabindex: "0", "aria-labelledby": "trial-command-h" }, trial.command_line || "(not started)"),
    el("h3", { id: "trial-log-h" }, "FFmpeg log"),
    el("pre", { class: "code", tabindex: "0", "aria-labelledby": "trial-log-h" }, trial.log || "(empty: FFmpeg said nothing)"),
    el("div", { class: "pair" }, probe("The item (ffprobe)", trial.source, trial.source_problem), probe("The result (ffprobe)", trial.output, null)));
  if (video && window.mpegts?.getFeatureList().mseLivePlayback) {
    player = window.mpegts.createPlayer({ type: "mpegts", isLive: false, url: trial.output_url });
    player.attachMediaElement(video);
    player.load();
    video.play().catch(() => {});
  } else if (video) {
    box.insertBefore(el("p", {}, el("a", { href: trial.output_url }, "Download the result")), video.parentElement);
  }
}

async function follow(id) {
  for (;;) {
    const trial = await api(`/api/troubleshooting/playback/${id}`);
    if (trial.status !== "running") {
      status.textContent = trial.status === "succeeded" ? "Done: the result plays below." : "It failed: the log below says why.";
      show(trial);
      return;
    }
    status.textContent = `Playing ${trial.title} through the channel pipeline…`;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const media = field(form, "media_id").value;
  if (!media) { toast("Choose an item first"); document.getElementById("trial-q").focus(); return; }
  const body = {
    media_id: Number(media), profile_id: field(form, "profile_id").value ? Number(field(form, "profile_id").value) : null,
    start_sec: Number(field(form, "start_sec").value) || 0, seconds: Number(field(form, "seconds").value) || 30,
  };
  try {
    const trial = await api("/api/troubleshooting/playback", { method: "POST", body });
    await follow(trial.id);
  } catch (error) { showErrors(form, error); }
});

const searchSoon = debounce(() => search().catch((error) => toast(error.message)), 350);
document.getElementById("trial-q").addEventListener("input", searchSoon);
document.getElementById("trial-search").addEventListener("click", () => search().catch((error) => toast(error.message)));

async function init() {
  const [profiles, kept] = await Promise.all([api("/api/stream-profiles"), api("/api/troubleshooting/playback")]);
  field(form, "profile_id").append(...profiles.map((p) => el("option", { value: p.id }, `${p.name} (${p.mode}, ${p.width}×${p.height})`)));
  await search();
  if (kept.length) { status.textContent = "The last troubleshooting playback:"; show(kept[0]); }
}
Promise.all([init(), window.troubleshootingLoaded]).catch((error) => toast(error.message)).finally(pageReady);
