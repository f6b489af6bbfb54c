"""The LLM expander: any OpenAI-compatible server through the official ``openai`` package.

OpenAI, Azure OpenAI (v1 endpoint), Ollama, LM Studio, vLLM and llama.cpp's
server all speak ``/v1/chat/completions``. ``openai`` is imported on first
use, never at start-up.

- Expand: one chat completion, streamed when someone watches ``progress``
  (partial text goes there),
  cleaned (:mod:`.llm_output`); if the answer lost a word of the idea the
  model is asked once more, then the phrase is kept in front.
- Vary: N variations from one round trip — structured output (JSON schema),
  else ``n`` choices — else N concurrent requests; deduplicated. What the
  server supports is remembered for the session.
- Retries are ours (the client's are off) so the user sees them: 429 and 5xx
  and dropped connections are retried with exponential backoff honouring
  ``Retry-After``, bounded by ``max_retries`` and :data:`MAX_RETRY_WAIT`.
- Every failure becomes one :class:`LLMError` whose message says what
  happened and how to fix it. The API key is never part of a message.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from ..concurrency import bounded_gather
from ..targets import TARGETS, resolve_target
from .base import ExpandError, ExpandRequest, Expansion
from .llm_output import (
    clean_completion,
    keep_phrase_in_front,
    looks_like_refusal,
    missing_words,
    parse_variation_list,
)
from .llm_prompts import expand_messages, one_variation_messages, variations_messages, variations_schema

if TYPE_CHECKING:
    from openai import AsyncOpenAI

Progress = Callable[[str], None]
T = TypeVar("T")

OPENAI_URL = "https://api.openai.com/v1"
MAX_RETRY_WAIT = 30.0  # seconds: a longer Retry-After is reported, not waited for
BACKOFF_START = 0.5
BACKOFF_MAX = 8.0
PROGRESS_INTERVAL = 0.1  # seconds between partial-text reports
NO_KEY = "no-key"  # sent to servers that need none (the client insists on some key)
KEY_HELP = (
    "Set the OPENAI_API_KEY environment variable before starting the editor or the CLI, "
    "or in VS Code run 'Prompt Canvas: Set API Key'"
)


def _noop(_: str) -> None:
    return None


@dataclass(frozen=True)
class LLMConfig:
    model: str
    base_url: str = OPENAI_URL
    api_key: str | None = field(default=None, repr=False)
    temperature: float = 0.8
    timeout: float = 60.0
    max_retries: int = 2
    organization: str | None = None
    project: str | None = None

    @property
    def is_openai(self) -> bool:
        return (urlparse(self.base_url).hostname or "").endswith("api.openai.com")

    @property
    def is_local(self) -> bool:
        host = urlparse(self.base_url).hostname or ""
        return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".local")


class LLMError(ExpandError):
    """A request the LLM server could not answer; ``str()`` is the message for the user.

    ``kind`` is one of: key, model, rate-limit, timeout, connection, server,
    bad-request, malformed, empty, refused. ``unreachable`` marks failures of
    the network or the server itself (where falling back to the offline
    expander makes sense), as opposed to a wrong key or model name.
    """

    def __init__(self, message: str, kind: str, unreachable: bool = False, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.unreachable = unreachable
        self.status = status


@dataclass
class Choice:
    text: str
    finish_reason: str | None = None
    refusal: str | None = None


class Retryable(Exception):
    def __init__(self, error: LLMError, wait: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / divisor)
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
    text = str(message if message else getattr(exc, "message", "") or exc)
    text = " ".join(text.split())
    return text[:200] + ("…" if len(text) > 200 else "")


def _is_content_policy(exc: Any) -> bool:
    code = str(getattr(exc, "code", "") or "")
    return code in ("content_policy_violation", "content_filter") or "content management policy" in (
        _server_message(exc).lower()
    )


class OpenAIExpander:
    """Expansions and variations from an OpenAI-compatible chat completions endpoint."""

    name = "openai"

    def __init__(self, config: LLMConfig, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.config = config
        self._sleep = sleep
        self._client: AsyncOpenAI | None = None
        # What this server supports for variations, learned as we go: "json_schema", "n" or "concurrent".
        self.variation_strategy = "json_schema"
        self.requests = 0  # chat completion requests sent (for progress and benchmarks)

    # -- the client ------------------------------------------------------------------

    def client(self) -> AsyncOpenAI:
        if self._client is None:
            config = self.config
            if not config.api_key and config.is_openai:
                raise LLMError(
                    f"no API key for {config.base_url}. {KEY_HELP}. For a local server (Ollama, LM Studio) "
                    "set the base URL to it instead.",
                    "key",
                )
            from openai import AsyncOpenAI  # heavy: imported on first use only

            self._client = AsyncOpenAI(
                api_key=config.api_key or NO_KEY,
                base_url=config.base_url,
                organization=config.organization,
                project=config.project,
                timeout=config.timeout,
                max_retries=0,  # ours: see _call
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # -- errors ----------------------------------------------------------------------

    async def translate_error(self, exc: BaseException) -> LLMError | Retryable:
        """One clear message per failure; retryable ones come wrapped with their wait."""
        import openai

        config = self.config
        url = config.base_url
        if isinstance(exc, (LLMError, Retryable)):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(
                f"no answer from {url} within {config.timeout:g} s (timeout). The server may be busy or "
                "the model still loading: try again, or raise the 'timeout' setting.",
                "timeout",
                unreachable=True,
            )
        if isinstance(exc, openai.APIConnectionError):
            causes = _chain(exc)
            refused = any(
                isinstance(c, ConnectionRefusedError) or type(c).__name__ == "ConnectError" for c in causes
            )
            if refused:
                hint = (
                    "Is the server running? Ollama: run 'ollama serve'; LM Studio: start its local server"
                    if config.is_local or not config.is_openai
                    else "Check your network connection and proxy settings"
                )
                return LLMError(
                    f"cannot connect to {url} (connection refused). {hint}; and check the 'baseUrl' setting.",
                    "connection",
                    unreachable=True,
                )
            detail = str(causes[-1]) if len(causes) > 1 else ""
            error = LLMError(
                f"the connection to {url} was lost before an answer came"
                + (f" ({detail})" if detail else "")
                + ". Check that the server is up and the base URL is right.",
                "connection",
                unreachable=True,
            )
            return Retryable(error, None)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            server = _server_message(exc)
            if status in (401, 403):
                sent = (
                    "the API key was rejected"
                    if config.api_key
                    else "no API key is set and this server needs one"
                )
                return LLMError(f"{url} answered {status}: {sent}. {KEY_HELP}.", "key", status=status)
            if status == 404:
                return LLMError(await self._not_found_message(), "model", status=status)
            if status == 429:
                code = str(getattr(exc, "code", "") or "")
                if code == "insufficient_quota" or "quota" in server.lower():
                    return LLMError(
                        f"{url} answered 429: the account is out of quota ({server}). Check the plan and "
                        "billing of this API key.",
                        "rate-limit",
                        status=status,
                    )
                error = LLMError(
                    f"rate limited by {url} (429) and still limited after retrying. Wait a minute and try "
                    "again, or lower the number of variations.",
                    "rate-limit",
                    status=status,
                )
                return Retryable(error, _retry_after(exc.response.headers))
            if status in (400, 422) and _is_content_policy(exc):
                return self._refused(server)
            if status >= 500:
                error = LLMError(
                    f"the server at {url} failed ({status}: {server}) and kept failing after retrying. "
                    "Try again later.",
                    "server",
                    unreachable=True,
                    status=status,
                )
                return Retryable(error, _retry_after(exc.response.headers))
            return LLMError(f"{url} rejected the request ({status}): {server}", "bad-request", status=status)
        if isinstance(exc, (ValueError, openai.APIResponseValidationError, TypeError, KeyError)):
            return self.malformed(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, openai.OpenAIError):
            return LLMError(f"the OpenAI client failed: {exc}", "bad-request")
        raise exc

    def malformed(self, detail: str) -> LLMError:
        detail = " ".join(detail.split())[:160]
        return LLMError(
            f"the answer from {self.config.base_url} is not a valid chat completion ({detail}). "
            "Is the base URL an OpenAI-compatible endpoint (it usually ends in /v1)?",
            "malformed",
        )

    def _refused(self, reason: str | None) -> LLMError:
        why = f": {reason}" if reason else ""
        return LLMError(
            f"the model refused this request (content policy){why}. Rephrase the idea, or use the "
            "offline backend for it.",
            "refused",
        )

    async def _not_found_message(self) -> str:
        config = self.config
        try:
            page = await asyncio.wait_for(self.client().models.list(), timeout=min(config.timeout, 5.0))
            names = sorted(m.id for m in page.data)
        except Exception:
            return (
                f"{config.base_url} answered 404: model '{config.model}' was not found there, or this is "
                "not an OpenAI-compatible endpoint (the base URL usually ends in /v1)."
            )
        listed = ", ".join(names[:12]) + (", …" if len(names) > 12 else "") if names else "none"
        return (
            f"model '{config.model}' was not found at {config.base_url} (available: {listed}). "
            "Set 'model' in the settings or in the file's front matter."
        )

    # -- one request, with retries -------------------------------------------------------

    async def _call(
        self,
        messages: list[dict[str, Any]],
        progress: Progress,
        *,
        seed: int | None = None,
        n: int | None = None,
        stream: bool = False,
        response_format: dict[str, Any] | None = None,
    ) -> list[Choice]:
        async def once() -> list[Choice]:
            if stream:
                return [await self._stream_once(messages, progress, seed)]
            return await self._once(messages, seed, n, response_format)

        return await self.retrying(once, progress)

    async def retrying(self, once: Callable[[], Awaitable[T]], progress: Progress) -> T:
        """``once()`` with our retries: 429, 5xx and dropped connections, with backoff and Retry-After."""
        attempts = self.config.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return await once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outcome = await self.translate_error(exc)
                if isinstance(outcome, LLMError):
                    raise outcome from None
                if attempt == attempts:
                    raise outcome.error from None
                wait = outcome.wait
                if wait is not None and wait > MAX_RETRY_WAIT:
                    raise LLMError(
                        f"{outcome.error} The server asks to wait {wait:.0f} s before trying again.",
                        outcome.error.kind,
                        outcome.error.unreachable,
                        outcome.error.status,
                    ) from None
                if wait is None:
                    wait = min(BACKOFF_MAX, BACKOFF_START * 2 ** (attempt - 1)) * (1 - 0.25 * random.random())
                reason = {"rate-limit": "rate limited", "server": "server error"}.get(
                    outcome.error.kind, "connection lost"
                )
                progress(f"{reason}; retrying in {wait:.1f} s (attempt {attempt + 1} of {attempts})")
                await self._sleep(wait)
        raise AssertionError("unreachable")

    def _request(self, messages: list[dict[str, Any]], seed: int | None, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            **{k: v for k, v in extra.items() if v is not None},
        }
        if seed is not None:
            body["seed"] = seed % 2**31  # some servers take only 32-bit seeds
        return body

    async def _once(
        self,
        messages: list[dict[str, Any]],
        seed: int | None,
        n: int | None,
        response_format: dict[str, Any] | None,
    ) -> list[Choice]:
        client = self.client()
        self.requests += 1
        response: Any = await client.chat.completions.create(
            **self._request(messages, seed, n=n, response_format=response_format)
        )
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list):
            raise self.malformed(f"no 'choices' in {str(response)[:80]!r}")
        out: list[Choice] = []
        for choice in choices:
            message = getattr(choice, "message", None)
            content = getattr(message, "content", None)
            if content is not None and not isinstance(content, str):
                raise self.malformed("'content' is not text")
            refusal = getattr(message, "refusal", None)
            out.append(Choice(content or "", getattr(choice, "finish_reason", None), refusal or None))
        return out

    async def _stream_once(
        self, messages: list[dict[str, Any]], progress: Progress, seed: int | None
    ) -> Choice:
        client = self.client()
        self.requests += 1
        stream: Any = await client.chat.completions.create(**self._request(messages, seed, stream=True))
        parts: list[str] = []
        finish: str | None = None
        refusal: list[str] = []
        last = 0.0
        chunks = 0
        try:
            async for chunk in stream:
                chunks += 1
                for choice in getattr(chunk, "choices", None) or []:
                    if getattr(choice, "index", 0) not in (0, None):
                        continue
                    delta = getattr(choice, "delta", None)
                    piece = getattr(delta, "content", None)
                    if isinstance(piece, str):
                        parts.append(piece)
                    denied = getattr(delta, "refusal", None)
                    if isinstance(denied, str):
                        refusal.append(denied)
                    finish = getattr(choice, "finish_reason", None) or finish
                now = time.monotonic()
                partial = " ".join("".join(parts).split()) if now - last >= PROGRESS_INTERVAL else ""
                if partial:
                    last = now
                    progress(("…" + partial[-110:]) if len(partial) > 110 else partial)
        finally:
            await stream.close()
        if not chunks:
            kind = getattr(getattr(stream, "response", None), "headers", {}).get("content-type", "?")
            raise self.malformed(f"no completion events in a '{kind}' answer")
        if finish is None:  # the stream stopped before the model finished: a cut connection
            lost = LLMError(
                f"the connection to {self.config.base_url} was cut while the answer was streaming. "
                "Check that the server is up.",
                "connection",
                unreachable=True,
            )
            raise Retryable(lost, None)
        return Choice("".join(parts), finish, "".join(refusal) or None)

    # -- expand ---------------------------------------------------------------------------

    def _text_of(self, choice: Choice) -> tuple[str, str | None]:
        if choice.finish_reason == "content_filter" or choice.refusal:
            raise self._refused(choice.refusal)
        cleaned = clean_completion(choice.text)
        if not cleaned.prompt:
            raise LLMError(
                f"the model '{self.config.model}' at {self.config.base_url} returned an empty answer. "
                "Try again, or choose another model.",
                "empty",
            )
        if looks_like_refusal(cleaned.prompt):
            raise self._refused(cleaned.prompt[:120])
        return cleaned.prompt, cleaned.negative

    async def expand(self, request: ExpandRequest, progress: Progress | None = None) -> Expansion:
        report = progress or _noop
        phrase = " ".join(request.phrase.split())
        if not phrase:
            raise ExpandError("nothing to expand: the phrase is empty")
        target = resolve_target(request.target)
        if target is None:
            raise ExpandError(f"unknown target '{request.target}': use one of {', '.join(TARGETS)}")
        request = ExpandRequest(
            phrase, target.name, request.seed, request.style, request.negative, request.params
        )
        report(f"asking {self.config.model}…")
        # Streaming only helps someone watching the progress; a batch (the CLI) reads whole answers.
        stream = progress is not None
        choice = (await self._call(expand_messages(request), report, seed=request.seed, stream=stream))[0]
        prompt, negative = self._text_of(choice)
        note = None
        missing = missing_words(phrase, prompt)
        if missing:
            report(f"the answer left out {', '.join(missing)}; asking again")
            messages = expand_messages(request, retry_missing=missing)
            choice = (await self._call(messages, report, seed=request.seed, stream=stream))[0]
            retry_prompt, retry_negative = self._text_of(choice)
            if missing_words(phrase, retry_prompt):
                prose = target.name in ("dalle", "flux")
                prompt = keep_phrase_in_front(phrase, prompt, prose)
                note = f"the model left out {', '.join(missing)}; your phrase was kept in front"
            else:
                prompt, negative = retry_prompt, retry_negative
        prompt, negative = shape(prompt, negative, request)
        return Expansion(phrase, prompt, negative, target.name, self.name, request.seed, note)

    # -- vary -------------------------------------------------------------------------------

    async def vary(
        self, prompt: str, n: int, target: str, seed: int = 0, progress: Progress | None = None
    ) -> list[str]:
        """``n`` distinct variations of ``prompt`` (fewer only if the model keeps repeating itself)."""
        report = progress or _noop
        text = " ".join(prompt.split())
        if not text:
            raise ExpandError("nothing to vary: the prompt is empty")
        resolved = resolve_target(target)
        if resolved is None:
            raise ExpandError(f"unknown target '{target}'")
        body, params = split_params(text) if resolved.params else (text, "")
        found: list[str] = []
        seen = {_norm(body)}

        def add(candidates: list[str]) -> None:
            for candidate in candidates:
                key = _norm(candidate)
                if candidate and key not in seen and len(found) < n:
                    seen.add(key)
                    found.append(candidate)

        report(f"asking {self.config.model} for {n} variations…")
        if self.variation_strategy == "json_schema":
            try:
                choices = await self._call(
                    variations_messages(body, resolved.name, n),
                    report,
                    seed=seed,
                    response_format=variations_schema(),
                )
                parsed = parse_variation_list(choices[0].text) if choices else None
                if choices and (choices[0].finish_reason == "content_filter" or choices[0].refusal):
                    raise self._refused(choices[0].refusal)
                if parsed is None:
                    self.variation_strategy = "n"  # the server ignored the schema
                else:
                    add(parsed)
            except LLMError as exc:
                if exc.kind != "bad-request":
                    raise
                self.variation_strategy = "n"  # the server does not take response_format
        if len(found) < n and self.variation_strategy == "n" and n - len(found) > 1:
            want = n - len(found)
            try:
                choices = await self._call(
                    one_variation_messages(body, resolved.name, None), report, seed=seed, n=want
                )
                if len(choices) < want:
                    self.variation_strategy = "concurrent"  # the server ignored n
                add([self._text_of(c)[0] for c in choices])
            except LLMError as exc:
                if exc.kind != "bad-request":
                    raise
                self.variation_strategy = "concurrent"
        for _round in range(2):
            want = n - len(found)
            if want <= 0:
                break
            report(f"{len(found)} of {n} variations; asking for {want} more")
            offset = len(found) + _round * n
            calls = [
                self._call(
                    one_variation_messages(body, resolved.name, offset + i), report, seed=seed + offset + i
                )
                for i in range(want)
            ]
            results = await bounded_gather(calls, want)
            add([self._text_of(r[0])[0] for r in results if r])
        if not found:
            raise LLMError(
                f"the model '{self.config.model}' gave no usable variations. "
                "Try again, or raise the temperature.",
                "empty",
            )
        return [f"{v} {params}".strip() if params else v for v in found]


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .,")


def split_params(text: str) -> tuple[str, str]:
    """Trailing Midjourney ``--params`` split off a prompt."""
    idx = text.find(" --")
    if text.startswith("--"):
        idx = 0
    if idx == -1:
        return text, ""
    return text[:idx].strip(), text[idx:].strip()


def shape(prompt: str, negative: str | None, request: ExpandRequest) -> tuple[str, str | None]:
    """Fit a cleaned answer to the target: params last, the negative where the target takes one."""
    target = TARGETS[request.target]
    if target.name == "midjourney":
        body, written = split_params(prompt)
        params = (request.params or "").strip()
        suffix = params or written
        avoid = request.negative or negative
        if avoid and "--no" not in suffix:
            suffix += " --no " + ", ".join(p.strip() for p in avoid.split(",") if p.strip())
        return f"{body.rstrip(' ,.')} {suffix}".strip(), None
    if target.negative:
        return prompt, request.negative or negative
    if target.char_limit and len(prompt) > target.char_limit:
        cut = prompt[: target.char_limit]
        prompt = cut[: cut.rfind(" ")] if " " in cut else cut
    return prompt, request.negative if target.name == "generic" else None
