import { api, entryTitle, hasPath, pageReady, parametersOf, time } from "./api.js";

// The watch page plays the channel's MPEG-TS (mpegts.js) or HLS (native or hls.js), chosen
// automatically or by the viewer, and says plainly why it cannot when the server refuses.
// Streams are asked for with the page's own credentials (a signed-in browser's session
// stands in for the access token); no token is ever put into the page.
const main = document.querySelector("main");
const number = main.dataset.number;
let video = document.getElementById("video");
const status = document.getElementById("player-status");
const choice = document.getElementById("player-kind");
const base = `/iptv/channel/${encodeURIComponent(number)}`;
const STORE = "exstreamtv.player";
let stop = () => {};
// What plays: the live channel, or a replay of its past ({ start, end, title }) from the
// catch-up URLs (MPEG-TS or HLS, like the live channel).
let replay = null;
const replayQuery = () => new URLSearchParams({ start: replay.start, end: replay.end });
const tsUrl = () => (replay ? `${base}/catchup.ts?${replayQuery()}` : `${base}.ts`);
const hlsUrl = () => (replay ? `${base}/catchup.m3u8?${replayQuery()}` : `${base}.m3u8`);

function say(text, link) {
  status.replaceChildren(text);
  if (link) {
    const a = document.createElement("a");
    a.href = link.href;
    a.textContent = link.text;
    status.append(" ", a);
  }
}

// Why a stream request failed, in words, from its HTTP status.
function refusal(code) {
  if (code === 401) return ["This server asks for its access token for streams.", { href: `/login?next=${encodeURIComponent(location.pathname)}`, text: "Sign in to watch here." }];
  if (code === 403) return ["The server refused the stream for this browser."];
  if (code === 404 && replay) return ["Catch-up is off on this server, or the channel was disabled or removed."];
  if (code === 410) return ["That programme can no longer be replayed: it is older than the catch-up days, or its file is gone."];
  if (code === 404) return ["This channel is not available: it was disabled or removed."];
  if (code === 503) return ["All tuners are busy, or the channel cannot start right now. Try again in a moment."];
  return [code ? `The stream failed (HTTP ${code}).` : "The stream could not be reached."];
}

const nativeHls = () => video.canPlayType("application/vnd.apple.mpegurl") !== "";
const mpegtsReady = () => Boolean(window.mpegts && window.mpegts.getFeatureList().mseLivePlayback);
const hlsJsReady = () => Boolean(window.Hls && window.Hls.isSupported());

// The player for this browser: MPEG-TS through Media Source Extensions where it can (it
// starts fastest, with the channel's first picture at once), else HLS through hls.js, else
// the browser's own HLS (an iPhone without Media Source Extensions).
function pick(wanted) {
  const hls = hlsJsReady() ? "hlsjs" : nativeHls() ? "native" : null;
  if (wanted === "ts") return mpegtsReady() ? "ts" : null;
  if (wanted === "hls") return hls;
  return mpegtsReady() ? "ts" : hls;
}

// A new video element for each player: one player's leftovers never confuse the next.
function freshVideo() {
  const next = video.cloneNode(false);
  next.muted = true; // a copied attribute does not always mute: autoplay needs it muted
  video.replaceWith(next);
  video = next;
}

function playTs() {
  const player = window.mpegts.createPlayer({ type: "mpegts", isLive: true, url: tsUrl() },
    { enableStashBuffer: false, liveBufferLatencyChasing: true, autoCleanupSourceBuffer: true });
  player.on(window.mpegts.Events.ERROR, (type, detail, info) => {
    const code = info && typeof info.code === "number" && info.code > 0 ? info.code : null;
    say(...(type === window.mpegts.ErrorTypes.NETWORK_ERROR ? refusal(code) : [`Playback stopped: ${detail}.`]));
  });
  player.attachMediaElement(video);
  player.load();
  return () => { player.pause(); player.unload(); player.detachMediaElement(); player.destroy(); };
}

function playHlsJs() {
  // A replay starts at its start, also while it is still airing (an EVENT playlist, which
  // hls.js would otherwise join at its live edge).
  const hls = new window.Hls({ liveSyncDurationCount: 3, manifestLoadingMaxRetry: 4, levelLoadingMaxRetry: 4,
    startPosition: replay ? 0 : -1 });
  hls.on(window.Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    say(...(data.type === window.Hls.ErrorTypes.NETWORK_ERROR ? refusal(data.response && data.response.code) : [`Playback stopped: ${data.details}.`]));
    hls.destroy();
  });
  hls.loadSource(hlsUrl());
  hls.attachMedia(video);
  return () => hls.destroy();
}

