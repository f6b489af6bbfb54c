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
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
    "image_model": "Model that renders this file's entries (e.g. gpt-image-1, dall-e-3).",
    "size": "Image size for rendering, e.g. 1024x1024, 1536x1024 or auto.",
    "quality": "Image quality for rendering: auto, low, medium, high (gpt-image-1); standard, hd (dall-e-3).",
    "images": "How many images one render makes (1-10).",
    "renders": "Folder for rendered images, relative to this file (default: renders).",
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
        return short + ("…" if len(words) > 6 else "") or "entry"

    @property
    def full_span(self) -> Span:
        """The entry with its heading, if the heading sits right above it."""
        if self.heading and self.heading.span.end <= self.span.start:
            return Span(self.heading.span.start, self.span.end)
        return self.span


# -- blocks -------------------------------------------------------------------


@dataclass
class BlockParse:
    """A block parsed on its own; spans are relative to the block start."""

    items: list[Heading | Comment | Entry]
    problems: list[Diagnostic]
    # Case-folded titles of headings that may name an entry (followed by one in
    # this block, or last in it): lets the duplicate-name check skip its exact
    # pass when no title repeats at all.
    name_keys: tuple[str, ...] = ()
    has_group: bool = False  # holds a level-1 heading


def _shift_span(span: Span, delta: int) -> Span:
    return Span(span.start + delta, span.end + delta)


def _shift_template(t: Template, delta: int) -> Template:
    return t.with_offset(t.offset + delta)


def _parse_block(text: str) -> BlockParse:
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
    keys = []
    for i, item in enumerate(items):
        if isinstance(item, Heading) and item.title:
            rest = [x for x in items[i + 1 :] if not isinstance(x, Comment)]
            if not rest or isinstance(rest[0], Entry):
                keys.append(item.title.casefold())
    has_group = any(isinstance(item, Heading) and item.level == 1 for item in items)
    return BlockParse(items, problems, tuple(keys), has_group)


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


_BLOCK_CACHE: OrderedDict[str, BlockParse] = OrderedDict()
_BLOCK_CACHE_SIZE = 100_000


def _parse_block_cached(text: str) -> BlockParse:
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
    import yaml  # only files with front matter need it; keeps server start-up light

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


def _split_blocks(text: str, start: int, end: int | None = None) -> Iterator[tuple[int, str]]:
    """Blocks (runs of non-blank lines) of ``text[start:end]`` with their offsets."""
    end = len(text) if end is None else end
    pos = start
    for match in _BLANK_RUN.finditer(text, start, end):
        if match.start() > pos and text[pos : match.start()].strip():
            yield pos, text[pos : match.start()]
        pos = match.end()
    if pos < end and text[pos:end].strip():
        yield pos, text[pos:end]


def _absolute(item: Entry, delta: int, heading: Heading | None, group: Heading | None) -> Entry:
    entry = Entry(
        _shift_span(item.span, delta),
        _shift_span(item.prompt_span, delta),
        item.prompt_source,
        _shift_template(item.template, delta),
        heading=heading,
        group=group,
    )
    if item.negative_span is not None and item.negative_template is not None:
        entry.negative_span = _shift_span(item.negative_span, delta)
        entry.negative_source = item.negative_source
        entry.negative_template = _shift_template(item.negative_template, delta)
    return entry


def _absolute_heading(item: Heading, delta: int) -> Heading:
    return Heading(_shift_span(item.span, delta), item.level, item.title, _shift_span(item.title_span, delta))


