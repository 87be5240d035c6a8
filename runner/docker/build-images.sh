#!/usr/bin/env bash
# Builds the Docker images the docker runner uses, without any registry:
#   1. local/debian:bookworm, a minimal Debian made with debootstrap and `docker import`;
#   2. devsys/php-runner:latest (images/php/Dockerfile) on top of it;
#   3. devsys/php-apache:2 (images/php-apache/Dockerfile), the `php` deploy target;
#   4. devsys/postgres:15 and devsys/redis:7 (images/postgres, images/redis), Debian's PostgreSQL
#      and Redis for the compose stack (docker-compose.yml);
#   5. local/node:20-bookworm (build-node-base.sh), the host's Node.js on that base, to build the
#      DevSys image from (`docker build --build-arg BASE_IMAGE=local/node:20-bookworm .`).
# Idempotent and fast when done: an image that exists is kept (FORCE=1 rebuilds them all).
# Needs root, a running dockerd, debootstrap, and Debian's apt mirror (the first `URIs:` of
# /etc/apt/sources.list.d/debian.sources, or MIRROR=...).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
base=local/debian:bookworm
image="${DOCKER_RUNNER_IMAGE:-devsys/php-runner:latest}"
apache_image="${PHP_APACHE_IMAGE:-devsys/php-apache:2}"
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

# build IMAGE DIR: docker build from images/DIR unless IMAGE exists (or FORCE=1), quiet unless
# it fails.
build() {
  if [ "$force" = 1 ] || ! exists "$1"; then
    echo "building $1"
    local log
    log="$(mktemp /tmp/devsys-build.XXXXXX)"
    docker build --network host -t "$1" "$here/images/$2" >"$log" 2>&1 || {
      tail -n 30 "$log" >&2
      rm -f "$log"
      exit 1
    }
    rm -f "$log"
  else
    echo "$1 exists"
  fi
  docker image inspect --format '{{.RepoTags}} {{.Size}} bytes' "$1"
}
build "$image" php
build "$apache_image" php-apache
build devsys/postgres:15 postgres
build devsys/redis:7 redis
FORCE="$force" bash "$here/build-node-base.sh"
