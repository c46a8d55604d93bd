#!/usr/bin/env bash
# Installs what the demo, the tests and the bench (wrk) need on Debian, only what is missing, then the
# project's own Node 22 (scripts/setup-node.sh) and the npm packages.
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
  # docs/erp-api.md's curl example is run by test/integration/serve-mutual.test.ts.
  "/usr/bin/curl:curl"
  "/usr/bin/wrk:wrk"
  # The team store's tests run a real PostgreSQL (test/helpers/postgres.ts).
  "/usr/bin/pg_ctlcluster:postgresql"
  # npm run package (docs/packaging.md): the MSIs, the Authenticode check of node.exe, the Windows
  # launcher (mingw-w64), the zips.
  "/usr/bin/wixl:wixl"
  "/usr/bin/msiinfo:msitools"
  "/usr/bin/osslsigncode:osslsigncode"
  "/usr/bin/x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64"
  "/usr/bin/zip:zip"
  # The Windows build (the executable, the MSIs, koffi's win32 binary: DPAPI, the certificate store,
  # the peer check, PKCS#11 against a fake module built by mingw-w64 on cryptoki's real header) is
  # tested under wine.
  "/usr/include/p11-kit-1/p11-kit/pkcs11.h:libp11-kit-dev"
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

# The pinned Node (scripts/node-version.sh), first on PATH from here on: npm's install scripts
# (pkcs11js's node-gyp build) run on it and against its headers.
. scripts/node-env.sh
# Again when the packages were installed under another Node (their addons are built for its ABI).
stamp=node_modules/.anaf-node-version
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ "$(cat "$stamp" 2>/dev/null)" != "$NODE_VERSION" ]; then
  npm ci --no-audit --no-fund
  echo "$NODE_VERSION" > "$stamp"
fi
