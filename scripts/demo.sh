#!/usr/bin/env bash
# Sets up (Debian packages, npm packages), builds, and runs the demo against the ANAF stand-in:
# the extension in Chromium (headful with a display, headless otherwise) clicks "Obtain token",
# then the token status table and the popup screenshot's path are printed. Chromium's
# certificate policy needs root; without root the same flow runs through the CLI instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
# Everything below (the build, tsx, the host it starts) on the pinned Node.
. scripts/node-env.sh
npm run build --silent
if [ "$(id -u)" -eq 0 ]; then
  exec npx tsx scripts/demo-browser.ts
fi
echo "not root: running the CLI demo (the browser demo installs a Chromium policy under /etc)"
exec npx tsx scripts/demo.ts
