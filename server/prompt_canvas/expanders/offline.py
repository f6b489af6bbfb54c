"""The offline expander: a short phrase becomes a full image prompt, no network.

The phrase's words are matched to knowledge-base concepts (:mod:`..matching`),
each concept contributes details for the facet it knows best — the subject's
own look, the place around it, the light of the time or weather named, the
palette of a named style — and the scene is rendered in the target's shape
(:mod:`..shaping`). The user's phrase is always kept word for word. The result
is deterministic for a (phrase, seed) pair.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..defaults import defaults
from ..knowledge import Concept, KnowledgeBase, builtin
from ..matching import ART_KINDS, ATMOSPHERE_KINDS, PLACE_KINDS, THING_KINDS, Match, analyse
from ..shaping import Scene, render
from ..targets import DEFAULT_TARGET, TARGETS, resolve_target
from .base import ExpandError, ExpandRequest, Expansion


def role_of(kind: str | None) -> str:
    if kind is None:
        return "unknown"
    if kind in ATMOSPHERE_KINDS or kind in {"mood", "modifier"} | ART_KINDS:
        return "atmosphere"
    return kind


def _rng(phrase: str, seed: int, salt: str = "") -> random.Random:
    # Seeding with a str is stable across runs and Python versions (sha512 based).
    return random.Random(f"{seed}\x00{phrase.strip().lower()}\x00{salt}")


@dataclass
class _Picker:
    rng: random.Random
    used: set[str] = field(default_factory=set)

    def take(self, options: tuple[str, ...] | list[str], k: int = 1) -> list[str]:
        fresh = [o for o in options if o.lower() not in self.used]
        chosen = self.rng.sample(fresh, min(k, len(fresh))) if fresh else []
        self.used.update(c.lower() for c in chosen)
        return chosen

    def facet(self, concept: Concept | None, facet: str, k: int = 1) -> list[str]:
        return self.take(concept.facet(facet), k) if concept is not None else []

    def first(self, concepts: list[Concept], facet: str, k: int = 1) -> list[str]:
        for concept in concepts:
            got = self.facet(concept, facet, k)
            if got:
                return got
        return []


@dataclass
class Treatment:
    """Concepts forced onto a scene (used by semantic variations)."""

    time: Concept | None = None
    weather: Concept | None = None
    art: Concept | None = None
    mood: Concept | None = None
    composition: str | None = None
    palette: str | None = None

    def concepts(self) -> list[Concept]:
        return [c for c in (self.time, self.weather, self.art, self.mood) if c is not None]


class OfflineExpander:
    """Knowledge-base expander: works with no network and no key."""

    name = "offline"

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        self.kb = kb or builtin()

    @classmethod
    def with_workspace(cls, folders: list[Path]) -> tuple[OfflineExpander, list[str]]:
        """The built-in knowledge base extended from workspace folders."""
        kb = KnowledgeBase(builtin().concepts.values())
        problems: list[str] = []
        for folder in folders:
            if folder.is_dir():
                problems.extend(kb.extend_from(folder))
        return cls(kb), problems

    async def expand(self, request: ExpandRequest) -> Expansion:
        return self.expand_sync(request)

    def expand_sync(self, request: ExpandRequest, treatment: Treatment | None = None) -> Expansion:
        phrase = " ".join(request.phrase.split())
        if not phrase:
            raise ExpandError("nothing to expand: the phrase is empty")
        target = resolve_target(request.target)
        if target is None:
            raise ExpandError(f"unknown target '{request.target}': use one of {', '.join(TARGETS)}")
        scene = self.scene(phrase, request.seed, treatment)
        scene.style = request.style.strip() if request.style and request.style.strip() else None
        prompt, negative = render(
            scene, target, request.negative, request.params, _rng(phrase, request.seed, "r")
        )
        return Expansion(phrase, prompt, negative, target.name, self.name, request.seed)

    @staticmethod
    def _identity(concept: Concept, phrase_words: list[str], rng: random.Random) -> str | None:
        """Another name for the concept that adds to the phrase ("bengal tiger", "rainforest").

        Only the concept's curated ``names`` qualify, minus any the phrase already says.
        """
        if concept.proper or not concept.names:
            return None
        said = {_stem(w) for w in phrase_words}
        options = [n for n in concept.names if not all(_stem(w) in said for w in n.lower().split())]
        return rng.choice(options) if options else None

    # -- scene building ------------------------------------------------------------
    def scene(self, phrase: str, seed: int, treatment: Treatment | None = None) -> Scene:
        analysis = analyse(phrase, self.kb)
        pick = _Picker(_rng(phrase, seed))
        for word in analysis.words:
            pick.used.add(word)
        subject_match = analysis.subject
        subject = subject_match.concept if subject_match else None
        others = [m for m in analysis.matches if m is not subject_match]

        def kinds(matches: list[Match], wanted: set[str]) -> list[Concept]:
            return [m.concept for m in matches if m.concept.kind in wanted]

        places = kinds(others, PLACE_KINDS)
        things = kinds(others, THING_KINDS)
        activities = kinds(others, {"activity"})
        modifiers = kinds(others, {"modifier"})
        moods = kinds(others, {"mood"})
        arts = kinds(others, ART_KINDS)
        atmos = sorted(
            kinds(others, ATMOSPHERE_KINDS), key=lambda c: ("time", "weather", "season").index(c.kind)
        )
        if subject is not None and subject.kind in ATMOSPHERE_KINDS:
            atmos.insert(0, subject)
        if treatment is not None:
            atmos = [c for c in (treatment.time, treatment.weather) if c is not None] + atmos
            if treatment.art is not None:
                arts.insert(0, treatment.art)
            if treatment.mood is not None:
                moods.insert(0, treatment.mood)
        role = role_of(subject.kind if subject else None)
        d = defaults()
        scene = Scene(phrase=phrase, role=role, subject_concept=subject.name if subject else None)
        # A phrase that opens with a named place ("paris in the rain") takes no article.
        scene.proper_start = any(m.start == 0 and m.concept.proper for m in analysis.matches)

        # Another name for the subject and the place makes the scene concrete:
        # "a tiger in the jungle — a bengal tiger with ...; a rainforest with ...".
        if subject is not None and subject.kind in THING_KINDS | PLACE_KINDS:
            scene.identity = self._identity(subject, analysis.words, pick.rng)
        if places:
            scene.place_identity = self._identity(places[0], analysis.words, pick.rng)
        # The subject: its own look first, then what else the phrase names.
        partial = subject_match is not None and not subject_match.exact
        if subject is not None and subject.kind not in ATMOSPHERE_KINDS | ART_KINDS | {"mood"}:
            scene.subject += pick.facet(subject, "subject", 2 if partial else 3)
        for concept in activities[:1]:
            scene.subject += pick.facet(concept, "subject", 2)
        for concept in modifiers[:2]:
            scene.subject += pick.facet(concept, "subject", 1)
        for concept in things[:2]:
            scene.subject += pick.facet(concept, "subject", 2 if len(things) == 1 else 1)
        if subject is not None and subject.kind in ATMOSPHERE_KINDS | ART_KINDS | {"mood"}:
            scene.subject += pick.facet(subject, "subject", 2)
        if not scene.subject or subject is None:
            scene.subject += pick.take(d["unknown_subject"], 2)

        # Where it is: a named place describes itself; else the subject's habitat.
        if places:
            scene.setting += pick.facet(places[0], "subject", 2)
            scene.setting += pick.facet(places[0], "setting", 1)
            for concept in places[1:2]:
                scene.setting += pick.facet(concept, "subject", 1)
        elif (subject is not None and subject.kind in PLACE_KINDS) or subject is not None:
            scene.setting += pick.facet(subject, "setting", 2)
        for concept in atmos[:2]:
            scene.setting += pick.facet(concept, "setting", 1)
        for concept in modifiers[:1]:
            scene.setting += pick.facet(concept, "setting", 1)
        if not scene.setting:
            scene.setting += pick.take(d["unknown_setting"], 1)

        # Light, colour, framing, medium and mood: the most specific source wins.
        base = [c for c in (subject, *places) if c is not None]
        scene.lighting = pick.first(atmos, "lighting", 1)
        if len(atmos) > 1 and atmos[1].kind != atmos[0].kind:
            scene.lighting += pick.facet(atmos[1], "lighting", 1)
        if not scene.lighting:
            scene.lighting = pick.first([*arts, *base, *modifiers], "lighting") or pick.take(
                d["lighting"]["any"]
            )
        scene.palette = (
            ([treatment.palette] if treatment and treatment.palette else [])
            or pick.first([*arts, *atmos, *moods, *base, *modifiers], "palette")
            or pick.take(d["palette"]["any"])
        )
        scene.composition = (
            ([treatment.composition] if treatment and treatment.composition else [])
            or pick.first([*arts, *base], "composition")
            or pick.take(d["composition"].get(role, d["composition"]["unknown"]))
        )
        if arts:
            scene.medium = pick.facet(arts[0], "medium", 2)
            scene.art_name = arts[0].name
        else:
            scene.medium = pick.first(base, "medium") or pick.take(
                d["medium"].get(role, d["medium"]["unknown"])
            )
        scene.mood = pick.first([*moods, *atmos, *base, *arts, *modifiers], "mood") or pick.take(
            d["mood"]["any"]
        )
        return scene


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s", "'s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def expand_offline(phrase: str, target: str = DEFAULT_TARGET, seed: int = 0, **kwargs: Any) -> Expansion:
    """Convenience for scripts and tests."""
    return OfflineExpander().expand_sync(ExpandRequest(phrase, target, seed, **kwargs))
