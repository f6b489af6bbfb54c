#!/usr/bin/env bash
# Quick start, part 1: set up, then run the main job offline —
# expand "beach sunset" for every target and vary the example library.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pc=.venv/bin/prompt-canvas

for target in dalle midjourney sdxl flux generic; do
  echo "== expand \"beach sunset\" --target $target"
  "$pc" expand --target "$target" --format text "beach sunset"
  if [ "$target" = sdxl ]; then
    echo "   negative: $("$pc" expand --target sdxl --format json "beach sunset" |
      .venv/bin/python -c 'import json,sys; print(json.loads(sys.stdin.read())["negative"])')"
  fi
  echo
done

echo "== vary examples/*.prompt"
"$pc" vary examples/*.prompt
echo
echo "== check examples/"
"$pc" check examples
