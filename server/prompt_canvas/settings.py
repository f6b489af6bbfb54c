"""User settings shared by the CLI and the language server, with validation.

Invalid values never stop anything: they fall back to the default and each
one produces a message that says which setting, what was wrong and what is
used instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .targets import DEFAULT_TARGET, TARGETS, resolve_target

BACKENDS = ("offline", "openai")
RENDER_QUALITIES = ("auto", "low", "medium", "high", "standard", "hd")


@dataclass(frozen=True)
class Settings:
    backend: str = "offline"
    target: str = DEFAULT_TARGET
    variations: int = 4
    seed: int = 0
    wildcards: tuple[str, ...] = ()
    knowledge: tuple[str, ...] = ()
    # LLM backend (OpenAI-compatible); the API key is never a setting.
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    temperature: float = 0.8
    timeout: float = 60.0
    max_retries: int = 2
    organization: str | None = None
    project: str | None = None
    fallback_to_offline: bool = False
    cache: bool = True
    # Rendering images (an OpenAI-compatible images endpoint at the same base URL).
    render_model: str = "gpt-image-1"
    render_size: str = "1024x1024"
    render_quality: str = "auto"
    render_count: int = 1
    render_folder: str = "renders"


# camelCase (editor settings) and snake_case are both accepted.
_ALIASES = {
    "baseUrl": "base_url",
    "maxRetries": "max_retries",
    "fallbackToOffline": "fallback_to_offline",
    "wildcardFolders": "wildcards",
    "knowledgeFolders": "knowledge",
    "variationCount": "variations",
    "renderModel": "render_model",
    "renderSize": "render_size",
    "renderQuality": "render_quality",
    "renderCount": "render_count",
    "renderFolder": "render_folder",
}


def parse_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Settings from a mapping (e.g. initializationOptions), plus messages for bad values."""
    settings = base or Settings()
    problems: list[str] = []
    if raw is None:
        return settings, problems
    if not isinstance(raw, Mapping):
        return settings, [f"settings must be an object, got {type(raw).__name__}: using defaults"]
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        key = str(key)
        name = _ALIASES.get(key, key)
        if value is None:
            continue
        checker = _CHECKS.get(name)
        if checker is None:
            continue  # unknown keys belong to other tools or newer versions
        ok, converted, why = checker(value)
        if ok:
            changes[name] = converted
        else:
            default = getattr(Settings(), name)
            problems.append(f"setting '{key}': {why}; using {default!r}")
    return replace(settings, **changes), problems


def _choice(options: tuple[str, ...]) -> Any:
    def check(value: Any) -> tuple[bool, Any, str]:
        if isinstance(value, str) and value.strip().lower() in options:
            return True, value.strip().lower(), ""
        return False, None, f"{value!r} is not one of {', '.join(options)}"

    return check


def _target(value: Any) -> tuple[bool, Any, str]:
    target = resolve_target(value) if isinstance(value, str) else None
    if target:
        return True, target.name, ""
    return False, None, f"{value!r} is not a target ({', '.join(TARGETS)})"


def _int_range(low: int, high: int) -> Any:
    def check(value: Any) -> tuple[bool, Any, str]:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return False, None, f"{value!r} is not a whole number from {low} to {high}"
        return True, value, ""

    return check


def _float_range(low: float, high: float) -> Any:
    def check(value: Any) -> tuple[bool, Any, str]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            return False, None, f"{value!r} is not a number from {low} to {high}"
        return True, float(value), ""

    return check


def _text(value: Any) -> tuple[bool, Any, str]:
    if isinstance(value, str):
        return True, value.strip() or None, ""
    return False, None, f"{value!r} is not text"


def _model(value: Any) -> tuple[bool, Any, str]:
    if isinstance(value, str) and value.strip():
        return True, value.strip(), ""
    return False, None, f"{value!r} is not a model name"


def _size(value: Any) -> tuple[bool, Any, str]:
    if isinstance(value, str) and re.fullmatch(r"auto|\d{2,5}x\d{2,5}", value.strip().lower()):
        return True, value.strip().lower(), ""
    return False, None, f"{value!r} is not an image size such as 1024x1024 or auto"


def _paths(value: Any) -> tuple[bool, Any, str]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return True, tuple(v for v in value if v.strip()), ""
    return False, None, f"{value!r} is not a folder or a list of folders"


def _flag(value: Any) -> tuple[bool, Any, str]:
    if isinstance(value, bool):
        return True, value, ""
    return False, None, f"{value!r} is not true or false"


_CHECKS: dict[str, Any] = {
    "backend": _choice(BACKENDS),
    "target": _target,
    "variations": _int_range(1, 100),
    "seed": _int_range(0, 2**63 - 1),
    "wildcards": _paths,
    "knowledge": _paths,
    "model": _model,
    "base_url": _text,
    "temperature": _float_range(0.0, 2.0),
    "timeout": _float_range(1.0, 3600.0),
    "max_retries": _int_range(0, 10),
    "organization": _text,
    "project": _text,
    "fallback_to_offline": _flag,
    "cache": _flag,
    "render_model": _model,
    "render_size": _size,
    "render_quality": _choice(RENDER_QUALITIES),
    "render_count": _int_range(1, 10),
    "render_folder": _model,
}


ENV_SETTINGS = {
    "PROMPT_CANVAS_BACKEND": "backend",
    "PROMPT_CANVAS_MODEL": "model",
    "PROMPT_CANVAS_BASE_URL": "base_url",
}


def settings_from_env(env: Mapping[str, str] | None = None, base: Settings | None = None) -> Settings:
    """Settings with the environment's values applied (invalid ones are ignored)."""
    env = os.environ if env is None else env
    raw = {name: env[var] for var, name in ENV_SETTINGS.items() if env.get(var)}
    if "base_url" not in raw and env.get("OPENAI_BASE_URL"):
        raw["base_url"] = env["OPENAI_BASE_URL"]
    settings, _ = parse_settings(raw, base or Settings())
    return settings
