#!/usr/bin/env bash
# Debian's Chromium for the end-to-end UI test (Playwright drives it; it downloads no browser).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "The UI test needs Debian's chromium: run 'sudo apt-get install chromium' (or run as root)." >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
