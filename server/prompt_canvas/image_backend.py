"""Images from an OpenAI-compatible ``/v1/images/generations`` endpoint (``images.generate``).

gpt-image-1, dall-e-3 and dall-e-2 at OpenAI, or a local server. Both answer
forms are read: ``b64_json`` (gpt-image-1 always; others when asked) and
``url`` (downloaded at once: such links expire). Connection, key, model,
rate-limit and server errors are the chat backend's (:mod:`.expanders.openai_backend`),
with the image-specific ones named: content policy, a size the model does not
take, quota and billing limits.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import urllib.error
import urllib.request
from dataclasses import replace
from typing import Any

from .concurrency import bounded_gather
from .expanders.openai_backend import LLMConfig, LLMError, OpenAIExpander
from .render import GeneratedImage, Progress, RenderError, RenderJob

MAX_DOWNLOAD = 64 * 1024 * 1024  # bytes: a generated image is a few MB at most

ONE_PER_REQUEST = ("dall-e-3",)  # models whose API takes n=1 only
SIZES = {
    "gpt-image-1": "1024x1024, 1536x1024, 1024x1536 or auto",
    "dall-e-3": "1024x1024, 1792x1024 or 1024x1792",
    "dall-e-2": "256x256, 512x512 or 1024x1024",
}


def _noop(_: str) -> None:
    return None


class ImageClient:
    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._api: OpenAIExpander | None = None

    def _connection(self, model: str) -> OpenAIExpander:
        if self._api is None or self._api.config.model != model:
            self._api = OpenAIExpander(replace(self.config, model=model))
        return self._api

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()

    async def generate(self, job: RenderJob, progress: Progress | None = None) -> list[GeneratedImage]:
        report = progress or _noop
        options = job.options
        api = self._connection(options.model)
        body: dict[str, Any] = {"model": options.model, "prompt": job.prompt, "n": options.count}
        if options.size != "auto" or options.model.startswith("gpt-image"):
            body["size"] = options.size
        if options.quality != "auto":
            body["quality"] = options.quality
        if not options.model.startswith("gpt-image"):
            body["response_format"] = "b64_json"  # gpt-image-1 always answers so, and rejects the field
        extra: dict[str, Any] = {}
        if job.negative and not self.config.is_openai:
            extra["negative_prompt"] = job.negative  # local Stable Diffusion servers read it
        if not self.config.is_openai:
            extra["seed"] = job.seed % 2**31
        report(f"asking {options.model} for {options.count} image{'s' if options.count > 1 else ''}…")
        if options.model in ONE_PER_REQUEST and options.count > 1:
            # dall-e-3 takes n=1 only: as many requests as images, at once.
            single = {**body, "n": 1}
            calls = [self._call(api, single, extra, report) for _ in range(options.count)]
            answers = await bounded_gather(calls, len(calls))  # one fails: the others stop too
            data: Any = [item for answer in answers for item in (getattr(answer, "data", None) or [])]
        else:
            data = getattr(await self._call(api, body, extra, report), "data", None)
        if not isinstance(data, list) or not data:
            raise LLMError(
                f"{self.config.base_url} returned no image for this prompt. Try again, or another model.",
                "empty",
            )
        images: list[GeneratedImage] = []
        for i, item in enumerate(data):
            revised = getattr(item, "revised_prompt", None)
            b64 = getattr(item, "b64_json", None)
            url = getattr(item, "url", None)
            if isinstance(b64, str) and b64:
                try:
                    raw = base64.b64decode(b64, validate=True)
                except (binascii.Error, ValueError):
                    raise api.malformed("the image's base64 data is broken") from None
            elif isinstance(url, str) and url:
                report(f"downloading image {i + 1} of {len(data)}")
                raw = await self._download(url)
            else:
                raise api.malformed("an image has neither b64_json nor url")
            images.append(GeneratedImage(raw, revised if isinstance(revised, str) and revised else None))
        return images

    async def _call(
        self, api: OpenAIExpander, body: dict[str, Any], extra: dict[str, Any], report: Progress
    ) -> Any:
        async def once() -> Any:
            client = api.client()
            api.requests += 1
            return await client.images.generate(**body, extra_body=extra or None)

        try:
            return await api.retrying(once, report)
        except LLMError as error:
            raise self._image_error(error, body) from None

    def _image_error(self, error: LLMError, body: dict[str, Any]) -> LLMError:
        text = str(error)
        model = str(body.get("model"))
        if error.kind == "refused":
            return LLMError(
                f"{self.config.base_url} refused to draw this prompt (content policy); nothing was written. "
                "Rephrase the entry and render again.",
                "refused",
                status=error.status,
            )
        if error.kind == "malformed":
            return LLMError(text.replace("a valid chat completion", "a valid images answer"), "malformed")
        lowered = text.lower()
        size = str(body.get("size") or "")
        if error.kind == "bad-request" and ("size" in lowered or (size and f"'{size}'" in text)):
            sizes = SIZES.get(model)
            hint = f" {model} takes {sizes}." if sizes else ""
            return LLMError(
                f"{model} does not take the size {size!r} (the server said: {text.split(': ', 1)[-1]}){hint} "
                "Set 'size:' in the front matter or the renderSize setting.",
                "bad-request",
                status=error.status,
            )
        if error.kind == "bad-request" and ("billing" in lowered or "quota" in lowered):
            return LLMError(
                f"{self.config.base_url} will not render: the account's billing limit or quota is reached "
                f"({text.split(': ', 1)[-1]}). Check the plan and billing of this API key.",
                "rate-limit",
                status=error.status,
            )
        return error

    async def _download(self, url: str) -> bytes:
        timeout = self.config.timeout

        def fetch() -> bytes:
            request = urllib.request.Request(url, headers={"User-Agent": "prompt-canvas"})
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                data: bytes = answer.read(MAX_DOWNLOAD + 1)
            if len(data) > MAX_DOWNLOAD:
                raise RenderError(f"the image at {url} is larger than {MAX_DOWNLOAD // 2**20} MB")
            return data

        try:
            return await asyncio.to_thread(fetch)
        except urllib.error.HTTPError as exc:
            raise RenderError(
                f"could not download the image from {url} ({exc.code}); links from image servers expire "
                "quickly: render again."
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RenderError(f"could not download the image from {url} ({reason})") from None
