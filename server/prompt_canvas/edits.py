"""Edits to a document as minimal text replacements.

The model is never re-serialised: every change is a :class:`TextEdit` over the
exact span it touches, so lines the user did not ask to change stay byte for
byte as they were (their spacing, comments and line endings included).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from .checks import move_params_to_end
from .document import Document, Entry
from .text import Span


@dataclass(frozen=True)
class TextEdit:
    span: Span
    new_text: str


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """Apply non-overlapping edits (any order) to ``text``."""
    ordered = sorted(edits, key=lambda e: (e.span.start, e.span.end))
    for a, b in pairwise(ordered):
        if b.span.start < a.span.end:
            raise ValueError(f"overlapping edits at {a.span} and {b.span}")
    out: list[str] = []
    pos = 0
    for edit in ordered:
        out.append(text[pos : edit.span.start])
        out.append(edit.new_text)
        pos = edit.span.end
    out.append(text[pos:])
    return "".join(out)


def newline_of(text: str) -> str:
    """The document's line break style (CRLF if its first break is CRLF)."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _single_line(text: str) -> str:
    return " ".join(text.split())


def replace_prompt(entry: Entry, new_prompt: str) -> TextEdit:
    """Replace an entry's positive prompt (its negative and heading stay)."""
    return TextEdit(entry.prompt_span, _single_line(new_prompt))


def replace_span(span: Span, new_text: str) -> TextEdit:
    return TextEdit(span, _single_line(new_text))


_SLUG = re.compile(r"[^\w]+", re.UNICODE)
_VARIANT_SUFFIX = re.compile(r"\s*·\s*v(\d+)\s*$")


def slug(text: str, max_words: int = 5) -> str:
    words = [w for w in _SLUG.split(text.lower()) if w][:max_words]
    return "-".join(words) or "entry"


def base_name(entry: Entry) -> str:
    """The name variations are filed under: the heading without its '· vN', or a slug of the text."""
    if entry.name:
        return _VARIANT_SUFFIX.sub("", entry.name).strip() or slug(entry.prompt)
    return slug(entry.prompt)


def insert_variations(
    document: Document, entry: Entry, prompts: list[str], negative: str | None = None
) -> TextEdit:
    """New entries after ``entry``, each its own block headed ``## <name> · vN``.

    Numbering continues after the highest ``· vN`` already in the file for that
    name, so generating twice never repeats a name.
    """
    nl = newline_of(document.text)
    base = base_name(entry)
    taken = 0
    for heading in document.headings:
        match = _VARIANT_SUFFIX.search(heading.title)
        if match and _VARIANT_SUFFIX.sub("", heading.title).strip() == base:
            taken = max(taken, int(match.group(1)))
    level = "#" * (entry.heading.level if entry.heading and entry.heading.level > 1 else 2)
    blocks = []
    for i, prompt in enumerate(prompts, start=taken + 1):
        block = f"{level} {base} · v{i}{nl}{_single_line(prompt)}"
        if negative:
            block += f"{nl}negative: {_single_line(negative)}"
        blocks.append(block)
    at = entry.span.end
    return TextEdit(Span(at, at), nl + nl + (nl + nl).join(blocks))


def move_params(entry: Entry) -> TextEdit:
    """Quick fix: Midjourney --params after the text."""
    return TextEdit(entry.prompt_span, move_params_to_end(entry.prompt))


def set_front_matter(document: Document, key: str, value: object) -> TextEdit:
    """Set one front-matter key, touching only its value (or adding one line)."""
    nl = newline_of(document.text)
    rendered = _yaml_scalar(value)
    fm = document.front_matter
    if fm is None:
        return TextEdit(Span(0, 0), f"---{nl}{key}: {rendered}{nl}---{nl}")
    existing = fm.keys.get(key)
    if existing is not None:
        return TextEdit(existing.value_span, rendered)
    body = fm.body_span
    text = document.text
    insert_at = body.end
    prefix = "" if insert_at == body.start or text[insert_at - 1] == "\n" else nl
    return TextEdit(Span(insert_at, insert_at), f"{prefix}{key}: {rendered}{nl}")


def _yaml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9][\w .,/-]*", text) and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)
