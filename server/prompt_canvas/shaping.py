"""Render a scene (chosen details per facet) in the shape each generator wants.

- dalle: natural sentences, scene -> subject -> details -> constraints;
- midjourney: comma phrases, then ``--`` parameters;
- sdxl: tags with one ``(term:1.1)`` emphasis, fitted to 75 CLIP tokens, and a
  separate negative prompt;
- flux: natural language, 30-80 words, no weights, no negative;
- generic: one descriptive comma-separated line.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from .defaults import defaults
from .targets import Target

_DETERMINERS = {
    "a",
    "an",
    "the",
    "some",
    "this",
    "that",
    "these",
    "those",
    "my",
    "your",
    "our",
    "their",
    "his",
    "her",
    "its",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "several",
    "many",
    "few",
    "every",
    "each",
    "no",
}
_MASS = {
    "rain",
    "snow",
    "fog",
    "mist",
    "sushi",
    "ramen",
    "coffee",
    "tea",
    "water",
    "fire",
    "smoke",
    "sand",
    "light",
    "autumn",
    "winter",
    "spring",
    "summer",
    "fall",
    "night",
    "dawn",
    "dusk",
    "sunset",
    "sunrise",
    "twilight",
    "noon",
    "midnight",
    "morning",
    "evening",
    "afternoon",
    "moonlight",
    "sunlight",
    "lightning",
    "wind",
    "food",
    "bread",
    "wine",
    "chocolate",
    "ice",
    "grass",
    "moss",
    "lava",
    "frost",
    "hail",
    "space",
}


@dataclass
class Scene:
    phrase: str
    role: str
    subject_concept: str | None = None
    subject: list[str] = field(default_factory=list)
    setting: list[str] = field(default_factory=list)
    lighting: list[str] = field(default_factory=list)
    palette: list[str] = field(default_factory=list)
    composition: list[str] = field(default_factory=list)
    medium: list[str] = field(default_factory=list)
    mood: list[str] = field(default_factory=list)
    style: str | None = None
    art_name: str | None = None
    identity: str | None = None
    place_identity: str | None = None
    proper_start: bool = False

    def trim_one(self) -> bool:
        """Drop one detail, least important first; False when nothing is left to drop."""
        for facet, keep in (("setting", 1), ("subject", 2), ("medium", 1), ("lighting", 1), ("subject", 1)):
            values: list[str] = getattr(self, facet)
            if len(values) > keep:
                values.pop()
                return True
        return False


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _article(word: str) -> str:
    return (
        "an"
        if word[:1].lower() in "aeiou" and not word.lower().startswith(("uni", "use", "eu", "one"))
        else "a"
    )


def noun_phrase(phrase: str, proper: bool = False) -> str:
    """The phrase as written, with 'a'/'an' in front when it reads as a bare singular noun."""
    words = phrase.split()
    if not words or proper:
        return phrase
    first = words[0].lower()
    head = re.split(
        r"\s(?:in|on|at|over|under|with|by|near|during|through|across|beside|inside|above|"
        r"below|among|from|into|beneath|behind|around|along)\s",
        " " + phrase.lower() + " ",
    )[0].split()
    last = head[-1] if head else first
    plural = last.endswith("s") and not last.endswith(("ss", "us", "is", "'s"))
    if first in _DETERMINERS or first[:1].isdigit() or plural or first in _MASS or last in _MASS:
        return phrase
    if words[0][:1].isupper() and not phrase.isupper() and len(words) == 1:
        return phrase  # a proper name
    return f"{_article(words[0])} {phrase}"


def _word_count(text: str) -> int:
    """Words as prompt-length guides count them (hyphenated parts separately)."""
    return len(re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower()))


# -- natural language ---------------------------------------------------------------

# Plain joins: label words ("the setting:", "mood:") add nothing a generator can use.
_SETTING = ("{}.", "Around it, {}.", "{}.")
_LIGHT = ("{light}; {palette}.", "{light}, {palette}.")
_FRAME = ("{comp}; {mood}.", "{comp}, {mood}.")


def _sentences(scene: Scene, rng: random.Random, constraint: str | None) -> str:
    medium = scene.medium[0] if scene.medium else "image"
    subject = noun_phrase(scene.phrase, scene.proper_start)
    if scene.art_name and scene.art_name.lower() in scene.phrase.lower():
        opener = f"An image of {subject}"  # the phrase already names the style
        extra_medium = scene.medium
    elif scene.art_name and scene.art_name.lower() not in medium.lower():
        opener = f"{_cap(_article(scene.art_name))} {scene.art_name} image of {subject}"
        extra_medium = scene.medium
    else:
        opener = f"{_cap(_article(medium))} {medium} of {subject}"
        extra_medium = scene.medium[1:]
    if scene.style:
        opener += (
            f" in the style of {scene.style}" if "style" not in scene.style.lower() else f", {scene.style}"
        )
    if scene.identity and scene.subject:
        parts = [f"{opener} — {_article(scene.identity)} {scene.identity}: {_join(scene.subject)}."]
    else:
        parts = [f"{opener}: {_join(scene.subject)}." if scene.subject else f"{opener}."]
    if scene.setting:
        setting = _join(scene.setting)
        if scene.place_identity:
            setting = f"{_article(scene.place_identity)} {scene.place_identity}: {setting}"
        parts.append(_cap(rng.choice(_SETTING).format(setting)))
    light = ", ".join(scene.lighting) or "natural light"
    palette = _join(scene.palette) or "natural colours"
    parts.append(_cap(rng.choice(_LIGHT).format(light=light, palette=palette)))
    comp = _join(scene.composition + extra_medium)
    mood = _join(scene.mood)
    if comp and mood:
        parts.append(_cap(rng.choice(_FRAME).format(comp=comp, mood=mood)))
    elif comp or mood:
        parts.append(_cap(comp or mood) + ".")
    if constraint:
        parts.append(constraint)
    return " ".join(parts)


def _tags(scene: Scene, emphasis: bool) -> list[tuple[int, str]]:
    """(priority, tag) pairs in display order; lower priority numbers are kept first."""
    tags: list[tuple[int, str]] = [(0, scene.phrase)]
    if scene.identity:
        tags.append((1, scene.identity))
    if scene.style:
        tags.append((1, scene.style))
    for i, m in enumerate(scene.medium):
        tags.append((2 + i * 6, m))
    for i, s in enumerate(scene.subject):
        tags.append((3 + i * 2, f"({s}:1.1)" if emphasis and i == 0 else s))
    if scene.place_identity:
        tags.append((5, scene.place_identity))
    for i, s in enumerate(scene.setting):
        tags.append((6 + i * 3, s))
    for i, s in enumerate(scene.lighting):
        tags.append((4 + i * 5, s))
    for s in scene.palette:
        tags.append((7, s))
    for s in scene.composition:
        tags.append((9, s))
    for s in scene.mood:
        tags.append((10, s))
    return tags


def render(
    scene: Scene,
    target: Target,
    negative: str | None,
    params: str | None,
    rng: random.Random,
) -> tuple[str, str | None]:
    """Return (prompt, negative prompt) for ``target``."""
    d = defaults()
    if target.name in ("dalle", "flux"):
        constraint = rng.choice(d["constraints"]["dalle"]) if target.name == "dalle" else None
        high = target.words[1] - 3  # a margin under the target's word range
        local = rng.random()
        text = _sentences(scene, random.Random(local), constraint)
        while _word_count(text) > high and scene.trim_one():
            text = _sentences(scene, random.Random(local), constraint)
        return text, None  # neither takes a negative prompt
    if target.name == "sdxl":
        from .clip_tokens import count_tokens

        limit = (target.clip_token_limit or 75) - 3  # leave room for the user's own edits
        chosen: list[tuple[int, int, str]] = []
        for order, (priority, tag) in sorted(enumerate(_tags(scene, True)), key=lambda x: (x[1][0], x[0])):
            trial = sorted([*chosen, (order, priority, tag)])
            if count_tokens(", ".join(t for _, _, t in trial)) <= limit or priority == 0:
                chosen = trial
        prompt = ", ".join(t for _, _, t in sorted(chosen))
        neg = negative or ", ".join(d["negative"].get(scene.role, d["negative"]["any"]))
        return prompt, neg
    if target.name == "midjourney":
        tags = [t for _, t in _tags(scene, False)]
        body = ", ".join(tags)
        while _word_count(body) > target.words[1] + 10 and scene.trim_one():
            body = ", ".join(t for _, t in _tags(scene, False))
        suffix = (params or "").strip()
        if "--ar" not in suffix and "--aspect" not in suffix:
            suffix = f"--ar {d['aspect'].get(scene.role, d['aspect']['any'])} {suffix}".strip()
        if "--v" not in suffix and "--niji" not in suffix:
            suffix += " --v 7"
        if negative and "--no" not in suffix:
            suffix += " --no " + ", ".join(p.strip() for p in negative.split(",") if p.strip())
        return f"{body} {suffix}".strip(), None
    # generic
    tags = [t for _, t in _tags(scene, False)]
    text = ", ".join(tags)
    while _word_count(text) > target.words[1] and scene.trim_one():
        text = ", ".join(t for _, t in _tags(scene, False))
    return text, negative
