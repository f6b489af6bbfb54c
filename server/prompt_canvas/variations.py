"""Variations of a prompt: template sampling and semantic treatments.

- Template variations run the entry's Dynamic Prompts syntax through
  ``dynamicprompts``: every combination when N covers them all (the count is
  known up front, :func:`~prompt_canvas.template.count_combinations`), otherwise
  N distinct random samples for the seed.
- Semantic variations keep a plain prompt's subject and give it a new
  treatment: another time of day and its light, weather, palette, medium,
  camera or composition. The N results are pairwise distinct.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from .defaults import defaults
from .errors import UserError
from .expanders.base import ExpandRequest
from .expanders.offline import OfflineExpander, Treatment
from .knowledge import Concept
from .matching import analyse
from .targets import DEFAULT_TARGET, resolve_target
from .template import Template, Wildcard, count_combinations, scan
from .wildcards import WildcardLibrary

Mode = Literal["auto", "template", "semantic"]
MAX_VARIATIONS = 100
SHORT_PHRASE_WORDS = 8


class VaryError(UserError, ValueError):
    """Variations that cannot be made; the message says why and where."""


@dataclass
class Variations:
    prompts: list[str]
    mode: Literal["template", "semantic"]
    total: int | None  # combinations the template has (None when unknown or semantic)
    exhaustive: bool = False  # every combination was listed
    backend: str = "offline"
    note: str | None = None  # something the user should know (a fallback, fewer than asked)


def _clean(text: str) -> str:
    return " ".join(text.split())


def template_error(template: Template) -> str | None:
    for problem in template.local_problems:
        if problem.severity == "error":
            return f"column {problem.span.start + 1}: {problem.message}"
    return None


def combinations(template: Template, wildcards: WildcardLibrary | None) -> int | None:
    def wildcard_count(node: Wildcard) -> int | None:
        if wildcards is None:
            return None
        values = wildcards.values(node.name)
        return len(values) or None

    return count_combinations(template.nodes, wildcard_count)


def template_variations(
    text: str, n: int, seed: int = 0, wildcards: WildcardLibrary | None = None
) -> Variations:
    from dynamicprompts.generators import CombinatorialPromptGenerator, RandomPromptGenerator

    template = scan(text)
    error = template_error(template)
    if error:
        raise VaryError(f"the template cannot be used: {error}")
    total = combinations(template, wildcards)
    manager = wildcards.manager() if wildcards is not None else None
    try:
        if total is not None and total <= n:
            generated = CombinatorialPromptGenerator(manager).generate(text, max_prompts=total)
            prompts = list(dict.fromkeys(_clean(p) for p in generated))
            return Variations(prompts, "template", total, exhaustive=True)
        generator = RandomPromptGenerator(manager, seed=seed)
        prompts = []
        attempts = 0
        while len(prompts) < n and attempts < 4:
            for p in generator.generate(text, n * 2):
                cleaned = _clean(p)
                if cleaned not in prompts:
                    prompts.append(cleaned)
                if len(prompts) == n:
                    break
            attempts += 1
    except (ValueError, KeyError, RecursionError) as exc:
        raise VaryError(f"Dynamic Prompts could not expand the template: {exc}") from exc
    return Variations(prompts, "template", total, exhaustive=total is not None and len(prompts) >= total)


# -- semantic ---------------------------------------------------------------------------


def _treatments(expander: OfflineExpander, phrase: str, seed: int) -> Iterator[Treatment]:
    """Endless, deterministic treatments; axes the phrase already names are left alone."""
    kb = expander.kb
    present = {m.concept.kind for m in analyse(phrase, kb).matches}
    rng = random.Random(f"variations\x00{seed}\x00{phrase.lower()}")

    def pool(kinds: set[str], skip: bool) -> list[Concept]:
        if skip:
            return []
        concepts = sorted((c for c in kb.concepts.values() if c.kind in kinds), key=lambda c: c.name)
        rng.shuffle(concepts)
        return concepts

    times = pool({"time"}, "time" in present)
    weathers = pool({"weather", "season"}, bool(present & {"weather", "season"}))
    arts = pool({"medium", "style"}, bool(present & {"medium", "style"}))
    comps = sorted({c for values in defaults()["composition"].values() for c in values})
    rng.shuffle(comps)

    def nth(items: list[Concept], i: int) -> Concept | None:
        return items[i % len(items)] if items else None

    for i in range(MAX_VARIATIONS * 10):
        # Time changes every step; the other axes change at other rates, so
        # no two steps share every axis until the pools run out.
        yield Treatment(
            time=nth(times, i),
            weather=nth(weathers, i // 2) if i % 2 == 0 or not times else None,
            art=nth(arts, i // 3 + i) if i % 3 != 1 or not times else None,
            composition=comps[(i * 7) % len(comps)] if comps else None,
        )


def _treatment_clause(treatment: Treatment, rng: random.Random, natural: bool) -> str:
    parts: list[str] = []
    for concept in (treatment.time, treatment.weather):
        if concept is not None and concept.facet("lighting"):
            light = rng.choice(concept.facet("lighting"))
            parts.append(f"{concept.name}, {light}" if not natural else f"at {concept.name} with {light}")
    if treatment.art is not None:
        technique = rng.choice(treatment.art.facet("medium")) if treatment.art.facet("medium") else ""
        name = treatment.art.name
        parts.append(f"{name}, {technique}" if not natural else f"as {name} with {technique}")
        if treatment.art.facet("palette"):
            parts.append(rng.choice(treatment.art.facet("palette")))
    elif treatment.time is not None and treatment.time.facet("palette"):
        parts.append(rng.choice(treatment.time.facet("palette")))
    if treatment.composition:
        parts.append(treatment.composition)
    if natural:
        return ("Reimagined " + "; ".join(parts) + ".") if parts else ""
    return ", ".join(parts)


def semantic_variations(
    prompt: str,
    n: int,
    seed: int = 0,
    target: str = DEFAULT_TARGET,
    expander: OfflineExpander | None = None,
) -> Variations:
    expander = expander or OfflineExpander()
    text = _clean(prompt)
    if not text:
        raise VaryError("nothing to vary: the prompt is empty")
    resolved = resolve_target(target)
    if resolved is None:
        raise VaryError(f"unknown target '{target}'")
    results: list[str] = []
    short = len(text.split()) <= SHORT_PHRASE_WORDS and "--" not in text
    for i, treatment in enumerate(_treatments(expander, text, seed)):
        if len(results) == n:
            break
        if short:
            request = ExpandRequest(text, resolved.name, seed + i)
            candidate = expander.expand_sync(request, treatment).prompt
        else:
            rng = random.Random(f"{seed}\x00{i}\x00{text}")
            natural = resolved.name in ("dalle", "flux", "generic") and text.rstrip().endswith(
                (".", "!", "?")
            )
            clause = _treatment_clause(treatment, rng, natural)
            body, params = _split_params(text)
            joiner = " " if natural else ", "
            candidate = f"{body.rstrip(' ,')}{joiner}{clause}" + (f" {params}" if params else "")
        if candidate not in results:
            results.append(candidate)
    return Variations(results[:n], "semantic", None)


def _split_params(text: str) -> tuple[str, str]:
    """Split trailing Midjourney --params off a prompt."""
    idx = text.find(" --")
    if idx == -1:
        return text, ""
    return text[:idx], text[idx + 1 :]


def vary(
    prompt: str,
    n: int = 4,
    seed: int = 0,
    mode: Mode = "auto",
    target: str = DEFAULT_TARGET,
    wildcards: WildcardLibrary | None = None,
    expander: OfflineExpander | None = None,
) -> Variations:
    """N variations of ``prompt``: template sampling if it has template syntax, else semantic."""
    if not 1 <= n <= MAX_VARIATIONS:
        raise VaryError(f"the number of variations must be between 1 and {MAX_VARIATIONS}, not {n}")
    if mode == "auto":
        template = scan(prompt)
        mode = "semantic" if template.is_plain else "template"
    if mode == "template":
        return template_variations(prompt, n, seed, wildcards)
    return semantic_variations(prompt, n, seed, target, expander)
