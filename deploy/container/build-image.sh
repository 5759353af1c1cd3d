#!/bin/sh
# Build the EXStreamTV image from Debian packages alone (no image registry needed):
# mmdebstrap makes the root filesystem, podman imports it with the image settings.
#   sh deploy/container/build-image.sh dist/exstreamtv-0.1.0-py3-none-any.whl [TAG]
# Needs root, mmdebstrap and podman (Debian packages), Python 3.11 with pip (the wheels of
# the locked dependencies are fetched here, so the image is built with no network inside),
# and access to Debian's and PyPI's packages.
set -eu
wheel=$(realpath "$1")
tag=${2:-exstreamtv:latest}
lock=$(dirname "$0")/../../requirements.lock
lock=$(realpath "$lock")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$wheel" "$lock" "$work/"
python3 -m pip wheel --quiet -r "$lock" -w "$work/wheels"
mmdebstrap --variant=apt --mode=root \
  --include=python3,python3-venv,ffmpeg,ca-certificates,tini \
  --customize-hook="mkdir -p \"\$1/opt/exstreamtv\" && cp -r $work/*.whl $work/wheels $work/requirements.lock \"\$1/opt/exstreamtv/\"" \
  --customize-hook='chroot "$1" python3 -m venv /opt/exstreamtv/venv' \
  --customize-hook='chroot "$1" /opt/exstreamtv/venv/bin/pip install --no-cache-dir --no-index --find-links /opt/exstreamtv/wheels -r /opt/exstreamtv/requirements.lock' \
  --customize-hook='rm -rf "$1/opt/exstreamtv/wheels"' \
  --customize-hook='chroot "$1" sh -c "/opt/exstreamtv/venv/bin/pip install --no-cache-dir --no-deps /opt/exstreamtv/*.whl"' \
  --customize-hook='chroot "$1" useradd --system --uid 1000 --home-dir /data --shell /usr/sbin/nologin exstreamtv' \
  --customize-hook='mkdir -p "$1/data" && chroot "$1" chown exstreamtv:exstreamtv /data && chmod 700 "$1/data"' \
  --customize-hook='rm -rf "$1/var/lib/apt/lists/"* "$1/var/cache/apt/"*' \
  bookworm "$work/rootfs.tar"
podman import \
  --change 'USER exstreamtv' \
  --change 'VOLUME /data' \
  --change 'EXPOSE 8411' \
  --change 'ENV EXSTREAMTV_DATA_DIR=/data' \
  --change 'ENV EXSTREAMTV_SERVER__HOST=0.0.0.0' \
  --change 'ENV PATH=/opt/exstreamtv/venv/bin:/usr/local/bin:/usr/bin:/bin' \
  --change 'ENTRYPOINT ["tini", "--", "exstreamtv"]' \
  --change 'CMD ["serve"]' \
  "$work/rootfs.tar" "$tag"
podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "image size: %.0f MiB\n", $1/1048576}'
