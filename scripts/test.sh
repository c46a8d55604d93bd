#!/usr/bin/env bash
# The one test command (README, CI): sets up a fresh Debian machine, builds, type-checks, lints, and
# runs every suite. Prints "tests: N passed, N failed" at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
# Everything below (npm, npx, vitest and its workers, the processes tests spawn) on the pinned Node.
. scripts/node-env.sh
mkdir -p .artifacts
rm -rf .artifacts/vitest-*.json .artifacts/faults

npm run build --silent
npm run build:extension --silent >/dev/null
npm run typecheck --silent
# House rules: typescript-eslint's type-checked recommended set (eslint.config.mjs) and prettier's format.
npm run lint --silent
npm run format:check --silent

status=0
# Unit tests, the ANAF stand-in, and CLI / native-messaging / serve / doctor / PKCS#11 integration.
npx vitest run --reporter=default --reporter=json --outputFile=.artifacts/vitest-main.json || status=1
# The extension in Debian's Chromium: headless with an NSS certificate, headful under Xvfb with SoftHSM.
npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile=.artifacts/vitest-e2e.json || status=1
# Faults and abuse: fuzzing, kill -9, concurrency, ANAF failures, local API abuse, secrets.
npx vitest run --config vitest.faults.config.ts --reporter=default --reporter=json --outputFile=.artifacts/vitest-faults.json || status=1
# The packages (npm run package: every artifact), then the Windows build under wine: the exe, native
# messaging through files, the vault, the launcher, the MSIs' tables and msiexec install/uninstall.
# A failed package step counts as one failed test (there is nothing for the wine suite to run).
if npm run package --silent >.artifacts/package.log 2>&1; then
  tail -12 .artifacts/package.log
  npx vitest run --config vitest.windows.config.ts --reporter=default --reporter=json --outputFile=.artifacts/vitest-windows.json || status=1
else
  tail -40 .artifacts/package.log
  echo '{"numPassedTests":0,"numFailedTests":1,"numPendingTests":0,"success":false,"testResults":[]}' > .artifacts/vitest-package.json
  status=1
fi
cat .artifacts/faults/*.json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const m of s.matchAll(/"line": "([^"]*)"/g))console.log(m[1])})'

node scripts/summarize-tests.mjs .artifacts/vitest-*.json || status=1
exit $status
