"""Render speed: the hover's and the lens's share of it (no network), and batches against a local server.

- ``latest_render`` (what a hover of a rendered entry adds) with a renders
  folder of 1 and of 2,000 sidecars (200 entries x 10 renders); goal <= 5 ms
- ``existing_render`` (the reuse check before any request) and ``plan_render``
  (resolve template, shape, hash) per entry of a 1,000-entry library
- ``prompt-canvas render`` of a 24-entry library (the CLI in-process) against
  the tests' OpenAI-compatible server with real latency, at several ``--jobs``:
  wall time vs the ideal ``entries / jobs * latency``; then the same again,
  which must send 0 requests (hash reuse)

Prints a table and a JSON object. Run: .venv/bin/python bench/render.py [--latency 0.5] [--rounds 200]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from openai_compatible_server import OpenAICompatibleServer  # noqa: E402
from prompt_canvas.cli import main as cli_main  # noqa: E402
from prompt_canvas.document import parse_document  # noqa: E402
from prompt_canvas.render import (  # noqa: E402
    GeneratedImage,
    RenderOptions,
    existing_render,
    latest_render,
    plan_render,
    write_render,
)
from report import print_report  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048
SUBJECTS = ["lighthouse", "fox", "harbor", "canyon", "koi pond", "cabin", "market", "glacier"]


def library(entries: int) -> str:
    lines = ["---", "target: dalle", "seed: 3", "---"]
    for i in range(entries):
        subject = SUBJECTS[i % len(SUBJECTS)]
        lines += [f"## {subject} {i}", f"a {{red|blue|golden}} {subject} at {{dawn|dusk}}, scene {i}", ""]
    return "\n".join(lines)


def ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered) * 1000, "p95": ordered[int(len(ordered) * 0.95)] * 1000}


def core(rounds: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    document = parse_document(library(1000))
    options = RenderOptions()
    start = time.perf_counter()
    jobs = [plan_render(document, e, "dalle", 3, options, "http://x/v1", None) for e in document.entries]
    figures["plan_render_per_entry_ms"] = (time.perf_counter() - start) * 1000 / len(jobs)
    with tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp) / "one", Path(tmp) / "many"
        write_render(jobs[0], small, [GeneratedImage(PNG)])
        for entry in document.entries[:200]:
            for seed in range(10):
                other = plan_render(document, entry, "dalle", seed, options, "http://x/v1", None)
                write_render(other, big, [GeneratedImage(PNG)])
        for label, folder in (("1", small), ("2000", big)):
            samples = []
            for _ in range(rounds):
                t = time.perf_counter()
                found = latest_render(folder, jobs[0].entry)
                samples.append(time.perf_counter() - t)
                assert found is not None
            figures[f"latest_render_{label}_ms"] = ms(samples)
        samples = []
        for _ in range(rounds):
            t = time.perf_counter()
            hit = existing_render(jobs[0], small)
            samples.append(time.perf_counter() - t)
            assert hit is not None
        figures["existing_render_hit_ms"] = ms(samples)
    return figures


def batch(server: OpenAICompatibleServer, entries: int, jobs: int, latency: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.prompt"
        path.write_text(library(entries))
        argv = ["render", str(path), "-b", "openai", "--base-url", server.url, "--jobs", str(jobs)]
        runs = []
        for _ in range(2):
            server.reset()
            out, err = io.StringIO(), io.StringIO()
            t = time.perf_counter()
            code = cli_main(argv, stdin=io.StringIO(""), stdout=out, stderr=err)
            wall = time.perf_counter() - t
            assert code == 0, err.getvalue()
            runs.append((wall, len([r for r in server.requests if r.method == "POST"])))
    (first, sent), (again, resent) = runs
    return {
        "entries": entries,
        "jobs": jobs,
        "wall_s": first,
        "requests": sent,
        "ideal_s": -(-entries // jobs) * latency,
        "reused_wall_s": again,
        "reused_requests": resent,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.5, help="image server latency per request, s")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=24)
    parser.add_argument("--jobs", default="1,4,8")
    args = parser.parse_args()

    figures: dict[str, Any] = {"latency_ms": args.latency * 1000}
    figures.update(core(args.rounds))
    with OpenAICompatibleServer(latency=args.latency) as server:
        figures["batch"] = [batch(server, args.entries, int(j), args.latency) for j in args.jobs.split(",")]

    rows = [
        ("plan_render per entry, ms", f"{figures['plan_render_per_entry_ms']:.3f}", ""),
        ("reuse check (existing_render), ms p50", f"{figures['existing_render_hit_ms']['p50']:.3f}", "<= 5"),
        *(
            (
                f"hover's latest_render, {n} sidecars: ms p50 / p95",
                "{p50:.2f} / {p95:.2f}".format(**figures[f"latest_render_{n}_ms"]),
                "<= 5",
            )
            for n in ("1", "2000")
        ),
        *(
            (
                f"render {b['entries']} entries, --jobs {b['jobs']}: s",
                f"{b['wall_s']:.2f}",
                f"ideal {b['ideal_s']:.2f} s, {b['requests']} requests; again: {b['reused_wall_s']:.2f} s, "
                f"{b['reused_requests']} requests (goal 0)",
            )
            for b in figures["batch"]
        ),
    ]
    print_report(
        f"Render: core (no network); batches vs a local images server, {args.latency * 1000:.0f} ms",
        rows,
        figures,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
