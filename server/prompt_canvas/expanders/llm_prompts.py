"""What we ask an LLM: system prompts per target and the user messages.

``PROMPTS_VERSION`` is part of every cache key: change it whenever a system
prompt or message below changes, so cached answers to the old wording are not
reused.
"""

from __future__ import annotations

from typing import Any

from ..targets import TARGETS, Target
from .base import ExpandRequest

PROMPTS_VERSION = "2026-11-22.1"

_ROLE = (
    "You are a prompt generator for text-to-image models. You turn a short idea into one complete, "
    "vivid image prompt. Describe the image in full: the scene, the main subject and its details, "
    "the setting, the lighting, the colour palette, the composition or camera, and the mood. "
    "Keep every word of the idea in the prompt. Invent concrete details; never explain them."
)

_ANSWER = (
    "Answer with the prompt text only: no title, no introduction such as 'Here is your prompt', "
    "no quotation marks, no markdown, no list, no notes after it."
)

_SHAPE: dict[str, str] = {
    "dalle": (
        "Write for DALL-E / gpt-image: two to four natural sentences, 40 to 80 words, most important "
        "first. No parameters, no weights, no negative prompt."
    ),
    "midjourney": (
        "Write for Midjourney: comma-separated descriptive phrases, 20 to 60 words, no full sentences. "
        "Do not write any --parameters; they are added afterwards."
    ),
    "sdxl": (
        "Write for Stable Diffusion XL: comma-separated tags, most important first, at most 50 words "
        "(the text encoder reads 75 tokens). You may give one key term emphasis as (term:1.2)."
    ),
    "flux": (
        "Write for Flux: natural language, 30 to 80 words, in flowing sentences. "
        "No weights, no negative prompt."
    ),
    "generic": "Write plain descriptive comma-separated phrases, 25 to 70 words.",
}

_SDXL_NEGATIVE = (
    "Then, on a new line, write 'Negative prompt:' followed by comma-separated things to avoid "
    "(artefacts, unwanted elements)."
)

VARIATION_AXES = (
    "the time of day and its light",
    "the weather or season",
    "the medium or art style",
    "the camera, lens and composition",
    "the colour palette",
    "the mood and atmosphere",
)


def shape_instructions(target: Target, wants_negative: bool) -> str:
    text = _SHAPE.get(target.name, _SHAPE["generic"])
    if target.negative and wants_negative:
        text += " " + _SDXL_NEGATIVE
    return text


def expand_messages(request: ExpandRequest, retry_missing: list[str] | None = None) -> list[dict[str, Any]]:
    """Chat messages for one expansion; ``retry_missing`` names words a first answer left out."""
    target = TARGETS[request.target]
    wants_negative = target.negative and not request.negative
    system = f"{_ROLE}\n\n{shape_instructions(target, wants_negative)}\n\n{_ANSWER}"
    if target.negative and wants_negative:
        system += " The 'Negative prompt:' line is the only exception."
    lines = [f"Idea: {request.phrase}"]
    if request.style:
        lines.append(f"Style of the whole library (weave it in): {request.style}")
    if request.negative:
        lines.append(f"Leave out (negative prompt, do not mention these): {request.negative}")
    if retry_missing:
        words = ", ".join(f"'{w}'" for w in retry_missing)
        lines.append(
            f"Your previous answer left out {words}. Write the prompt again and use every word of the idea."
        )
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]


def _variation_system(target: Target, count: str) -> str:
    return (
        "You write variations of a text-to-image prompt. Keep the subject and every word the user wrote; "
        f"change the treatment: {', '.join(VARIATION_AXES)}. {count} "
        f"Each variation is a complete prompt. {shape_instructions(target, False)}"
    )


def variations_messages(prompt: str, target_name: str, n: int) -> list[dict[str, Any]]:
    """Messages asking for all N variations at once, as JSON (see :func:`variations_schema`)."""
    target = TARGETS[target_name]
    system = _variation_system(
        target, f"Write exactly {n} variations, each clearly different from the others and the original."
    )
    system += ' Answer with JSON only: {"variations": ["...", "..."]}.'
    return [{"role": "system", "content": system}, {"role": "user", "content": f"Prompt: {prompt}"}]


def one_variation_messages(prompt: str, target_name: str, index: int | None) -> list[dict[str, Any]]:
    """Messages asking for one variation; ``index`` picks an axis so concurrent answers differ."""
    target = TARGETS[target_name]
    system = _variation_system(target, "Write one variation.") + f"\n\n{_ANSWER}"
    user = f"Prompt: {prompt}"
    if index is not None:
        user += f"\nChange above all {VARIATION_AXES[index % len(VARIATION_AXES)]}."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def variations_schema() -> dict[str, Any]:
    """``response_format`` for structured output (OpenAI, Ollama, LM Studio, vLLM, llama.cpp)."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "prompt_variations",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"variations": {"type": "array", "items": {"type": "string"}}},
                "required": ["variations"],
                "additionalProperties": False,
            },
        },
    }
