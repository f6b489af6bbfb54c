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


class LineIndex:
    """Maps between code-point offsets and (line, UTF-16 column) positions.

    Lines end after ``\\n``; a ``\\r`` before it belongs to the line break.
    Built once per text version in O(n); lookups are O(log lines).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self.line_starts = starts
        self._ascii = text.isascii()

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

    def position(self, offset: int) -> Position:
        """Offset (clamped into the text) to an LSP position."""
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        start = self.line_starts[line]
        if self._ascii:
            return Position(line, offset - start)
        return Position(line, utf16_len(self.text[start:offset]))

    def offset(self, position: Position) -> int:
        """LSP position to an offset; columns past the line end clamp to it."""
        if position.line < 0:
            return 0
        if position.line >= len(self.line_starts):
            return len(self.text)
        span = self.line_span(position.line)
        if self._ascii:
            return min(span.start + max(position.character, 0), span.end)
        units = 0
        for i in range(span.start, span.end):
            if units >= position.character:
                return i
            units += 2 if ord(self.text[i]) > 0xFFFF else 1
        return span.end

    def range(self, span: Span) -> tuple[Position, Position]:
        return self.position(span.start), self.position(span.end)
