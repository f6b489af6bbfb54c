"""Image generators we shape prompts for, and their limits."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    aliases: tuple[str, ...]
    description: str
    # Limits: CLIP tokens per chunk (SD/SDXL) or characters (DALL-E).
    clip_token_limit: int | None = None
    char_limit: int | None = None
    negative: bool = False  # has a separate negative-prompt field
    params: bool = False  # takes Midjourney-style --params after the text
    words: tuple[int, int] = (30, 80)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "dalle",
            "DALL-E / gpt-image",
            ("dall-e", "dalle3", "dall-e-3", "gpt-image", "gpt-image-1", "openai"),
            "Natural sentences: scene, subject, details, then constraints. No negative prompt field.",
            char_limit=4000,
            words=(30, 80),
        ),
        Target(
            "midjourney",
            "Midjourney",
            ("mj", "midjourney-v7"),
            "Comma phrases, then --parameters (--ar, --v, --style, --no) at the very end.",
            params=True,
            words=(20, 60),
        ),
        Target(
            "sdxl",
            "Stable Diffusion / SDXL",
            ("sd", "stable-diffusion", "sd15", "sd1.5", "sdxl1.0", "stable diffusion"),
            "Comma-separated tags with optional (term:1.2) emphasis and a separate negative prompt; "
            "CLIP reads 75 tokens per chunk.",
            clip_token_limit=75,
            negative=True,
            words=(20, 60),
        ),
        Target(
            "flux",
            "Flux",
            ("flux.1", "flux1", "flux-dev", "flux-schnell"),
            "Natural language, 30-80 words, no weights and no negative prompt.",
            words=(30, 80),
        ),
        Target(
            "generic",
            "Generic",
            ("any", "default"),
            "Plain descriptive text that suits most generators.",
            words=(25, 70),
        ),
    )
}

_BY_ALIAS: dict[str, str] = {alias: t.name for t in TARGETS.values() for alias in (t.name, *t.aliases)}

DEFAULT_TARGET = "dalle"


def resolve_target(name: str) -> Target | None:
    """A target by name or alias (case-insensitive), or None."""
    key = _BY_ALIAS.get(name.strip().lower())
    return TARGETS[key] if key else None


def suggest_target(name: str) -> str | None:
    match = difflib.get_close_matches(name.strip().lower(), list(_BY_ALIAS), n=1, cutoff=0.6)
    return _BY_ALIAS[match[0]] if match else None


def target_names() -> list[str]:
    return list(TARGETS)
