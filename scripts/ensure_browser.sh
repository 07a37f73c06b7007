#!/usr/bin/env bash
# Make sure a Chromium for the browser tests exists: Debian's package when we are root
# (and may use apt), otherwise Playwright's own download. With CI=true, failure fails.
# As root it also installs a CJK font (fonts-noto-cjk): without one the Chinese pages and
# the README's 中文 screenshots show empty boxes for every character.
set -euo pipefail
BIN=${1:-.venv/bin}
root_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
has_cjk_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; }
if root_apt && ! has_cjk_font; then
  echo "Installing a CJK font (fonts-noto-cjk) for the Chinese pages..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fontconfig >/dev/null
fi
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if root_apt; then
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
