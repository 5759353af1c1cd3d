import { api, entryTitle, time } from "./api.js";

const main = document.querySelector("main");
const number = main.dataset.number;
const video = document.getElementById("video");
const status = document.getElementById("player-status");
const source = `/iptv/channel/${encodeURIComponent(number)}.m3u8`;

function say(text) { status.textContent = text; }

function start() {
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ liveSyncDurationCount: 3, manifestLoadingMaxRetry: 4, levelLoadingMaxRetry: 4 });
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      const code = data.response && data.response.code;
      say(code === 503 ? "The stream is not available right now (all tuners busy, or the channel cannot start). Try again shortly." : `Playback stopped: ${data.details}.`);
      hls.destroy();
    });
    hls.loadSource(source);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = source;
  } else {
    say(main.dataset.hlsjs === "yes"
      ? "This browser cannot play HLS. Open the MPEG-TS stream in a player instead."
      : "In-browser playback needs hls.js, which is not installed on this server (make run installs it from npm). Open the MPEG-TS stream in a player instead.");
    return;
  }
  video.addEventListener("playing", () => say("Playing (muted: use the controls to unmute)."), { once: true });
  video.play().catch(() => say("Press play to start."));
}

async function nowPlaying() {
  try {
    const now = await api(`/api/channels/${encodeURIComponent(number)}/now`);
    const entry = now.entry;
    document.getElementById("now").textContent = entry ? `On now: ${entryTitle(entry)} (${time(entry.start)} – ${time(entry.finish)})` : now.reason;
  } catch (error) {
    document.getElementById("now").textContent = error.message;
  }
  setTimeout(nowPlaying, 15000);
}

start();
nowPlaying();
