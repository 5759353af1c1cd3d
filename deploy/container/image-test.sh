#!/bin/sh
# Start the image under podman (loopback only), wait for /healthz, check the demo channel
# streams MPEG-TS, and stop it.  sh deploy/container/image-test.sh [TAG]
set -eu
tag=${1:-exstreamtv:latest}
name=exstreamtv-image-test
port=18411
podman rm -f "$name" >/dev/null 2>&1 || true
podman run -d --name "$name" -p "127.0.0.1:$port:8411" \
  --health-cmd "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8411/healthz', timeout=4)\"" \
  "$tag" >/dev/null
trap 'podman rm -f "$name" >/dev/null' EXIT
i=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
  i=$((i + 1)); [ "$i" -lt 120 ] || { podman logs "$name"; exit 1; }; sleep 1
done
echo "healthz: ok"
podman healthcheck run "$name" && echo "container healthcheck: ok"
curl -s --max-time 8 "http://127.0.0.1:$port/iptv/channel/1.ts" -o /tmp/exstreamtv-image.ts || true
ffprobe -v error -show_entries stream=codec_type -of csv=p=0 /tmp/exstreamtv-image.ts | sort -u
