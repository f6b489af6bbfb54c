"""The project's fake OpenAI-compatible server for the e2e driver (flow `apikey`).

    python e2e/llm_server.py REQUESTS.jsonl [API_KEY]

Starts tests/openai_compatible_server.py's OpenAICompatibleServer on 127.0.0.1 (random port) with
a required bearer key (default "sk-e2e-test-key"), prints its base URL (http://127.0.0.1:PORT/v1)
as the first line on stdout, and serves until stdin closes or SIGTERM/SIGINT arrives.

Every request is appended to REQUESTS.jsonl as one JSON object:
{"method", "path", "auth": "none" | "match" | "mismatch", "model"} (and, for a mismatch,
"placeholder": whether it was the backend's "Bearer no-key") — whether an Authorization header was
sent and whether it was the right bearer key, never the key itself.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from openai_compatible_server import OpenAICompatibleServer, Recorded  # noqa: E402


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    key = sys.argv[2] if len(sys.argv) > 2 else "sk-e2e-test-key"
    out.write_text("")
    lock = threading.Lock()

    class Log(list):  # the server appends a Recorded to `requests` for each request
        def append(self, r: Recorded) -> None:  # type: ignore[override]
            super().append(r)
            sent = r.headers.get("authorization")
            auth = "none" if sent is None else ("match" if sent == f"Bearer {key}" else "mismatch")
            line = {"method": r.method, "path": r.path, "auth": auth, "model": r.body.get("model")}
            if auth == "mismatch":
                # The backend sends the placeholder "no-key" when it has none (the openai client
                # insists on some key); that word is no secret.
                line["placeholder"] = sent == "Bearer no-key"
            with lock, out.open("a") as f:
                f.write(json.dumps(line) + "\n")

    server = OpenAICompatibleServer(api_key=key)
    server.requests = Log()
    server.start()
    print(server.url, flush=True)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: done.set())

    def stdin_closed() -> None:
        # os.read, not sys.stdin: a daemon thread blocked in a buffered read aborts the interpreter
        # at shutdown ("could not acquire lock for <stdin>").
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        done.set()

    threading.Thread(target=stdin_closed, daemon=True).start()
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
