"""Core speed: parse, check and re-check after one keystroke on a 10,000-entry file; expansion throughput.

Prints a table and a JSON object. Run: .venv/bin/python bench/core.py [--entries N]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable

from prompt_canvas.checks import CheckContext, check_document, document_target
from prompt_canvas.document import parse_document
from prompt_canvas.expanders.base import ExpandRequest
from prompt_canvas.expanders.offline import OfflineExpander
from prompt_canvas.variations import vary

PHRASES = ["beach sunset", "fox in the snow", "lighthouse in a storm", "city at night", "old bookstore"]


def library(entries: int) -> str:
    parts = ["---\ntarget: sdxl\nseed: 1\n---\n"]
    for i in range(entries):
        if i % 100 == 0:
            parts.append(f"# Group {i // 100}\n\n")
        parts.append(f"## entry {i}\na {{calm|stormy}} {PHRASES[i % 5]} number {i}, soft light\n\n")
    return "".join(parts)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    text = library(args.entries)
    results: dict[str, float] = {"entries": args.entries, "bytes": len(text.encode())}

    cold = timed(lambda: parse_document(text + " "), 1)[0]
    doc = parse_document(text)
    context = CheckContext(document_target(doc))
    cold_check = timed(lambda: check_document(doc, context), 1)[0]
    results["parse_cold_ms"] = round(cold, 1)
    results["check_cold_ms"] = round(cold_check, 1)
    # What a long-running process (the language server) does after loading a
    # file: move the parsed objects out of the cyclic GC's way.
    gc.freeze()

    # One keystroke in the middle of the file: incremental update, then check again.
    middle = text.index("number 5000") if args.entries > 5000 else len(text) // 2
    samples = []
    current = doc
    for i in range(args.repeat):
        start = time.perf_counter()
        current = current.apply_change(middle + i, middle + i, "x")
        check_document(current, context)
        samples.append((time.perf_counter() - start) * 1000)
    full = timed(lambda: check_document(parse_document(current.text), context), 5)
    results["full_reparse_recheck_p50_ms"] = round(statistics.median(full), 2)
    results["keystroke_recheck_p50_ms"] = round(statistics.median(samples), 2)
    results["keystroke_recheck_p95_ms"] = round(pct(samples, 0.95), 2)

    expander = OfflineExpander()
    expander.expand_sync(ExpandRequest("warm up", "dalle", 0))
    for target in ("dalle", "sdxl", "midjourney"):
        n = 200
        start = time.perf_counter()
        for i in range(n):
            expander.expand_sync(ExpandRequest(PHRASES[i % 5], target, i))
        results[f"expand_{target}_per_s"] = round(n / (time.perf_counter() - start), 1)
    vary_ms = timed(lambda: vary("fox in the snow", 8, 1), 10)
    results["vary_semantic_8_p50_ms"] = round(statistics.median(vary_ms), 2)

    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
