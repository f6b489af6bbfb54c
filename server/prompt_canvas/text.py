"""Source text with positions: offsets, lines and UTF-16 columns.

The core works on Python string offsets (code points). Editors count columns
in UTF-16 code units (the LSP default), so every range the core hands out can
be converted with :class:`LineIndex` — emoji and other astral characters take
two units, CJK takes one.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Position:
    """Zero-based line and UTF-16 column, as in LSP."""

    line: int
    character: int


@dataclass(frozen=True)
class Span:
    """A half-open range of code-point offsets into the source text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"span end {self.end} before start {self.start}")

    def __len__(self) -> int:
        return self.end - self.start

    def contains(self, offset: int) -> bool:
        return self.start <= offset <= self.end

    def shift(self, delta: int) -> Span:
        return Span(self.start + delta, self.end + delta)

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _units(ch: str, encoding: str) -> int:
    code = ord(ch)
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    if encoding == "utf-8":
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 1  # utf-32: code points


class LineIndex:
    """Maps between code-point offsets and (line, column) positions.

    Columns count UTF-16 code units by default (the LSP default); ``utf-8``
    and ``utf-32`` are supported for clients that negotiate them. Lines end
    after ``\\n``; a ``\\r`` before it belongs to the line break. Built once per
    text version in O(n), or derived from the previous version with
    :meth:`apply_change`; lookups are O(log lines).
    """

    def __init__(self, text: str, line_starts: list[int] | None = None) -> None:
        self.text = text
        if line_starts is None:
            line_starts = [0]
            find = text.find
            pos = find("\n")
            while pos != -1:
                line_starts.append(pos + 1)
                pos = find("\n", pos + 1)
        self.line_starts = line_starts
        self._ascii = text.isascii()

    def apply_change(self, start: int, end: int, new_text: str) -> LineIndex:
        """The index of the text with ``text[start:end]`` replaced by ``new_text``."""
        text = self.text[:start] + new_text + self.text[end:]
        delta = len(new_text) - (end - start)
        first = bisect_right(self.line_starts, start)  # line starts after `start` may change
        last = bisect_right(self.line_starts, end)
        inserted = [start + i + 1 for i, ch in enumerate(new_text) if ch == "\n"]
        starts = self.line_starts[:first] + inserted + [s + delta for s in self.line_starts[last:]]
        return LineIndex(text, starts)

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_of(self, offset: int) -> int:
        return bisect_right(self.line_starts, offset) - 1

    def line_span(self, line: int, with_break: bool = False) -> Span:
        start = self.line_starts[line]
        if line + 1 < len(self.line_starts):
            end = self.line_starts[line + 1]
            if not with_break:
                end -= 1
                if end > start and self.text[end - 1] == "\r":
                    end -= 1
        else:
            end = len(self.text)
        return Span(start, end)

    def line_text(self, line: int) -> str:
        span = self.line_span(line)
        return self.text[span.start : span.end]

    def position(self, offset: int, encoding: str = "utf-16") -> Position:
        """Offset (clamped into the text) to a position."""
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        start = self.line_starts[line]
        if self._ascii or encoding == "utf-32":
            return Position(line, offset - start)
        return Position(line, sum(_units(ch, encoding) for ch in self.text[start:offset]))

    def offset(self, position: Position, encoding: str = "utf-16") -> int:
        """Position to an offset; columns past the line end clamp to it, lines past the end to the end."""
        if position.line < 0:
            return 0
        if position.line >= len(self.line_starts):
            return len(self.text)
        span = self.line_span(position.line)
        if self._ascii or encoding == "utf-32":
            return min(span.start + max(position.character, 0), span.end)
        units = 0
        for i in range(span.start, span.end):
            if units >= position.character:
                return i
            units += _units(self.text[i], encoding)
        return span.end

    def range(self, span: Span, encoding: str = "utf-16") -> tuple[Position, Position]:
        return self.position(span.start, encoding), self.position(span.end, encoding)
