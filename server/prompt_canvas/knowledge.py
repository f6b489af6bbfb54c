"""The offline expander's knowledge base: concepts with details per facet.

The knowledge base is plain YAML, one list of concepts per file, shipped in
``prompt_canvas/knowledge/`` and extendable from a workspace folder in the same
format. A concept looks like::

    - name: fox
      kind: creature
      aliases: [foxes, red fox, vixen]
      subject: [russet fur dusted with frost, bushy white-tipped tail]
      setting: [snow-covered clearing between birch trunks]
      lighting: [low winter sun raking across the drifts]
      palette: [rust orange against ice blue and white]
      composition: [eye-level telephoto shot, shallow depth of field]
      medium: [crisp wildlife photograph]
      mood: [alert, quiet watchfulness]

A later definition of the same name (for example a workspace file) replaces
the facets it names and adds its aliases; ``extend: true`` appends details
instead of replacing them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

FACETS: tuple[str, ...] = (
    "subject",
    "setting",
    "lighting",
    "palette",
    "composition",
    "medium",
    "mood",
)

KINDS: tuple[str, ...] = (
    "creature",
    "person",
    "activity",
    "object",
    "food",
    "vehicle",
    "plant",
    "place",
    "building",
    "landscape",
    "time",
    "season",
    "weather",
    "mood",
    "medium",
    "style",
    "modifier",
)

MIN_DETAILS = 5
# Details are joined with commas and may land inside templates: keep them plain.
FORBIDDEN_IN_DETAIL = re.compile(r"__|[,{}|()\[\]:$#]")


@dataclass
class Concept:
    """One entry of the knowledge base."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    details: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""
    proper: bool = False  # a named place (Paris, Marrakech): no article, no stand-in names
    # Other names for the very same thing, usable in its place in a prompt
    # ("bengal tiger" for tiger, "rainforest" for jungle). Unlike aliases they
    # are not matched in phrases; they add concrete words to expansions.
    names: tuple[str, ...] = ()

    def facet(self, name: str) -> tuple[str, ...]:
        return self.details.get(name, ())

    @property
    def detail_count(self) -> int:
        return sum(len(v) for v in self.details.values())

    @property
    def terms(self) -> tuple[str, ...]:
        """Every surface form that names this concept, lower-case."""
        return (self.name.lower(), *(a.lower() for a in self.aliases))


class KnowledgeError(ValueError):
    """A knowledge-base file that cannot be used, with where and why."""