function playNative() {
  const url = hlsUrl();
  video.src = url;
  const failed = () => fetch(url, { credentials: "same-origin" })
    .then((r) => say(...(r.ok ? ["This browser could not play the HLS stream."] : refusal(r.status))));
  video.addEventListener("error", failed, { once: true });
  return () => { video.removeEventListener("error", failed); video.removeAttribute("src"); video.load(); };
}

const PLAYERS = { ts: playTs, hlsjs: playHlsJs, native: playNative };
const NAMES = { ts: "MPEG-TS", hlsjs: "HLS", native: "HLS" };

function start() {
  stop();
  freshVideo();
  const wanted = choice.value;
  const kind = pick(wanted);
  if (!kind) {
    const missing = main.dataset.mpegtsjs === "no" && main.dataset.hlsjs === "no";
    say(missing
      ? "In-browser playback needs mpegts.js or hls.js, which are not installed on this server (make run installs them from npm). Open the stream in a player instead."
      : `This browser cannot play ${wanted === "ts" ? "MPEG-TS" : "HLS"} here. Choose another way to play, or open the stream in a player.`);
    stop = () => {};
    return;
  }
  const what = replay ? `${replay.title} from ${time(replay.start)}` : `the ${NAMES[kind]} stream`;
  say(`Starting ${what}…`);
  stop = PLAYERS[kind]();
  const playing = replay ? `Playing ${replay.title} from its start` : `Playing ${NAMES[kind]}`;
  video.addEventListener("playing", () => say(`${playing} (muted: use the controls to unmute).`), { once: true });
  autoplay(video);
}

// Start playing; a start cut short by the player loading its source (an AbortError) is
// tried again once the element can play, so only a real refusal asks for a click.
function autoplay(element) {
  element.play().catch((error) => {
    if (element !== video) return; // another player has taken over
    if (error && error.name === "AbortError") {
      element.addEventListener("canplay", () => autoplay(element), { once: true });
      return;
    }
    if (!status.textContent.startsWith("Playing")) say("Press play to start.");
  });
}

// "Watch from the start": the programme on now, replayed from its start in this page, when
// this server offers catch-up (its API lists the catch-up stream); "Back to live" returns.
async function startOver(entry) {
  const box = document.getElementById("start-over");
  const path = "/iptv/channel/{number}/catchup.ts";
  if (!(await hasPath(path)) || !(await parametersOf(path)).includes("start")) { box.replaceChildren(); return; }
  const button = document.createElement("button");
  button.type = "button";
  if (replay) {
    button.textContent = "Back to live";
    button.addEventListener("click", () => { replay = null; start(); showNow(); startOver(entry); });
  } else if (entry && new Date(entry.start) < new Date()) {
    button.textContent = `Watch ${entryTitle(entry)} from the start`;
    button.addEventListener("click", () => {
      replay = { start: entry.start, end: entry.finish, title: entryTitle(entry) };
      start();
      showNow();
      startOver(entry);
    });
  } else { box.replaceChildren(); return; }
  box.replaceChildren(button);
}

// A replay asked for in the address (?start=&end=&title=), as the guide links past programmes.
function replayFromAddress() {
  const query = new URLSearchParams(location.search);
  if (!query.get("start") || !query.get("end")) return null;
  return { start: query.get("start"), end: query.get("end"), title: query.get("title") || "The programme" };
}

let onNow = "";
function showNow() {
  document.getElementById("now").textContent = replay ? `Replaying ${replay.title} from ${time(replay.start)}. ${onNow}` : onNow;
}

async function nowPlaying() {
  try {
    const now = await api(`/api/channels/${encodeURIComponent(number)}/now`);
    const entry = now.entry;
    onNow = entry ? `On now: ${entryTitle(entry)} (${time(entry.start)} – ${time(entry.finish)})` : now.reason;
    showNow();
    await startOver(entry);
  } catch (error) {
    document.getElementById("now").textContent = error.message;
  }
  setTimeout(nowPlaying, 15000);
}

choice.value = ["auto", "hls", "ts"].includes(localStorage.getItem(STORE)) ? localStorage.getItem(STORE) : "auto";
choice.addEventListener("change", () => { localStorage.setItem(STORE, choice.value); start(); });
window.addEventListener("pagehide", () => stop());
replay = replayFromAddress();
start();
nowPlaying().finally(pageReady);
