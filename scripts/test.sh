#!/usr/bin/env bash
# Quick start, part 2: set up everything the tests need, then run all of them:
# the Python suite (ruff and mypy run inside it, see tests/test_code_quality.py),
# then the VS Code extension's (scripts/test-extension.sh: unit, grammar, VSIX
# build, end to end in code-server). Arguments go to pytest; with arguments that
# pick tests (a path or -k), the extension's tests are left out.
# PROMPT_CANVAS_SKIP_EXTENSION=1 skips them too.
set -euo pipefail
cd "$(dirname "$0")/.."

# Neovim drives the language server in tests/test_neovim.py (Debian's neovim, 0.7+).
if ! command -v nvim >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
    echo "installing neovim (Debian package) for the real-editor test..."
    $sudo apt-get install -y -q neovim >/dev/null 2>&1 ||
      { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q neovim >/dev/null; } ||
      echo "warning: could not install neovim; tests/test_neovim.py will be skipped" >&2
  else
    echo "warning: no apt-get: install Neovim 0.7+ yourself to run tests/test_neovim.py" >&2
  fi
fi

bash scripts/setup.sh dev
.venv/bin/python -m pytest "$@"

selective=0
for arg in "$@"; do
  case "$arg" in -k | tests* | *.py | *::*) selective=1 ;; esac
done
if [ "$selective" = 0 ] && [ "${PROMPT_CANVAS_SKIP_EXTENSION:-0}" != 1 ]; then
  bash scripts/test-extension.sh
fi
