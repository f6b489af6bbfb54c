"""Find knowledge-base concepts in a short phrase, and the role each plays.

"fox in the snow" -> fox (the subject), snow (weather). Longest phrases win
("pirate ship" before "ship"), plurals and possessives fold to their concept,
and an unknown compound falls back to a known part ("glassblower" -> glass
blowing, if only "glass" is known). Words before the first preposition form
the head of the phrase; its last thing-like concept is the main subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .knowledge import Concept, KnowledgeBase

THING_KINDS = {"creature", "person", "object", "food", "vehicle", "plant"}
PLACE_KINDS = {"place", "building", "landscape"}
ATMOSPHERE_KINDS = {"time", "season", "weather"}
ART_KINDS = {"medium", "style"}

PREPOSITIONS = {
    "in",
    "on",
    "at",
    "over",
    "under",
    "with",
    "by",
    "near",
    "during",
    "through",
    "across",
    "beside",
    "inside",
    "above",
    "below",
    "among",
    "amid",
    "from",
    "into",
    "onto",
    "beneath",
    "behind",
    "around",
    "along",
    "against",
    "within",
    "between",
    "toward",
    "towards",
    "past",
    "beyond",
    "upon",
}
STOPWORDS = {"a", "an", "the", "of", "and", "or", "its", "his", "her", "their", "my", "your", "our", "to"}
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)


@dataclass
class Match:
    concept: Concept
    start: int  # word index
    end: int
    text: str
    exact: bool = True
    in_head: bool = True


@dataclass
class PhraseAnalysis:
    phrase: str
    words: list[str]
    matches: list[Match] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def of_kinds(self, kinds: set[str]) -> list[Match]:
        return [m for m in self.matches if m.concept.kind in kinds]

    @property
    def subject(self) -> Match | None:
        """The main subject: last thing in the head, else the first place, else anything."""
        head_things = [m for m in self.matches if m.in_head and m.concept.kind in THING_KINDS]
        if head_things:
            return head_things[-1]
        things = self.of_kinds(THING_KINDS)
        if things:
            return things[0]
        head_places = [m for m in self.matches if m.in_head and m.concept.kind in PLACE_KINDS]
        if head_places:
            return head_places[-1]
        for kinds in (PLACE_KINDS, {"activity"}, ATMOSPHERE_KINDS, {"modifier", "mood"}, ART_KINDS):
            found = self.of_kinds(kinds)
            if found:
                return found[0]
        return None


def _singular_forms(word: str) -> list[str]:
    forms = []
    for suffix, repl in (
        ("'s", ""),
        ("’s", ""),
        ("s'", "s"),
        ("ies", "y"),
        ("ves", "f"),
        ("ves", "fe"),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(word[: -len(suffix)] + repl)
    return forms


def words_of(phrase: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(phrase)]


def analyse(phrase: str, kb: KnowledgeBase, max_len: int = 4) -> PhraseAnalysis:
    words = words_of(phrase)
    analysis = PhraseAnalysis(phrase, words)
    head_end = next((i for i, w in enumerate(words) if w in PREPOSITIONS and i > 0), len(words))
    i = 0
    while i < len(words):
        found: Match | None = None
        for n in range(min(max_len, len(words) - i), 0, -1):
            chunk = words[i : i + n]
            if n == 1 and (chunk[0] in STOPWORDS or chunk[0] in PREPOSITIONS):
                break
            candidates = [" ".join(chunk)]
            candidates += [" ".join([*chunk[:-1], form]) for form in _singular_forms(chunk[-1])]
            if n > 1:
                candidates.append("".join(chunk))  # "tree house" -> "treehouse"
            for candidate in candidates:
                concept = kb.get(candidate)
                if concept is not None:
                    found = Match(concept, i, i + n, " ".join(chunk), True, i < head_end)
                    break
            if found:
                break
        if found is None and words[i] not in STOPWORDS and words[i] not in PREPOSITIONS:
            found = _partial(words[i], i, kb, i < head_end)
            if found is None:
                analysis.unknown.append(words[i])
        if found is not None:
            if all(m.concept.name != found.concept.name for m in analysis.matches):
                analysis.matches.append(found)
            i = found.end
        else:
            i += 1
    return analysis


def _partial(word: str, index: int, kb: KnowledgeBase, in_head: bool) -> Match | None:
    """A known term that starts or ends an unknown word ("snowfox" -> fox, "glassworks" -> glass)."""
    if len(word) < 6:
        return None
    best: Concept | None = None
    best_len = 0
    for cut in range(3, len(word) - 2):
        for part in (word[:cut], word[cut:]):
            if len(part) < 4 or len(part) <= best_len:
                continue
            for form in (part, *_singular_forms(part)):
                concept = kb.get(form)
                if concept is not None and len(part) > best_len:
                    best, best_len = concept, len(part)
    if best is None:
        return None
    return Match(best, index, index + 1, word, False, in_head)
