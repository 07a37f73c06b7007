#!/usr/bin/env bash
# Make sure a Chromium for the browser tests exists: Debian's package when we are root
# (and may use apt), otherwise Playwright's own download. With CI=true, failure fails.
set -euo pipefail
BIN=${1:-.venv/bin}
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "No system chromium and not root: trying Playwright's own browser..."
if ! "$BIN/playwright" install chromium; then
  if [ "${CI:-}" = true ]; then echo "No browser could be installed; CI needs one." >&2; exit 1; fi
  echo "No browser could be installed: the browser tests will be skipped." >&2
fi
