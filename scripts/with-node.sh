#!/usr/bin/env bash
# Runs a command on the project's pinned Node (scripts/node-env.sh): `npm run bench`, the test
# scripts in package.json, and anyone who wants `scripts/with-node.sh npx vitest run …`.
set -euo pipefail
. "$(dirname "$0")/node-env.sh"
exec "$@"
