"""Language-server speed, ours against a bare pygls 2 server, over stdio with the same client.

- code-action list round trip on a 10,000-entry file (p50, p99)
- didChange (one keystroke) -> publishDiagnostics on that file (p50, p95; ours only)
- start-up to the initialize result
- RSS after initialize (idle) and with the file open

Prints a table and a JSON object. Run: .venv/bin/python bench/lsp.py [--entries N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class Client:
    """A minimal JSON-RPC/LSP client over a subprocess's stdio."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.notifications: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def spawn(cls, cmd: list[str]) -> tuple[Client, float]:
        start = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = cls(proc)
        await client.request(
            "initialize",
            {
                "processId": None,
                "rootUri": None,
                "initializationOptions": {"diagnosticsDelay": 0},
                "capabilities": {
                    "textDocument": {
                        "codeAction": {
                            "codeActionLiteralSupport": {
                                "codeActionKind": {"valueSet": ["quickfix", "refactor", "refactor.rewrite"]}
                            }
                        }
                    },
                    "window": {"workDoneProgress": True},
                    "workspace": {"applyEdit": True},
                },
            },
        )
        startup = (time.perf_counter() - start) * 1000
        client.notify("initialized", {})
        return client, startup

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            header = await self.proc.stdout.readuntil(b"\r\n\r\n")
            length = int(
                next(h for h in header.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[
                    1
                ]
            )
            message = json.loads(await self.proc.stdout.readexactly(length))
            if "id" in message and "method" not in message:
                future = self.pending.pop(message["id"], None)
                if future is not None:
                    future.set_result(message)
            elif "id" in message:  # a request from the server: answer with null
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            else:
                await self.notifications.put(message)

    def _send(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any) -> dict[str, Any]:
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return await future  # type: ignore[no-any-return]

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(self.notifications.get(), timeout)
            if message.get("method") == method:
                return message

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def close(self) -> None:
        await self.request("shutdown", None)
        self.notify("exit", None)
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except asyncio.TimeoutError:
            self.proc.kill()
        self.reader.cancel()


def library(entries: int) -> str:
    parts = ["---\ntarget: sdxl\nseed: 1\n---\n"]
    phrases = ["beach sunset", "fox in the snow", "lighthouse in a storm", "city at night", "old bookstore"]
    for i in range(entries):
        if i % 100 == 0:
            parts.append(f"# Group {i // 100}\n\n")
        parts.append(f"## entry {i}\na {{calm|stormy}} {phrases[i % 5]} number {i}, soft light\n\n")
    return "".join(parts)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(cmd: list[str], text: str, rounds: int, diagnostics: bool) -> dict[str, float]:
    client, startup = await Client.spawn(cmd)
    await asyncio.sleep(0.5)
    idle = client.rss_mb()
    uri = "file:///tmp/bench-library.prompt"
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "prompt", "version": 1, "text": text}},
    )
    if diagnostics:
        await client.wait_for("textDocument/publishDiagnostics", timeout=120)
    lines = text.count("\n")
    middle = lines // 2
    times = []
    for i in range(rounds):
        line = middle + (i % 50) * 3
        params = {
            "textDocument": {"uri": uri},
            "range": {"start": {"line": line, "character": 2}, "end": {"line": line, "character": 2}},
            "context": {"diagnostics": []},
        }
        start = time.perf_counter()
        await client.request("textDocument/codeAction", params)
        times.append((time.perf_counter() - start) * 1000)
    result = {
        "startup_ms": round(startup, 1),
        "rss_idle_mb": round(idle, 1),
        "rss_open_mb": round(client.rss_mb(), 1),
        "code_action_p50_ms": round(statistics.median(times), 3),
        "code_action_p99_ms": round(pct(times, 0.99), 3),
    }
    if diagnostics:
        keystrokes = []
        version = 1
        target_line = middle + 1  # a prompt line
        for _ in range(rounds):
            version += 1
            change = {
                "range": {
                    "start": {"line": target_line, "character": 2},
                    "end": {"line": target_line, "character": 2},
                },
                "text": "x",
            }
            start = time.perf_counter()
            client.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
            )
            await client.wait_for("textDocument/publishDiagnostics")
            keystrokes.append((time.perf_counter() - start) * 1000)
        result["keystroke_to_diagnostics_p50_ms"] = round(statistics.median(keystrokes), 2)
        result["keystroke_to_diagnostics_p95_ms"] = round(pct(keystrokes, 0.95), 2)
    await client.close()
    return result


async def main_async(entries: int, rounds: int, repeats: int) -> dict[str, Any]:
    text = library(entries)
    ours_cmd = [sys.executable, "-m", "prompt_canvas", "serve"]
    bare_cmd = [sys.executable, str(HERE / "bare_server.py")]
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "bare": []}
    for _ in range(repeats):  # interleave to share machine noise
        runs["bare"].append(await measure(bare_cmd, text, rounds, diagnostics=False))
        runs["ours"].append(await measure(ours_cmd, text, rounds, diagnostics=True))
    out: dict[str, Any] = {
        "entries": entries,
        "bytes": len(text.encode()),
        "rounds": rounds,
        "repeats": repeats,
    }
    for who, results in runs.items():
        for key in results[0]:
            out[f"{who}_{key}"] = round(statistics.median(r[key] for r in results), 3)
    out["code_action_p99_ratio"] = round(out["ours_code_action_p99_ms"] / out["bare_code_action_p99_ms"], 2)
    out["startup_ratio"] = round(out["ours_startup_ms"] / out["bare_startup_ms"], 2)
    out["rss_idle_ratio"] = round(out["ours_rss_idle_mb"] / out["bare_rss_idle_mb"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    result = asyncio.run(main_async(args.entries, args.rounds, args.repeats))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
