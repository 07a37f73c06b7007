#!/usr/bin/env bash
# A private Docker engine for the smoke test, for machines where none runs (CI here).
#
#   scripts/docker/engine.sh install   # root: apt-get install docker.io, docker-compose, debootstrap
#                                      # (each only when missing)
#   scripts/docker/engine.sh start     # prints DOCKER_HOST=unix://... once the engine answers
#   scripts/docker/engine.sh stop RUNDIR
#
# The engine runs without a bridge or iptables rules (containers use --network host), with its
# sockets and pid file in a fresh RUNDIR under /tmp (a unix socket path must stay short) and its
# images under the cache dir, so layers and the imported base survive between runs.
set -euo pipefail

CACHE=${GATESCOPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gatescope}

install_engine() {
  # What the smoke test needs and is missing: an engine, Compose, debootstrap for the base.
  local want=()
  if ! command -v dockerd >/dev/null 2>&1 && ! docker version >/dev/null 2>&1; then
    want+=(docker.io)
  fi
  if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
    want+=(docker-compose)
  fi
  command -v debootstrap >/dev/null 2>&1 || want+=(debootstrap)
  [ ${#want[@]} -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "not root on Debian: not installing ${want[*]} (the Docker smoke test may skip)" >&2
    return 0
  fi
  echo "Installing ${want[*]} for the Docker smoke test..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null
}

start_engine() {
  if [ "$(id -u)" != 0 ]; then echo "a private dockerd needs root" >&2; exit 2; fi
  command -v dockerd >/dev/null 2>&1 || { echo "dockerd is not installed" >&2; exit 2; }
  local data="$CACHE/docker" rundir owner
  mkdir -p "$data"
  rundir=$(mktemp -d /tmp/gatescope-dockerd.XXXXXX)
  owner=$(cat "$data/.owner" 2>/dev/null || true)
  if [ -n "$owner" ] && [ "$(cat "/proc/$owner/comm" 2>/dev/null)" = dockerd ]; then
    # Another run's engine owns the cached data root: use a throwaway one (no layer cache).
    echo "dockerd $owner owns $data; this engine gets a temporary data root" >&2
    data=$(mktemp -d "$CACHE/docker-tmp.XXXXXX")
    touch "$rundir/temporary"
  fi
  echo "$data" >"$rundir/data-root"
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 \
    --data-root="$data" --exec-root="$rundir/exec" --pidfile="$rundir/dockerd.pid" \
    -H "unix://$rundir/docker.sock" >"$rundir/dockerd.log" 2>&1 &
  echo $! >"$data/.owner"
  for _ in $(seq 1 100); do
    if DOCKER_HOST="unix://$rundir/docker.sock" docker version >/dev/null 2>&1; then
      echo "RUNDIR=$rundir"
      echo "DOCKER_HOST=unix://$rundir/docker.sock"
      return 0
    fi
    sleep 0.2
  done
  echo "dockerd did not answer within 20 s; its log:" >&2
  tail -20 "$rundir/dockerd.log" >&2
  stop_engine "$rundir"
  exit 1
}

stop_engine() {
  local rundir=$1 pid data
  [ -f "$rundir/dockerd.pid" ] || { echo "no dockerd.pid in $rundir" >&2; return 0; }
  pid=$(cat "$rundir/dockerd.pid")
  data=$(cat "$rundir/data-root")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  umount "$rundir/exec/netns/default" 2>/dev/null || true
  rm -f "$data/.owner"
  if [ -e "$rundir/temporary" ]; then rm -rf "$data"; fi
  rm -rf "$rundir"
}

case "${1:-}" in
  install) install_engine ;;
  start) start_engine ;;
  stop) stop_engine "${2:?usage: engine.sh stop RUNDIR}" ;;
  *) echo "usage: $0 install|start|stop RUNDIR" >&2; exit 2 ;;
esac
