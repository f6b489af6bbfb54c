"""Running expansions and variations on the chosen backend, with the cache and the fallback.

The CLI and the language server both go through :class:`Engine`:

- The backend of a request is a :class:`~.backends.BackendChoice`.
- LLM answers are cached on disk (:mod:`.cache`), keyed by everything that
  shapes them; a repeat makes no request.
- When the LLM server cannot be reached and ``fallback_to_offline`` is on,
  the offline expander answers and the result carries a note saying so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from .backends import BackendChoice
from .cache import ResultCache, cache_key
from .expanders.base import ExpandRequest, Expansion
from .expanders.llm_prompts import PROMPTS_VERSION
from .expanders.offline import OfflineExpander
from .expanders.openai_backend import LLMConfig, LLMError, OpenAIExpander, Progress
from .template import scan
from .variations import Mode, Variations, VaryError, semantic_variations, template_variations
from .wildcards import WildcardLibrary


class Engine:
    def __init__(
        self, offline: Callable[[], OfflineExpander] | None = None, cache: ResultCache | None = None
    ) -> None:
        self._offline_factory = offline or OfflineExpander
        self._offline: OfflineExpander | None = None
        self.cache = cache or ResultCache()
        self._llms: dict[LLMConfig, OpenAIExpander] = {}
        self._retired: set[asyncio.Task[None]] = set()

    def offline(self) -> OfflineExpander:
        if self._offline is None:
            self._offline = self._offline_factory()
        return self._offline

    def llm(self, config: LLMConfig) -> OpenAIExpander:
        expander = self._llms.get(config)
        if expander is None:
            # A new configuration replaces the old clients (their connections are closed).
            for old in self._llms.values():
                self._retire(old)
            self._llms = {config: (expander := OpenAIExpander(config))}
        return expander

    def _retire(self, expander: OpenAIExpander) -> None:
        try:
            task = asyncio.get_running_loop().create_task(expander.aclose())
        except RuntimeError:
            return
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def aclose(self) -> None:
        for expander in self._llms.values():
            await expander.aclose()
        self._llms = {}

    # -- expand -------------------------------------------------------------------------

    async def expand(
        self, request: ExpandRequest, choice: BackendChoice, progress: Progress | None = None
    ) -> Expansion:
        if choice.llm is None:
            return self.offline().expand_sync(request)
        config = choice.llm
        key = cache_key(
            {
                "kind": "expand",
                "model": config.model,
                "base_url": config.base_url,
                "temperature": config.temperature,
                "prompts": PROMPTS_VERSION,
                "phrase": " ".join(request.phrase.split()),
                "target": request.target,
                "seed": request.seed,
                "style": request.style,
                "negative": request.negative,
                "params": request.params,
            }
        )
        if choice.cache:
            hit = self.cache.get(key)
            if isinstance(hit, dict) and isinstance(hit.get("prompt"), str):
                return Expansion(
                    " ".join(request.phrase.split()),
                    hit["prompt"],
                    hit.get("negative"),
                    request.target,
                    "openai",
                    request.seed,
                    hit.get("note"),
                )
        try:
            expansion = await self.llm(config).expand(request, progress)
        except LLMError as exc:
            if not (exc.unreachable and choice.fallback):
                raise
            made = self.offline().expand_sync(request)
            return replace(made, note=f"{exc} Expanded offline instead (fallback to offline is on).")
        if choice.cache:
            self.cache.put(
                key, {"prompt": expansion.prompt, "negative": expansion.negative, "note": expansion.note}
            )
        return expansion

    # -- vary ----------------------------------------------------------------------------

    async def vary(
        self,
        prompt: str,
        n: int,
        seed: int,
        mode: Mode,
        target: str,
        wildcards: WildcardLibrary | None,
        choice: BackendChoice,
        progress: Progress | None = None,
    ) -> Variations:
        """Template syntax is sampled locally (Dynamic Prompts); plain prompts go to the backend."""
        if mode == "auto":
            mode = "semantic" if scan(prompt).is_plain else "template"
        if mode == "template":
            return template_variations(prompt, n, seed, wildcards)
        if choice.llm is None:
            return semantic_variations(prompt, n, seed, target, self.offline())
        config = choice.llm
        text = " ".join(prompt.split())
        if not text:
            raise VaryError("nothing to vary: the prompt is empty")
        key = cache_key(
            {
                "kind": "vary",
                "model": config.model,
                "base_url": config.base_url,
                "temperature": config.temperature,
                "prompts": PROMPTS_VERSION,
                "prompt": text,
                "target": target,
                "seed": seed,
                "n": n,
            }
        )
        if choice.cache:
            hit = self.cache.get(key)
            if isinstance(hit, list) and all(isinstance(v, str) for v in hit):
                return Variations(hit, "semantic", None, backend="openai", note=_fewer(len(hit), n))
        try:
            prompts = await self.llm(config).vary(text, n, target, seed, progress)
        except LLMError as exc:
            if not (exc.unreachable and choice.fallback):
                raise
            made = semantic_variations(prompt, n, seed, target, self.offline())
            made.note = f"{exc} Made the variations offline instead (fallback to offline is on)."
            return made
        if choice.cache:
            self.cache.put(key, prompts)
        return Variations(prompts, "semantic", None, backend="openai", note=_fewer(len(prompts), n))


def _fewer(got: int, asked: int) -> str | None:
    if got >= asked:
        return None
    return f"the model repeated itself: {got} distinct variations of the {asked} asked for"
