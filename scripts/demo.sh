#!/usr/bin/env bash
# Sets up (Debian packages, npm packages), builds, and runs the demo against the ANAF stand-in.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
npm run build --silent
exec npx tsx scripts/demo.ts
