"""Core spans and diagnostics <-> LSP types."""

from __future__ import annotations

from lsprotocol import types

from ..diagnostics import Diagnostic
from ..text import LineIndex, Position, Span

SOURCE = "prompt-canvas"


def to_range(index: LineIndex, span: Span, encoding: str = "utf-16") -> types.Range:
    start, end = index.range(span, encoding)
    return types.Range(types.Position(start.line, start.character), types.Position(end.line, end.character))


def to_span(index: LineIndex, rng: types.Range, encoding: str = "utf-16") -> Span:
    start = index.offset(Position(rng.start.line, rng.start.character), encoding)
    end = index.offset(Position(rng.end.line, rng.end.character), encoding)
    return Span(min(start, end), max(start, end))


def to_offset(index: LineIndex, position: types.Position, encoding: str = "utf-16") -> int:
    return index.offset(Position(position.line, position.character), encoding)


def to_lsp_diagnostic(
    index: LineIndex, diagnostic: Diagnostic, uri: str, encoding: str = "utf-16"
) -> types.Diagnostic:
    related = [
        types.DiagnosticRelatedInformation(types.Location(uri, to_range(index, r.span, encoding)), r.message)
        for r in diagnostic.related
    ]
    tags = [types.DiagnosticTag.Unnecessary] if diagnostic.code == "template-comment" else None
    return types.Diagnostic(
        range=to_range(index, diagnostic.span, encoding),
        message=diagnostic.message,
        severity=types.DiagnosticSeverity(int(diagnostic.severity)),
        code=diagnostic.code,
        source=SOURCE,
        related_information=related or None,
        tags=tags,
        data=dict(diagnostic.data) if diagnostic.data else None,
    )
