#!/usr/bin/env bash
# Installs what the demo, the tests and the bench (wrk) need on Debian, only what is missing, then the npm packages.
# Usage: scripts/setup-debian.sh   (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."

# command-or-file → Debian package
need=(
  "/usr/bin/chromium:chromium"
  "/usr/bin/certutil:libnss3-tools"
  "/usr/bin/softhsm2-util:softhsm2"
  "/usr/bin/pkcs11-tool:opensc"
  "/usr/bin/xvfb-run:xvfb"
  "/usr/bin/xdotool:xdotool"
  "/usr/bin/openssl:openssl"
  "/usr/bin/wrk:wrk"
  # Windows' Node under wine: the Windows peer check and port owner (test/windows-peer).
  "/usr/bin/wine:wine"
  "/usr/lib/wine/wine64:wine64"
)
missing=()
for pair in "${need[@]}"; do
  [ -e "${pair%%:*}" ] || missing+=("${pair##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