class Document:
    """A parsed ``.prompt`` file.

    The body is kept as blocks parsed on their own (spans relative to the
    block) plus each block's start offset. Absolute views — :attr:`entries`,
    :attr:`headings`, :meth:`entry_at` — are built on demand, and
    :meth:`apply_change` re-parses only the blocks an edit touches, so a
    keystroke in a 10,000-entry file costs one block, not the file.
    """

    def __init__(
        self,
        text: str,
        front_matter: FrontMatter | None,
        blocks: list[BlockParse],
        texts: list[str],
        starts: list[int],
        problems: list[Diagnostic],
    ) -> None:
        self.text = text
        self.front_matter = front_matter
        self.blocks = blocks
        self.block_texts = texts
        self.starts = starts
        self.front_problems = problems
        self._index: LineIndex | None = None
        self._all: tuple[list[Entry], list[Heading], list[Comment]] | None = None

    # -- basics -----------------------------------------------------------------------
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

    @property
    def problems(self) -> list[Diagnostic]:
        """Syntax-level problems: front matter and block structure."""
        out = list(self.front_problems)
        for block, start in zip(self.blocks, self.starts, strict=True):
            if block.problems:
                out.extend(p.shift(start) for p in block.problems)
        return out

    # -- absolute views -------------------------------------------------------------------
    def _materialize(self) -> tuple[list[Entry], list[Heading], list[Comment]]:
        if self._all is None:
            entries: list[Entry] = []
            headings: list[Heading] = []
            comments: list[Comment] = []
            pending: Heading | None = None
            group: Heading | None = None
            for block, start in zip(self.blocks, self.starts, strict=True):
                for item in block.items:
                    if isinstance(item, Heading):
                        heading = _absolute_heading(item, start)
                        headings.append(heading)
                        if heading.level == 1:
                            group = heading
                        pending = heading
                    elif isinstance(item, Comment):
                        comments.append(Comment(_shift_span(item.span, start), item.text))
                    else:
                        entries.append(_absolute(item, start, pending, group))
                        pending = None
            self._all = (entries, headings, comments)
        return self._all

    @property
    def entries(self) -> list[Entry]:
        return self._materialize()[0]

    @property
    def headings(self) -> list[Heading]:
        return self._materialize()[1]

    @property
    def comments(self) -> list[Comment]:
        return self._materialize()[2]

    def block_at(self, offset: int) -> int:
        """Index of the last block starting at or before ``offset`` (-1 if none)."""
        return bisect_right(self.starts, offset) - 1

    def _context_before(self, block: int, item: int) -> tuple[Heading | None, Heading | None]:
        """(naming heading, group heading) for item ``item`` of block ``block``.

        Walks back: the first heading met before any entry names the item; the
        first level-1 heading met is its group.
        """
        naming: Heading | None = None
        naming_open = True
        b, end = block, item
        while b >= 0:
            items = self.blocks[b].items
            for k in range(end - 1, -1, -1):
                candidate = items[k]
                if isinstance(candidate, Entry):
                    naming_open = False
                elif isinstance(candidate, Heading):
                    if naming_open:
                        naming, naming_open = _absolute_heading(candidate, self.starts[b]), False
                    if candidate.level == 1:
                        group = _absolute_heading(candidate, self.starts[b])
                        return naming, naming if naming is not None and naming.span == group.span else group
            b -= 1
            if not naming_open:  # only the group is left to find: skip blocks without one
                while b >= 0 and not self.blocks[b].has_group:
                    b -= 1
            end = len(self.blocks[b].items) if b >= 0 else 0
        return naming, None

    def entry_at(self, offset: int) -> Entry | None:
        """The entry whose span (with its heading) contains ``offset``; O(log n) for most files."""
        b = self.block_at(offset)
        for candidate_block in (b, b + 1):
            if not 0 <= candidate_block < len(self.blocks):
                continue
            start = self.starts[candidate_block]
            items = self.blocks[candidate_block].items
            for k, item in enumerate(items):
                if not isinstance(item, Entry):
                    continue
                pending, group = self._context_before(candidate_block, k)
                entry = _absolute(item, start, pending, group)
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

    # -- incremental update -----------------------------------------------------------------
    def apply_change(self, start: int, end: int, new_text: str) -> Document:
        """The document after replacing ``text[start:end]`` with ``new_text``.

        Re-parses only the blocks around the change; blocks after it move by
        the length difference. Changes that touch the front matter re-parse all.
        """
        updated = self._apply_change(start, end, new_text)
        if self._index is not None:
            updated._index = self._index.apply_change(start, end, new_text)
        return updated

    def _apply_change(self, start: int, end: int, new_text: str) -> Document:
        text = self.text[:start] + new_text + self.text[end:]
        fm_end = self.front_matter.span.end if self.front_matter else 0
        if (
            start <= fm_end + 1
            or not self.blocks
            or (_FM_OPEN.match(text) is not None) != (self.front_matter is not None)
        ):
            return parse_document(text)
        delta = len(new_text) - (end - start)
        # Blocks that touch [start - 1, end + 1], plus one neighbour each side (blank
        # lines appearing or vanishing can merge or split blocks).
        first = max(self.block_at(start - 1) - 1, 0)
        last = min(self.block_at(end + 1) + 1, len(self.blocks) - 1)
        region_start = self.starts[first] if first > 0 else fm_end
        region_end_old = (
            self.starts[last] + len(self.block_texts[last]) if last < len(self.blocks) - 1 else len(self.text)
        )
        region_end = region_end_old + delta
        new_blocks: list[BlockParse] = []
        new_texts: list[str] = []
        new_starts: list[int] = []
        for block_start, block_text in _split_blocks(text, region_start, region_end):
            new_blocks.append(_parse_block_cached(block_text))
            new_texts.append(block_text)
            new_starts.append(block_start)
        tail = last + 1
        fm = self.front_matter
        return Document(
            text,
            fm,
            self.blocks[:first] + new_blocks + self.blocks[tail:],
            self.block_texts[:first] + new_texts + self.block_texts[tail:],
            self.starts[:first] + new_starts + [s + delta for s in self.starts[tail:]],
            self.front_problems,
        )


def parse_document(text: str) -> Document:
    """Parse ``text`` into a :class:`Document`. Never raises."""
    front_matter = _parse_front_matter(text)
    problems: list[Diagnostic] = list(front_matter.problems) if front_matter else []
    if front_matter is not None and not front_matter.closed:
        return Document(text, front_matter, [], [], [], problems)
    body_start = front_matter.span.end if front_matter else 0
    blocks: list[BlockParse] = []
    texts: list[str] = []
    starts: list[int] = []
    for block_start, block_text in _split_blocks(text, body_start):
        blocks.append(_parse_block_cached(block_text))
        texts.append(block_text)
        starts.append(block_start)
    return Document(text, front_matter, blocks, texts, starts, problems)
