#!/usr/bin/env bash
# Builds the Docker images the docker runner uses, without any registry:
#   1. local/debian:bookworm, a minimal Debian made with debootstrap and `docker import`;
#   2. devsys/php-runner:latest (images/php/Dockerfile) on top of it.
# Idempotent and fast when done: an image that exists is kept (FORCE=1 rebuilds both).
# Needs root, a running dockerd, debootstrap, and Debian's apt mirror (the first `URIs:` of
# /etc/apt/sources.list.d/debian.sources, or MIRROR=...).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
base=local/debian:bookworm
image="${DOCKER_RUNNER_IMAGE:-devsys/php-runner:latest}"
force="${FORCE:-0}"

exists() { docker image inspect "$1" >/dev/null 2>&1; }

if [ "$force" = 1 ] || ! exists "$base"; then
  mirror="${MIRROR:-}"
  if [ -z "$mirror" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)"
  fi
  mirror="${mirror:-http://deb.debian.org/debian}"
  rootfs="$(mktemp -d /tmp/devsys-rootfs.XXXXXX)"
  trap 'rm -rf "$rootfs"' EXIT
  echo "building $base with debootstrap from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -n 30 "$rootfs.log" >&2
    exit 1
  }
  rm -f "$rootfs.log"
  # No apt caches in the base; the Dockerfile runs apt-get update itself.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  force=1 # a new base invalidates the image built on the old one
else
  echo "$base exists"
fi

if [ "$force" = 1 ] || ! exists "$image"; then
  echo "building $image"
  log="$(mktemp /tmp/devsys-build.XXXXXX)"
  docker build --network host -t "$image" "$here/images/php" >"$log" 2>&1 || {
    tail -n 30 "$log" >&2
    rm -f "$log"
    exit 1
  }
  rm -f "$log"
else
  echo "$image exists"
fi
docker image inspect --format '{{.RepoTags}} {{.Size}} bytes' "$image"
