#!/usr/bin/env bash
# npm test: lint and format check, typecheck, then every jest suite (unit, drift, emulator, e2e) on Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
node_modules/.bin/biome ci .
node_modules/.bin/tsc --noEmit -p .
status=0
# @actions-style ESM packages and nock 15 need Node 24 and jest's ESM mode.
NODE_OPTIONS=--experimental-vm-modules scripts/node24 node_modules/jest/bin/jest.js --json --outputFile=build/jest-results.json "$@" || status=$?
# One plain closing line, the same in every CI log.
scripts/node24 -e '
  const r = JSON.parse(require("node:fs").readFileSync("build/jest-results.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit "$status"
