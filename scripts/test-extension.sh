#!/usr/bin/env bash
# The VS Code extension's tests: type check, unit tests (vitest), grammar tests
# (vscode-tmgrammar-test), the VSIX build (npm run package, offline but for the
# registries), and the end-to-end run in real VS Code (code-server + Chromium).
# Called by scripts/test.sh; PROMPT_CANVAS_SKIP_E2E=1 skips the end-to-end run.
set -euo pipefail
cd "$(dirname "$0")/../vscode-extension"

command -v node >/dev/null 2>&1 || { echo "the VS Code extension needs Node.js 18+ and npm on PATH" >&2; exit 1; }
step() { echo "--- extension: $*"; }
t0=$(date +%s)

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
step "type check, unit tests, grammar tests"
npm test --silent
step "npm run package (bundles the Python server for Python 3.11-3.14)"
PYTHON="${PYTHON:-python3}" npm run package --silent 2>&1 | grep -E "DONE|bundled/libs|rror" || true
[ -f dist/prompt-canvas.vsix ] || { echo "npm run package made no dist/prompt-canvas.vsix" >&2; exit 1; }
if [ "${PROMPT_CANVAS_SKIP_E2E:-0}" != 1 ]; then
  step "end to end in code-server"
  E2E_SHOTS="${E2E_SHOTS:-$PWD/dist/screenshots}" node e2e/run.mjs
fi
echo "--- extension: all passed in $(( $(date +%s) - t0 )) s"