def _as_str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.strip(),)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnowledgeError(f"{where}: expected a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def concepts_from_data(data: Any, source: str) -> list[tuple[Concept, bool]]:
    """Turn parsed YAML into concepts; returns (concept, extend) pairs."""
    if data is None:
        return []
    if isinstance(data, Mapping) and "concepts" in data:
        data = data["concepts"]
    if not isinstance(data, list):
        raise KnowledgeError(f"{source}: expected a list of concepts")
    out: list[tuple[Concept, bool]] = []
    for index, item in enumerate(data):
        where = f"{source}: concept #{index + 1}"
        if not isinstance(item, Mapping):
            raise KnowledgeError(f"{where}: expected a mapping")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise KnowledgeError(f"{where}: missing 'name'")
        where = f"{source}: concept {name!r}"
        extend = bool(item.get("extend", False))
        kind = item.get("kind", "object" if not extend else "")
        if kind and kind not in KINDS:
            raise KnowledgeError(f"{where}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        unknown = set(item) - {"name", "kind", "aliases", "names", "extend", "proper", *FACETS}
        if unknown:
            raise KnowledgeError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        details = {f: _as_str_list(item.get(f), f"{where}.{f}") for f in FACETS if item.get(f)}
        concept = Concept(
            name=name.strip().lower(),
            kind=str(kind),
            aliases=_as_str_list(item.get("aliases"), f"{where}.aliases"),
            details=details,
            source=source,
            proper=bool(item.get("proper", False)),
            names=_as_str_list(item.get("names"), f"{where}.names"),
        )
        out.append((concept, extend))
    return out


def load_file(path: Path) -> list[tuple[Concept, bool]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: invalid YAML: {exc}") from exc
    return concepts_from_data(data, str(path))


class KnowledgeBase:
    """Concepts by name, with an index of every alias."""

    def __init__(self, concepts: Iterable[Concept] = ()) -> None:
        self.concepts: dict[str, Concept] = {}
        self.by_term: dict[str, Concept] = {}
        for concept in concepts:
            self.add(concept)

    def add(self, concept: Concept, extend: bool = False) -> None:
        existing = self.concepts.get(concept.name)
        if existing is not None:
            details = dict(existing.details)
            for facet, values in concept.details.items():
                details[facet] = (*details.get(facet, ()), *values) if extend else values
            concept = Concept(
                name=existing.name,
                kind=concept.kind or existing.kind,
                aliases=tuple(dict.fromkeys((*existing.aliases, *concept.aliases))),
                details=details,
                source=concept.source,
                proper=concept.proper or existing.proper,
                names=tuple(dict.fromkeys((*existing.names, *concept.names))),
            )
        elif not concept.kind:
            concept = Concept(
                concept.name,
                "object",
                concept.aliases,
                concept.details,
                concept.source,
                concept.proper,
                concept.names,
            )
        self.concepts[concept.name] = concept
        for term in concept.terms:
            self.by_term[term] = concept

    def extend_from(self, folder: Path) -> list[str]:
        """Merge every ``*.yaml`` under ``folder``; returns the problems met."""
        problems: list[str] = []
        for path in sorted(folder.glob("**/*.y*ml")):
            try:
                for concept, extend in load_file(path):
                    self.add(concept, extend)
            except KnowledgeError as exc:
                problems.append(str(exc))
        return problems

    def __len__(self) -> int:
        return len(self.concepts)

    def get(self, term: str) -> Concept | None:
        return self.by_term.get(term.lower())


_BUILTIN: KnowledgeBase | None = None


def builtin() -> KnowledgeBase:
    """The knowledge base shipped in the package (loaded once)."""
    global _BUILTIN
    if _BUILTIN is None:
        kb = KnowledgeBase()
        root = resources.files("prompt_canvas") / "knowledge"
        for entry in sorted(root.iterdir(), key=lambda e: e.name):
            if entry.name.endswith((".yaml", ".yml")):
                data = yaml.safe_load(entry.read_text(encoding="utf-8"))
                for concept, extend in concepts_from_data(data, f"builtin:{entry.name}"):
                    kb.add(concept, extend)
        _BUILTIN = kb
    return _BUILTIN


def validate(paths: Iterable[Path]) -> list[str]:
    """Problems in knowledge files: schema, too few details, duplicate terms."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            items = load_file(path)
        except KnowledgeError as exc:
            problems.append(str(exc))
            continue
        for concept, extend in items:
            if extend:
                continue
            if concept.detail_count < MIN_DETAILS:
                problems.append(
                    f"{path}: {concept.name!r} has {concept.detail_count} details (at least {MIN_DETAILS})"
                )
            for facet, values in (*concept.details.items(), ("names", concept.names)):
                for value in values:
                    bad = FORBIDDEN_IN_DETAIL.search(value)
                    if bad:
                        problems.append(
                            f"{path}: {concept.name!r}.{facet}: {value!r} contains {bad.group()!r}"
                        )
            if len(concept.details) < 3:
                problems.append(f"{path}: {concept.name!r} uses fewer than 3 facets")
            for term in dict.fromkeys(concept.terms):
                if term in seen and seen[term] != concept.name:
                    problems.append(f"{path}: term {term!r} of {concept.name!r} also names {seen[term]!r}")
                elif term in seen:
                    problems.append(f"{path}: {concept.name!r} is defined twice")
                seen[term] = concept.name
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate knowledge-base YAML files.")
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.paths or sorted(Path(str(resources.files("prompt_canvas") / "knowledge")).glob("*.yaml"))
    problems = validate(paths)
    for problem in problems:
        print(problem)
    total = sum(len(load_file(p)) for p in paths if p.exists())
    print(f"{len(paths)} files, {total} concepts, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
