#!/usr/bin/env bash
# A local Debian base image, for machines that reach Debian's mirror but no image registry.
#
#   DOCKER_HOST=... scripts/docker/base.sh [TAG]     # default TAG: gatescope-base:bookworm
#
# debootstrap (minbase, ~40 s) writes a root file system once; its tarball is cached under
# the cache dir and imported on later runs in a second. The host's extra CA certificates are
# copied in so HTTPS through an intercepting proxy works inside builds; build with
# --build-arg PIP_CERT=/etc/ssl/certs/ca-certificates.crt so pip trusts them too.
set -euo pipefail

TAG=${1:-gatescope-base:bookworm}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${GATESCOPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gatescope}
TARBALL="$CACHE/debian-$SUITE-minbase.tar"

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "$TAG is already in the engine" >&2
  exit 0
fi

if [ ! -s "$TARBALL" ]; then
  if [ "$(id -u)" != 0 ]; then echo "debootstrap needs root" >&2; exit 2; fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  mkdir -p "$CACHE"
  root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  echo "debootstrap $SUITE into $root (about 40 s)..." >&2
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$root" "$MIRROR" >&2
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >&2
  fi
  # Behave like Debian's official images: apt keeps no .debs and fetches no translations.
  printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
    'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' >"$root/etc/apt/apt.conf.d/docker-clean"
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  # Keep the image lean: no package lists, no docs, no caches.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*
  tar --numeric-owner -C "$root" -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
fi

echo "importing $TARBALL as $TAG" >&2
docker import "$TARBALL" "$TAG" >/dev/null
