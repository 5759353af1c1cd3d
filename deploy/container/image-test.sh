#!/bin/sh
# Start the image under podman (loopback only), wait for /healthz, run its healthcheck,
# check it runs as a non-root user with /data as a volume and FFmpeg inside, check the demo
# channel streams MPEG-TS with picture and sound, and remove it.
#   sh deploy/container/image-test.sh [TAG]
# On a host where podman's default runtime cannot start containers (no CAP_SYS_RESOURCE to
# set the image's limits, or cgroups in hybrid mode, as in some VMs and CI sandboxes), it
# retries with runc and the limits this shell already has.
set -eu
tag=${1:-exstreamtv:latest}
name=exstreamtv-image-test-$$
port=${IMAGE_TEST_PORT:-18411}
health="python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8411/healthz', timeout=4)\""
trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
start() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman "$@" run -d --name "$name" -p "127.0.0.1:$port:8411" --health-cmd "$health" "$tag" >/dev/null
}
if ! start 2>/tmp/exstreamtv-image-test.err; then
  command -v runc >/dev/null || { cat /tmp/exstreamtv-image-test.err >&2; exit 1; }
  echo "podman's default runtime failed ($(tail -n 1 /tmp/exstreamtv-image-test.err)); retrying with runc"
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman --runtime runc run -d --name "$name" -p "127.0.0.1:$port:8411" --health-cmd "$health" \
    --ulimit "nofile=$(ulimit -n):$(ulimit -n)" --ulimit "nproc=4096:4096" "$tag" >/dev/null
fi
i=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
  i=$((i + 1)); [ "$i" -lt 120 ] || { podman logs "$name"; exit 1; }; sleep 1
done
echo "healthz: ok"
podman healthcheck run "$name" && echo "container healthcheck: ok"
uid=$(podman exec "$name" id -u)
[ "$uid" != 0 ] || { echo "the container runs as root" >&2; exit 1; }
echo "user: uid $uid"
podman image inspect --format '{{json .Config.Volumes}}' "$tag" | grep -q '"/data"' \
  || { echo "/data is not a volume" >&2; exit 1; }
echo "volume: /data"
podman exec "$name" ffmpeg -version | head -n 1
podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "image size: %.0f MiB\n", $1/1048576}'
curl -s --max-time 8 "http://127.0.0.1:$port/iptv/channel/1.ts" -o /tmp/exstreamtv-image.ts || true
kinds=$(ffprobe -v error -show_entries stream=codec_type -of csv=p=0 /tmp/exstreamtv-image.ts | sort -u | tr '\n' ' ')
echo "demo stream: $kinds"
case "$kinds" in *audio*video*) ;; *) echo "the demo channel did not stream picture and sound" >&2; exit 1 ;; esac
