"""The ``.prompt`` document model: front matter, headings, comments and entries.

Parsing never raises. Every element keeps its exact span in the source, and
problems become :class:`~prompt_canvas.diagnostics.Diagnostic` objects.

Blocks (runs of lines between blank lines) are parsed independently and the
result is cached by the block's text, so re-parsing a large file after one
keystroke re-parses one block; everything else is a dictionary lookup.

Format summary (see ``docs/format.md``)::

    ---                      optional YAML front matter
    target: sdxl
    ---
    # Group                  heading: groups the entries below it
    ## beach sunset          heading: names the entry right under it
    a {calm|stormy} beach at sunset, __palette__
    negative: blurry, text   the entry's own negative prompt
    // a comment line
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from .diagnostics import Diagnostic, Related, Severity
from .template import Template, scan
from .text import LineIndex, Span

_BLANK_RUN = re.compile(r"\n(?:[ \t\r\f\v]*\n)+")
_HEADING = re.compile(r"(#{1,6})(?:[ \t]+(.*?))?[ \t]*\r?$")
_NEGATIVE = re.compile(r"[ \t]*(?:negative|neg)[ \t]*:[ \t]*", re.IGNORECASE)
_COMMENT = re.compile(r"[ \t]*//")
_FM_OPEN = re.compile(r"\ufeff?---[ \t]*\r?(?:\n|$)")
_FM_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_WS = re.compile(r"\s+")

FRONT_MATTER_KEYS: dict[str, str] = {
    "target": "Generator the prompts are written for: dalle, midjourney, sdxl, flux or generic.",
    "style": "A style applied to every entry when expanding (e.g. 'watercolor, soft light').",
    "negative": "Default negative prompt for every entry (Stable Diffusion; Midjourney gets --no).",
    "params": "Midjourney parameters appended to every prompt, e.g. '--ar 16:9 --v 7'.",
    "variations": "How many variations 'Generate variations' makes (1-100).",
    "seed": "Seed for expansion and random variations: the same seed gives the same results.",
    "model": "Model name for the LLM backend (e.g. gpt-4o-mini, llama3.1).",
    "backend": "Expander backend for this file: offline or openai.",
    "wildcards": "Wildcard folder(s), relative to this file, searched before the defaults.",
    "title": "A title for this prompt library.",
    "description": "What this prompt library is for.",
    "tags": "Free-form tags for this prompt library.",
}


@dataclass
class FrontMatterKey:
    name: str
    key_span: Span
    value_span: Span
    value: Any


@dataclass
class FrontMatter:
    span: Span  # from the opening '---' to the end of the closing line
    body_span: Span  # the YAML text between the fences
    closed: bool
    keys: dict[str, FrontMatterKey] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


@dataclass
class Heading:
    span: Span
    level: int
    title: str
    title_span: Span


@dataclass
class Comment:
    span: Span
    text: str


@dataclass
class Entry:
    """One prompt: lines of text, maybe a heading that names it, maybe a negative."""

    span: Span  # first to last content line of the entry (no trailing newline)
    prompt_span: Span  # the positive part
    prompt_source: str  # source text of the positive part (comment lines blanked)
    template: Template
    negative_span: Span | None = None
    negative_source: str | None = None
    negative_template: Template | None = None
    heading: Heading | None = None  # the heading that names it, if any
    group: Heading | None = None  # the nearest level-1 heading above it
    index: int = 0

    @property
    def name(self) -> str | None:
        return self.heading.title if self.heading else None

    @property
    def prompt(self) -> str:
        """The positive prompt as one line: whitespace runs collapsed."""
        return _WS.sub(" ", self.prompt_source).strip()

    @property
    def negative(self) -> str | None:
        return _WS.sub(" ", self.negative_source).strip() if self.negative_source is not None else None

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        words = self.prompt.split()
        short = " ".join(words[:6])
        return short + ("…" if len(words) > 6 else "") or f"entry {self.index + 1}"

    @property
    def full_span(self) -> Span:
        """The entry with its heading, if the heading sits right above it."""
        if self.heading and self.heading.span.end <= self.span.start:
            return Span(self.heading.span.start, self.span.end)
        return self.span


# -- blocks -------------------------------------------------------------------


@dataclass
class _BlockParse:
    """A block parsed on its own; spans are relative to the block start."""

    items: list[Heading | Comment | Entry]
    problems: list[Diagnostic]


def _shift_span(span: Span, delta: int) -> Span:
    return Span(span.start + delta, span.end + delta)


def _shift_template(t: Template, delta: int) -> Template:
    return t.with_offset(t.offset + delta)


def _parse_block(text: str) -> _BlockParse:
    items: list[Heading | Comment | Entry] = []
    problems: list[Diagnostic] = []
    # Current entry under construction: list of (start, end, kind) line spans.
    lines: list[tuple[int, int, str]] = []

    def flush() -> None:
        if not any(kind != "comment" for _, _, kind in lines):
            lines.clear()
            return
        content = [(s, e, k) for s, e, k in lines if k != "comment"]
        start, end = content[0][0], content[-1][1]
        neg_at = next((i for i, (_, _, k) in enumerate(lines) if k == "negative"), None)
        pos_lines = lines if neg_at is None else lines[:neg_at]
        pos_content = [(s, e) for s, e, k in pos_lines if k != "comment"]
        if pos_content:
            p_start, p_end = pos_content[0][0], pos_content[-1][1]
            prompt_source = _blank_comments(text, p_start, p_end, pos_lines)
        else:
            p_start = p_end = start
            prompt_source = ""
        template = scan(prompt_source, p_start)
        entry = Entry(Span(start, end), Span(p_start, p_end), prompt_source, template)
        if neg_at is not None:
            n_line_start, n_line_end, _ = lines[neg_at]
            m = _NEGATIVE.match(text, n_line_start)
            n_start = m.end() if m else n_line_start
            neg_lines = lines[neg_at:]
            neg_content = [(s, e) for s, e, k in neg_lines if k != "comment"]
            n_end = neg_content[-1][1]
            negative_source = _blank_comments(text, n_start, n_end, neg_lines)
            entry.negative_span = Span(n_start, n_end)
            entry.negative_source = negative_source
            entry.negative_template = scan(negative_source, n_start)
            if not pos_content:
                problems.append(
                    Diagnostic(
                        Span(n_line_start, n_line_end),
                        "negative prompt with no prompt above it: put it right under its entry",
                        Severity.WARNING,
                        "orphan-negative",
                    )
                )
        items.append(entry)
        lines.clear()

    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        line_end = n if nl == -1 else nl
        content_end = line_end - 1 if line_end > pos and text[line_end - 1] == "\r" else line_end
        line = text[pos:content_end]
        heading = _HEADING.match(line) if line.startswith("#") else None
        if heading:
            flush()
            level = len(heading.group(1))
            title = (heading.group(2) or "").strip()
            t_start = pos + (heading.start(2) if heading.group(2) is not None else len(line))
            items.append(Heading(Span(pos, content_end), level, title, Span(t_start, t_start + len(title))))
            if not title:
                problems.append(
                    Diagnostic(
                        Span(pos, content_end),
                        "empty heading: write a name after the '#'",
                        Severity.WARNING,
                        "empty-heading",
                    )
                )
        elif _COMMENT.match(line):
            if lines:
                lines.append((pos, content_end, "comment"))
            else:
                items.append(Comment(Span(pos, content_end), line.strip()[2:].strip()))
        elif line.strip():
            if _NEGATIVE.match(line) and not any(k == "negative" for _, _, k in lines):
                lines.append((pos, content_end, "negative"))
            else:
                lines.append((pos, content_end, "text"))
        if nl == -1:
            break
        pos = nl + 1
    flush()
    return _BlockParse(items, problems)


def _blank_comments(text: str, start: int, end: int, lines: list[tuple[int, int, str]]) -> str:
    """Source between start and end with comment lines replaced by spaces (offsets kept)."""
    source = text[start:end]
    comments = [(s, e) for s, e, k in lines if k == "comment" and start <= s < end]
    if not comments:
        return source
    chars = list(source)
    for s, e in comments:
        for i in range(s - start, e - start):
            chars[i] = " "
    return "".join(chars)


_BLOCK_CACHE: OrderedDict[str, _BlockParse] = OrderedDict()
_BLOCK_CACHE_SIZE = 100_000


def _parse_block_cached(text: str) -> _BlockParse:
    hit = _BLOCK_CACHE.get(text)
    if hit is None:
        hit = _parse_block(text)
        _BLOCK_CACHE[text] = hit
        if len(_BLOCK_CACHE) > _BLOCK_CACHE_SIZE:
            _BLOCK_CACHE.popitem(last=False)
    return hit


# -- front matter ---------------------------------------------------------------


def _parse_front_matter(text: str) -> FrontMatter | None:
    opening = _FM_OPEN.match(text)
    if not opening:
        return None
    body_start = opening.end()
    close = _FM_CLOSE.search(text, body_start) if opening.group().endswith("\n") else None
    if close is None:
        fm = FrontMatter(Span(0, len(text)), Span(body_start, len(text)), closed=False)
        fm.problems.append(
            Diagnostic(
                Span(0, opening.end() - 1 if opening.group().endswith("\n") else opening.end()),
                "front matter is never closed: add a line with '---' after the settings",
                Severity.ERROR,
                "front-matter-unclosed",
            )
        )
        body_end = len(text)
    else:
        body_end = close.start()
        fm = FrontMatter(
            Span(0, close.end()),
            Span(body_start, body_end),
            closed=True,
        )
    if fm.closed:  # an unclosed block also holds the entries: reading it as YAML would mislead
        _read_yaml(text, fm)
    return fm


def _read_yaml(text: str, fm: FrontMatter) -> None:
    body = text[fm.body_span.start : fm.body_span.end]
    base = fm.body_span.start
    if not body.strip():
        return
    try:
        node = yaml.compose(body, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = base + (mark.index if mark is not None else 0)
        at = min(at, fm.body_span.end)
        line_end = text.find("\n", at)
        end = fm.body_span.end if line_end == -1 else min(line_end, fm.body_span.end)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"front matter is not valid YAML: {problem}" + (f" ({context})" if context else "")
        fm.problems.append(Diagnostic(Span(at, max(at, end)), message, Severity.ERROR, "front-matter-yaml"))
        return
    if node is None:
        return
    if not isinstance(node, yaml.MappingNode):
        fm.problems.append(
            Diagnostic(
                Span(base + node.start_mark.index, base + node.end_mark.index),
                "front matter must be 'key: value' lines",
                Severity.ERROR,
                "front-matter-shape",
            )
        )
        return
    loader = yaml.SafeLoader("")
    for key_node, value_node in node.value:
        key_span = Span(base + key_node.start_mark.index, base + key_node.end_mark.index)
        value_span = Span(base + value_node.start_mark.index, base + value_node.end_mark.index)
        try:
            key = loader.construct_object(key_node, deep=True)
            value = loader.construct_object(value_node, deep=True)
        except yaml.YAMLError as exc:
            fm.problems.append(
                Diagnostic(value_span, f"cannot read this value: {exc}", Severity.ERROR, "front-matter-yaml")
            )
            continue
        key = str(key)
        if key in fm.keys:
            fm.problems.append(
                Diagnostic(
                    key_span,
                    f"'{key}' is set twice: the last one wins",
                    Severity.WARNING,
                    "front-matter-duplicate-key",
                    (Related(fm.keys[key].key_span, "first set here"),),
                )
            )
        fm.keys[key] = FrontMatterKey(key, key_span, value_span, value)
        fm.values[key] = value
    loader.dispose()


# -- the document ---------------------------------------------------------------------


@dataclass
class Document:
    text: str
    front_matter: FrontMatter | None
    entries: list[Entry]
    headings: list[Heading]
    comments: list[Comment]
    problems: list[Diagnostic]  # syntax-level problems (front matter, structure)
    _index: LineIndex | None = field(default=None, repr=False)

    @property
    def index(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self.text)
        return self._index

    @property
    def body_start(self) -> int:
        return self.front_matter.span.end if self.front_matter else 0

    def setting(self, key: str, default: Any = None) -> Any:
        return self.front_matter.get(key, default) if self.front_matter else default

    def entry_at(self, offset: int) -> Entry | None:
        """The entry whose span (with its heading) contains ``offset``."""
        lo, hi = 0, len(self.entries)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.entries[mid].span.end < offset:
                lo = mid + 1
            else:
                hi = mid
        for entry in self.entries[max(lo - 1, 0) : lo + 1]:
            if entry.full_span.contains(offset):
                return entry
        return None

    def entries_in(self, span: Span) -> list[Entry]:
        return [e for e in self.entries if e.span.overlaps(span) or span.contains(e.span.start)]

    def iter_templates(self) -> Iterator[tuple[Entry, Template]]:
        for entry in self.entries:
            yield entry, entry.template
            if entry.negative_template is not None:
                yield entry, entry.negative_template


def _split_blocks(text: str, start: int) -> Iterator[tuple[int, str]]:
    pos = start
    for match in _BLANK_RUN.finditer(text, start):
        if match.start() > pos:
            yield pos, text[pos : match.start()]
        pos = match.end()
    if pos < len(text):
        yield pos, text[pos:]


def parse_document(text: str) -> Document:
    """Parse ``text`` into a :class:`Document`. Never raises."""
    front_matter = _parse_front_matter(text)
    body_start = front_matter.span.end if front_matter else 0
    entries: list[Entry] = []
    headings: list[Heading] = []
    comments: list[Comment] = []
    problems: list[Diagnostic] = list(front_matter.problems) if front_matter else []
    if front_matter is not None and not front_matter.closed:
        return Document(text, front_matter, entries, headings, comments, problems)

    pending: Heading | None = None  # a heading still waiting for its entry
    group: Heading | None = None
    for block_start, block_text in _split_blocks(text, body_start):
        if not block_text.strip():
            continue
        parsed = _parse_block_cached(block_text)
        for problem in parsed.problems:
            problems.append(problem.shift(block_start))
        for item in parsed.items:
            if isinstance(item, Heading):
                heading = Heading(
                    _shift_span(item.span, block_start),
                    item.level,
                    item.title,
                    _shift_span(item.title_span, block_start),
                )
                headings.append(heading)
                if heading.level == 1:
                    group = heading
                pending = heading
            elif isinstance(item, Comment):
                comments.append(Comment(_shift_span(item.span, block_start), item.text))
            else:
                entry = Entry(
                    _shift_span(item.span, block_start),
                    _shift_span(item.prompt_span, block_start),
                    item.prompt_source,
                    _shift_template(item.template, block_start),
                    heading=pending,
                    group=group,
                    index=len(entries),
                )
                if item.negative_span is not None and item.negative_template is not None:
                    entry.negative_span = _shift_span(item.negative_span, block_start)
                    entry.negative_source = item.negative_source
                    entry.negative_template = _shift_template(item.negative_template, block_start)
                entries.append(entry)
                pending = None
    return Document(text, front_matter, entries, headings, comments, problems)
