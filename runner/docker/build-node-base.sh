#!/usr/bin/env bash
# Builds local/node:20-bookworm, the base of the DevSys image where no container registry is
# reachable (`docker build --build-arg BASE_IMAGE=local/node:20-bookworm .`): the host's own
# Node.js 20 (binary, npm and headers) copied onto local/debian:bookworm (build-images.sh makes
# that one). Kept when it exists with the host's Node version on the current Debian base
# (FORCE=1 rebuilds it). Needs a running dockerd; no network.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
base=local/debian:bookworm
image="${NODE_BASE_IMAGE:-local/node:20-bookworm}"

node_bin="$(readlink -f "$(command -v node)")"
version="$("$node_bin" --version)"
case "$version" in
  v20.*) ;;
  *) echo "$image needs Node.js 20 on this host; node is $version ($node_bin)" >&2; exit 1 ;;
esac
npm_dir="$(npm root -g 2>/dev/null)/npm"
headers="$(dirname "$node_bin")/../include/node"
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "npm not found at $npm_dir" >&2; exit 1; }
[ -f "$headers/node.h" ] || {
  echo "Node's headers are missing from $headers: node-gyp would download them (no network)" >&2
  exit 1
}
base_id="$(docker image inspect --format '{{.Id}}' "$base" 2>/dev/null)" || {
  echo "$base is missing: run runner/docker/build-images.sh" >&2
  exit 1
}

label() { docker image inspect --format "{{ index .Config.Labels \"$1\" }}" "$image" 2>/dev/null; }
if [ "${FORCE:-0}" != 1 ] && [ "$(label org.devsys.node-version)" = "$version" ] &&
  [ "$(label org.devsys.base-id)" = "$base_id" ]; then
  echo "$image exists (node $version)"
else
  echo "building $image from the host's node $version and npm $(npm --version 2>/dev/null)"
  context="$(mktemp -d /tmp/devsys-node-base.XXXXXX)"
  trap 'rm -rf "$context"' EXIT
  cp "$here/images/node/Dockerfile" "$context/"
  cp "$node_bin" "$context/node"
  cp -a "$npm_dir" "$context/npm"
  cp -a "$headers/." "$context/include"
  # The certificates the host trusts that neither Node nor Debian's ca-certificates package
  # (/usr/share/ca-certificates) has: none on most machines.
  ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
  mkdir "$context/ca"
  "$node_bin" -e '
    const { readdirSync, readFileSync, writeFileSync } = require("node:fs")
    const { join } = require("node:path")
    const [file, distro, dir] = process.argv.slice(1)
    const pems = (path) => {
      try {
        return readFileSync(path, "utf8").match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []
      } catch {
        return []
      }
    }
    const key = (pem) => pem.replace(/\s+/g, "")
    const known = new Set(require("node:tls").rootCertificates.map(key))
    try {
      for (const entry of readdirSync(distro, { recursive: true }))
        for (const pem of pems(join(distro, String(entry)))) known.add(key(pem))
    } catch {}
    const extra = [...new Map(pems(file).filter((pem) => !known.has(key(pem))).map((pem) => [key(pem), pem])).values()]
    extra.forEach((pem, i) => writeFileSync(`${dir}/ca/host-${i}.crt`, `${pem}\n`))
    writeFileSync(`${dir}/extra-ca.pem`, extra.map((pem) => `${pem}\n`).join(""))
    console.log(`${extra.length} extra CA certificate(s) from ${file}`)
  ' "$ca" /usr/share/ca-certificates "$context"
  log="$context.log"
  docker build -t "$image" --build-arg "NODE_VERSION=$version" \
    --label "org.devsys.base-id=$base_id" "$context" >"$log" 2>&1 || {
    tail -n 30 "$log" >&2
    rm -f "$log"
    exit 1
  }
  rm -f "$log"
fi
docker image inspect --format '{{.RepoTags}} {{.Size}} bytes' "$image"
