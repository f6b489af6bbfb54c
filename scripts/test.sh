#!/usr/bin/env bash
# Quick start, part 2: set up everything the tests need, then run all of them
# (ruff and mypy run inside the suite, see tests/test_code_quality.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
.venv/bin/python -m pytest "$@"
