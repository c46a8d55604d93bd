#!/usr/bin/env bash
# The one test command (README, CI): sets up a fresh Debian machine, builds, type-checks, and
# runs every suite. Prints "tests: N passed, N failed" at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
mkdir -p .artifacts
rm -f .artifacts/vitest-*.json

npm run build --silent
npm run typecheck --silent

status=0
# Unit tests, the ANAF stand-in, and CLI / native-messaging integration against it.
npx vitest run --reporter=default --reporter=json --outputFile=.artifacts/vitest-main.json || status=1

node scripts/summarize-tests.mjs .artifacts/vitest-*.json || status=1
exit $status
