"""LLM backend speed against the tests' OpenAI-compatible server with real latency.

- one expansion (a streamed chat completion) vs N=4 variations, for each way
  the server may support variations: JSON schema (one round trip), ``n``
  (one round trip), neither (N concurrent requests); goal: N=4 <= 1.3x one call
- a cached repeat: requests made and time (goal: 0 requests, <= 5 ms)
- a 200-phrase batch ``prompt-canvas expand --backend openai`` (the real CLI,
  a subprocess) at several ``--jobs`` limits: wall time, phrases/s and the most
  requests the server saw in flight at once (bounded by --jobs); the CLI's own
  start-up (importing ``openai`` is ~1 s) is measured with one phrase

Prints a table and a JSON object. Run: .venv/bin/python bench/llm.py [--latency 0.3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from openai_compatible_server import OpenAICompatibleServer  # noqa: E402
from prompt_canvas.backends import BackendChoice  # noqa: E402
from prompt_canvas.cache import ResultCache  # noqa: E402
from prompt_canvas.engine import Engine  # noqa: E402
from prompt_canvas.expanders.base import ExpandRequest  # noqa: E402
from prompt_canvas.expanders.openai_backend import LLMConfig  # noqa: E402
from report import print_report  # noqa: E402

PHRASES = [
    "beach sunset",
    "fox in the snow",
    "city at night",
    "forest cabin",
    "lighthouse in a storm",
    "old library",
    "desert caravan",
    "koi pond",
    "mountain lake at dawn",
    "robot barista",
]


class InFlight:
    """Counts requests the server is answering at once (wraps its handler)."""

    def __init__(self, server: OpenAICompatibleServer) -> None:
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()
        assert server._httpd is not None
        handler = server._httpd.RequestHandlerClass
        original = handler.do_POST  # type: ignore[attr-defined]
        counter = self

        def do_post(self: Any) -> None:
            with counter.lock:
                counter.now += 1
                counter.peak = max(counter.peak, counter.now)
            try:
                original(self)
            finally:
                with counter.lock:
                    counter.now -= 1

        handler.do_POST = do_post  # type: ignore[attr-defined]

    def reset(self) -> None:
        with self.lock:
            self.peak = self.now


def choice(server: OpenAICompatibleServer, cache: bool) -> BackendChoice:
    return BackendChoice("openai", LLMConfig(model="test-model", base_url=server.url), cache=cache)


async def timed(coroutine: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await coroutine
    return (time.perf_counter() - start) * 1000, result


async def one_vs_four(server: OpenAICompatibleServer, rounds: int) -> dict[str, Any]:
    engine = Engine(cache=ResultCache(Path(tempfile.mkdtemp(prefix="pc-bench-cache-"))))
    pick = choice(server, cache=False)
    out: dict[str, Any] = {}
    try:
        ones = []
        for i in range(rounds):
            request = ExpandRequest(PHRASES[i % len(PHRASES)], "dalle", i)
            ms, _ = await timed(engine.expand(request, pick))
            ones.append(ms)
        out["expand_one_ms"] = statistics.median(ones)
        for label, schema, n in (
            ("json_schema", "ok", "ok"),
            ("n", "reject", "ok"),
            ("concurrent", "reject", "ignore"),
        ):
            server.json_schema, server.n = schema, n
            # A fresh client first learns what the server supports (one extra round trip at most,
            # remembered for the session); then every call takes the cheapest way.
            engine = Engine(cache=engine.cache)
            server.reset()
            ms, made = await timed(engine.vary("a first prompt", 4, 99, "semantic", "dalle", None, pick))
            assert len(made.prompts) == 4, made.prompts
            out[f"vary4_{label}_first_ms"] = ms
            out[f"vary4_{label}_first_requests"] = len(server.chat_requests)
            times, requests = [], []
            for i in range(rounds):
                server.reset()
                ms, made = await timed(
                    engine.vary(PHRASES[i % len(PHRASES)], 4, i, "semantic", "dalle", None, pick)
                )
                assert len(made.prompts) == 4, made.prompts
                times.append(ms)
                requests.append(len(server.chat_requests))
            await engine.aclose()
            out[f"vary4_{label}_ms"] = statistics.median(times)
            out[f"vary4_{label}_requests"] = max(requests)
            out[f"vary4_{label}_ratio"] = statistics.median(times) / out["expand_one_ms"]
        server.json_schema = server.n = "ok"
    finally:
        await engine.aclose()
    return out


async def cached_repeat(server: OpenAICompatibleServer, rounds: int) -> dict[str, Any]:
    engine = Engine(cache=ResultCache(Path(tempfile.mkdtemp(prefix="pc-bench-cache-"))))
    pick = choice(server, cache=True)
    request = ExpandRequest("beach sunset", "dalle", 7)
    try:
        await engine.expand(request, pick)
        await engine.vary("fox in the snow", 4, 7, "semantic", "dalle", None, pick)
        server.reset()
        expand_ms, vary_ms = [], []
        for _ in range(rounds * 20):
            ms, _ = await timed(engine.expand(request, pick))
            expand_ms.append(ms)
            ms, _ = await timed(engine.vary("fox in the snow", 4, 7, "semantic", "dalle", None, pick))
            vary_ms.append(ms)
        return {
            "cached_requests": len(server.chat_requests),
            "cached_expand_ms_p50": statistics.median(expand_ms),
            "cached_expand_ms_max": max(expand_ms),
            "cached_vary_ms_p50": statistics.median(vary_ms),
        }
    finally:
        await engine.aclose()


def batch(
    server: OpenAICompatibleServer, inflight: InFlight, count: int, jobs: int, latency: float
) -> dict[str, Any]:
    phrases = "\n".join(f"{PHRASES[i % len(PHRASES)]} number {i}" for i in range(count)) + "\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PROMPT_CANVAS_"))}
    env["PROMPT_CANVAS_CACHE_DIR"] = tempfile.mkdtemp(prefix="pc-bench-cache-")
    command = [
        sys.executable,
        "-m",
        "prompt_canvas",
        "expand",
        "--backend",
        "openai",
        "--model",
        "test-model",
        "--base-url",
        server.url,
        "--no-cache",
        "--jobs",
        str(jobs),
    ]
    server.reset()
    inflight.reset()
    start = time.perf_counter()
    done = subprocess.run(command, input=phrases, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"batch failed: {done.stderr}")
    lines = done.stdout.splitlines()
    assert len(lines) == count and all(lines), "one prompt per phrase, in order"
    return {
        "jobs": jobs,
        "phrases": count,
        "wall_s": wall,
        "phrases_per_s": count / wall,
        "requests": len(server.chat_requests),
        "peak_in_flight": inflight.peak,
        "ideal_s": count / jobs * latency,
    }


def _net(b: dict[str, Any], start: float) -> str:
    return f"{b['phrases'] / max(b['wall_s'] - start, 1e-9):.0f}/s after start-up"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.3, help="server latency per request, seconds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--jobs", default="8,16,32", help="--jobs limits for the batch")
    args = parser.parse_args()

    with OpenAICompatibleServer(latency=args.latency) as server:
        inflight = InFlight(server)
        figures: dict[str, Any] = {"latency_ms": args.latency * 1000}
        figures.update(asyncio.run(one_vs_four(server, args.rounds)))
        figures.update(asyncio.run(cached_repeat(server, args.rounds)))
        figures["cli_one_phrase_s"] = batch(server, inflight, 1, 1, args.latency)["wall_s"]
        figures["batch"] = [
            batch(server, inflight, args.batch, int(j), args.latency) for j in args.jobs.split(",")
        ]

    rows = [
        ("one expansion, ms", f"{figures['expand_one_ms']:.0f}", ""),
        *(
            (
                f"N=4 variations, {label}: ms ({figures[f'vary4_{label}_requests']} req)",
                f"{figures[f'vary4_{label}_ms']:.0f}",
                f"ratio {figures[f'vary4_{label}_ratio']:.2f} (<= 1.3); first call "
                f"{figures[f'vary4_{label}_first_ms']:.0f} ms, "
                f"{figures[f'vary4_{label}_first_requests']} req",
            )
            for label in ("json_schema", "n", "concurrent")
        ),
        ("CLI start-up + 1 phrase, s", f"{figures['cli_one_phrase_s']:.2f}", ""),
        ("cached repeat: requests", str(figures["cached_requests"]), "0"),
        (
            "cached repeat: expand ms p50 / max",
            f"{figures['cached_expand_ms_p50']:.2f} / {figures['cached_expand_ms_max']:.2f}",
            "<= 5",
        ),
        ("cached repeat: vary ms p50", f"{figures['cached_vary_ms_p50']:.2f}", "<= 5"),
        *(
            (
                f"batch {b['phrases']} phrases, --jobs {b['jobs']}: s",
                f"{b['wall_s']:.1f}",
                f"{b['phrases_per_s']:.0f}/s ({_net(b, figures['cli_one_phrase_s'])}), "
                f"peak {b['peak_in_flight']} in flight, ideal {b['ideal_s']:.1f} s",
            )
            for b in figures["batch"]
        ),
    ]
    print_report(
        f"LLM backend against a local OpenAI-compatible server, {args.latency * 1000:.0f} ms latency",
        rows,
        figures,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
