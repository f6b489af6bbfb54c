"""A small OpenAI-compatible HTTP server for tests and benchmarks (127.0.0.1, random port).

It speaks what Prompt Canvas uses of the API, over real HTTP, to the real
``openai`` client:

- ``POST /v1/chat/completions``: plain, ``n`` choices, ``response_format``
  JSON schema, and SSE streaming (``stream: true``);
- ``GET /v1/models``.
- ``POST /v1/images/generations``: real PNGs (a small picture whose colour comes
  from the prompt), as ``b64_json`` or, with ``image_form = "url"`` (or
  ``response_format: url``), as links served by ``GET /files/<name>.png``;
  dall-e-3 answers carry a ``revised_prompt``. Sizes are checked per model as
  OpenAI does; ``Fault.content_filter()`` is a content-policy 400 here.

Its "model" is deterministic: it writes an expansion of the idea it is given,
or N variations. Knobs: ``latency`` (seconds before answering), ``api_key``
(required bearer key, else none), ``json_schema`` ("ok", "reject" = 400,
"ignore" = plain text), ``n`` ("ok", "ignore" = one choice). Tests queue
``replies`` (exact answer texts) and ``faults`` (one per request, in order):
``Fault.status(429, retry_after=1)``, ``Fault.timeout(5)``, ``Fault.garbage()``,
``Fault.drop()``, ``Fault.drop_midstream()``, ``Fault.empty()``,
``Fault.content_filter()``. Every request is recorded in ``requests``;
``disconnects`` counts clients that hung up while waiting (cancellation).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import select
import socket
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AXES = ("at dawn", "in a storm", "as a watercolor", "seen from above", "in neon colors", "in a dreamy mood")


@dataclass
class Fault:
    kind: str
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    code: str | None = None
    message: str = "fault injected by the test server"

    @classmethod
    def status_code(
        cls,
        status: int,
        retry_after: float | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> Fault:
        return cls(
            "status",
            status=status,
            retry_after=retry_after,
            code=code,
            message=message or f"injected {status}",
        )

    @classmethod
    def timeout(cls, seconds: float) -> Fault:
        return cls("timeout", seconds=seconds)

    @classmethod
    def garbage(cls) -> Fault:
        return cls("garbage")

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")

    @classmethod
    def drop_midstream(cls) -> Fault:
        return cls("drop_midstream")

    @classmethod
    def empty(cls) -> Fault:
        return cls("empty")

    @classmethod
    def content_filter(cls) -> Fault:
        return cls("content_filter")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any] = field(default_factory=dict)


IMAGE_SIZES = {
    "gpt-image-1": ("1024x1024", "1536x1024", "1024x1536", "auto"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
}


def make_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG: a diagonal gradient over ``rgb`` (decodable by any image viewer)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00"
        + bytes(
            value
            for x in range(width)
            for value in (
                (rgb[0] + x * 2) % 256,
                (rgb[1] + y * 2) % 256,
                (rgb[2] + (x + y)) % 256,
            )
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def image_for(prompt: str, index: int, size: str = "") -> bytes:
    """A real PNG, its colours from the prompt; an eighth of the asked size (64x64 at least)."""
    digest = hashlib.sha256(f"{prompt}\x00{index}".encode()).digest()
    width, _, height = size.partition("x")
    w = max(64, int(width) // 8) if width.isdigit() else 64
    h = max(64, int(height) // 8) if height.isdigit() else 64
    return make_png(w, h, (digest[0], digest[1], digest[2]))


def _user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def _system_text(body: dict[str, Any]) -> str:
    for message in body.get("messages") or []:
        if message.get("role") == "system":
            return str(message.get("content") or "")
    return ""


def expansion_for(body: dict[str, Any]) -> str:
    """The deterministic "model" answer to an expansion request."""
    user = _user_text(body)
    match = re.search(r"^Idea: (.*)$", user, re.M)
    idea = match.group(1).strip() if match else user.strip()
    system = _system_text(body)
    if "Stable Diffusion" in system:
        text = (
            f"{idea}, highly detailed, golden hour light, warm palette, wide shot, "
            "sharp focus, cinematic mood"
        )
        if "Negative prompt:" in system:
            text += "\nNegative prompt: blurry, low quality, watermark"
        return text
    if "Midjourney" in system:
        return f"{idea}, golden hour light, rich textures, warm palette, wide shot, serene mood"
    return (
        f"A detailed image of {idea}, bathed in warm golden-hour light with long soft shadows. "
        "Rich textures and fine details fill the scene; a warm palette of amber and teal, "
        "a balanced wide composition with a clear focal point, and a calm, evocative mood."
    )


def variations_for(body: dict[str, Any], count: int, offset: int = 0) -> list[str]:
    user = _user_text(body)
    match = re.search(r"^Prompt: (.*)$", user, re.M)
    prompt = match.group(1).strip() if match else user.strip()
    axis = re.search(r"Change above all (.*)\.$", user, re.M)
    if axis and count == 1:
        return [f"{prompt}, reimagined with a new {axis.group(1)}"]
    return [
        f"{prompt}, {AXES[(offset + i) % len(AXES)]}"
        + (f" #{offset + i + 1}" if offset + i >= len(AXES) else "")
        for i in range(count)
    ]


class OpenAICompatibleServer:
    def __init__(
        self,
        latency: float = 0.0,
        api_key: str | None = None,
        models: tuple[str, ...] = ("test-model", "llama3.2"),
        image_models: tuple[str, ...] = ("gpt-image-1", "dall-e-3"),
        json_schema: str = "ok",
        n: str = "ok",
        chunk_delay: float = 0.0,
    ) -> None:
        self.latency = latency
        self.api_key = api_key
        self.models = models
        self.image_models = image_models
        self.image_form = "b64"  # or "url"
        self.files: dict[str, bytes] = {}
        self.json_schema = json_schema
        self.n = n
        self.chunk_delay = chunk_delay
        self.faults: deque[Fault] = deque()
        self.replies: deque[str] = deque()
        self.requests: list[Recorded] = []
        self.disconnects = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> OpenAICompatibleServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.replies.clear()
            self.disconnects = 0

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def _next_reply(self) -> str | None:
        with self._lock:
            return self.replies.popleft() if self.replies else None


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAICompatibleServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- helpers ---------------------------------------------------------------------
    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self,
        status: int,
        message: str,
        code: str | None = None,
        kind: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._send_json(
            status, {"error": {"message": message, "type": kind, "code": code, "param": None}}, headers
        )

    def _wait(self, seconds: float) -> bool:
        """Sleep, watching for the client hanging up; False if it did."""
        end = time.monotonic() + seconds
        sock = self.connection
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return True
            readable, _, _ = select.select([sock], [], [], min(left, 0.02))
            if readable:
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        with self.owner._lock:
                            self.owner.disconnects += 1
                        self.close_connection = True
                        return False
                except OSError:
                    return False

    def _record(self, body: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.owner.requests.append(Recorded(self.command, self.path, headers, body))

    def _authorised(self) -> bool:
        key = self.owner.api_key
        if key is None or self.headers.get("authorization") == f"Bearer {key}":
            return True
        self._error(401, "Incorrect API key provided.", "invalid_api_key", "authentication_error")
        return False

    # -- routes ----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._record({})
        if self.path.startswith("/files/"):
            data = self.owner.files.get(self.path.rsplit("/", 1)[-1])
            if data is None:
                self._error(404, "this link has expired")
                return
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if not self._authorised():
            return
        if self.path.rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in self.owner.models]
            self._send_json(200, {"object": "list", "data": data})
            return
        self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        self._record(body)
        images = self.path.rstrip("/").endswith("/images/generations")
        if not images and not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"no route {self.path}")
            return
        owner = self.owner
        fault = owner._next_fault()
        if owner.latency and not self._wait(owner.latency):
            return
        if fault is not None and self._fault(fault, body):
            return
        if not self._authorised():
            return
        if images:
            self._images(body, fault)
            return
        if body.get("model") not in owner.models:
            self._error(404, f"The model `{body.get('model')}` does not exist.", "model_not_found")
            return
        self._complete(body, fault)

    def _images(self, body: dict[str, Any], fault: Fault | None) -> None:
        owner = self.owner
        model = str(body.get("model"))
        if model not in owner.image_models:
            self._error(404, f"The model `{model}` does not exist.", "model_not_found")
            return
        if model == "dall-e-3" and int(body.get("n") or 1) != 1:
            # As OpenAI answers: dall-e-3 makes one image per request.
            self._error(400, "Invalid 'n': dall-e-3 only supports n=1.", "invalid_value")
            return
        if fault is not None and fault.kind == "content_filter":
            self._error(
                400,
                "Your request was rejected as a result of our safety system.",
                "content_policy_violation",
            )
            return
        size = str(body.get("size") or "1024x1024")
        allowed = IMAGE_SIZES.get(model)
        if allowed and size not in allowed:
            self._error(
                400,
                f"Invalid value: '{size}'. Supported values are: {', '.join(repr(a) for a in allowed)}.",
                "invalid_value",
            )
            return
        if model.startswith("gpt-image") and "response_format" in body:
            self._error(400, "Unknown parameter: 'response_format'.", "unknown_parameter")
            return
        prompt = str(body.get("prompt") or "")
        count = int(body.get("n") or 1)
        as_url = owner.image_form == "url" or body.get("response_format") == "url"
        data = []
        for i in range(count):
            png = b"" if fault is not None and fault.kind == "empty" else image_for(prompt, i, size)
            item: dict[str, Any] = {}
            if as_url:
                name = f"{hashlib.sha256(png + bytes([i])).hexdigest()[:16]}.png"
                owner.files[name] = png
                host, port = self.server.server_address[:2]
                item["url"] = f"http://{host}:{port}/files/{name}"
            else:
                item["b64_json"] = base64.b64encode(png).decode()
            if model == "dall-e-3":
                item["revised_prompt"] = f"A vivid rendering of {prompt}"
            data.append(item)
        self._send_json(200, {"created": int(time.time()), "data": data})

    def _fault(self, fault: Fault, body: dict[str, Any]) -> bool:
        """Apply a fault; True if it answered the request."""
        if fault.kind == "status":
            headers = {}
            if fault.retry_after is not None:
                headers["retry-after"] = f"{fault.retry_after:g}"
            self._error(
                fault.status,
                fault.message,
                fault.code,
                "server_error" if fault.status >= 500 else "invalid_request_error",
                headers,
            )
            return True
        if fault.kind == "timeout":
            self._wait(fault.seconds)
            self.close_connection = True
            return True
        if fault.kind == "garbage":
            data = b"<html><body>502 Bad Gateway... not json"
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        if fault.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        return False  # empty / content_filter / drop_midstream shape the completion

    def _complete(self, body: dict[str, Any], fault: Fault | None) -> None:
        owner = self.owner
        want = int(body.get("n") or 1)
        schema = (body.get("response_format") or {}).get("type") == "json_schema"
        if schema and owner.json_schema == "reject":
            self._error(400, "response_format json_schema is not supported by this server")
            return
        reply = owner._next_reply()
        finish = "stop"
        if fault is not None and fault.kind == "empty":
            contents = [""]
        elif fault is not None and fault.kind == "content_filter":
            contents, finish = [""], "content_filter"
        elif reply is not None:
            contents = [reply] * (want if owner.n == "ok" else 1)
        elif schema and owner.json_schema == "ok":
            count = int((re.search(r"exactly (\d+) variations", _system_text(body)) or [0, 1])[1])
            contents = [json.dumps({"variations": variations_for(body, count)})]
        elif "variation" in _system_text(body):
            if owner.n == "ok":
                contents = [
                    variations_for(body, 1, i)[0] if want == 1 else variations_for(body, want)[i]
                    for i in range(want)
                ]
            else:
                contents = variations_for(body, 1)
        else:
            contents = [expansion_for(body)] * (want if owner.n == "ok" else 1)
        if body.get("stream"):
            self._stream(body, contents[0], finish, fault is not None and fault.kind == "drop_midstream")
            return
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": c, "refusal": None},
                "finish_reason": finish,
                "logprobs": None,
            }
            for i, c in enumerate(contents)
        ]
        self._send_json(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": choices,
                "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            },
        )

    def _stream(self, body: dict[str, Any], content: str, finish: str, drop: bool) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        words = re.findall(r"\S+\s*", content) or [""]

        def event(delta: dict[str, Any], reason: str | None) -> None:
            chunk = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": reason, "logprobs": None}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

        try:
            event({"role": "assistant", "content": ""}, None)
            for i, word in enumerate(words):
                if drop and i >= len(words) // 2:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if self.owner.chunk_delay and not self._wait(self.owner.chunk_delay):
                    return
                event({"content": word}, None)
            event({}, finish)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except OSError:
            with self.owner._lock:
                self.owner.disconnects += 1
