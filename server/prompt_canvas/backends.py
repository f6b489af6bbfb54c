"""Which backend answers a request: offline, or an OpenAI-compatible server and its settings.

:func:`choose_backend` layers the sources of a choice: settings (defaults,
then the environment, then editor settings: :func:`.settings.settings_from_env`),
then the file's front matter (``backend``, ``model``), then explicit CLI
flags. Cheap: code-action titles use it on every request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .expanders.openai_backend import OPENAI_URL, LLMConfig
from .settings import Settings, parse_settings


@dataclass(frozen=True)
class BackendChoice:
    backend: str  # "offline" or "openai"
    llm: LLMConfig | None = None
    cache: bool = True
    fallback: bool = False

    @property
    def label(self) -> str:
        return f"openai · {self.llm.model}" if self.llm is not None else "offline"


def choose_backend(
    settings: Settings,
    api_key: str | None = None,
    front_matter: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> BackendChoice:
    """The backend for one request: settings < front matter (backend, model) < overrides."""
    layered: dict[str, Any] = {}
    if front_matter:
        layered.update({k: front_matter[k] for k in ("backend", "model") if front_matter.get(k) is not None})
    if overrides:
        layered.update({k: v for k, v in overrides.items() if v is not None})
    chosen, _ = parse_settings(layered, settings)  # bad front-matter values are diagnostics already
    if chosen.backend != "openai":
        return BackendChoice("offline", None, chosen.cache, False)
    config = LLMConfig(
        model=chosen.model,
        base_url=(chosen.base_url or OPENAI_URL).rstrip("/"),
        api_key=api_key or os.environ.get("OPENAI_API_KEY") or None,
        temperature=chosen.temperature,
        timeout=chosen.timeout,
        max_retries=chosen.max_retries,
        organization=chosen.organization,
        project=chosen.project,
    )
    return BackendChoice("openai", config, chosen.cache, chosen.fallback_to_offline)
