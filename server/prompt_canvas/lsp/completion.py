"""Completion: wildcard names after ``__``, front-matter keys and values, targets."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from ..document import FRONT_MATTER_KEYS
from ..targets import TARGETS
from ..text import Span
from .convert import to_offset, to_range

if TYPE_CHECKING:
    from .server import PromptCanvasServer
    from .store import OpenDocument

_OPEN_WILDCARD = re.compile(r"__([~!@]?)([\w/*.\-]*)$")
_KEY_LINE = re.compile(r"^([A-Za-z_]*)$")
_VALUE_LINE = re.compile(r"^([A-Za-z_]+)\s*:\s*(\S*)$")


def complete(
    ls: PromptCanvasServer, doc: OpenDocument, position: types.Position
) -> list[types.CompletionItem]:
    document = doc.document
    offset = to_offset(document.index, position, ls.encoding)
    line = document.index.line_of(offset)
    line_start = document.index.line_starts[line]
    before = doc.text[line_start:offset]
    fm = document.front_matter
    if fm is not None and fm.body_span.start <= offset <= fm.body_span.end:
        return _front_matter_items(ls, doc, before, offset)
    match = _OPEN_WILDCARD.search(before)
    if match and before[: match.start()].count("__") % 2 == 0:
        return _wildcard_items(ls, doc, match.group(2), offset)
    return []


def _front_matter_items(
    ls: PromptCanvasServer, doc: OpenDocument, before: str, offset: int
) -> list[types.CompletionItem]:
    index = doc.document.index
    key_match = _KEY_LINE.match(before)
    if key_match:
        span = Span(offset - len(key_match.group(1)), offset)
        present = set(doc.document.front_matter.keys) if doc.document.front_matter else set()
        return [
            types.CompletionItem(
                label=key,
                kind=types.CompletionItemKind.Property,
                documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=doc_text),
                text_edit=types.TextEdit(range=to_range(index, span, ls.encoding), new_text=f"{key}: "),
                sort_text=("1" if key in present else "0") + key,
            )
            for key, doc_text in FRONT_MATTER_KEYS.items()
        ]
    value_match = _VALUE_LINE.match(before)
    if not value_match:
        return []
    key, typed = value_match.groups()
    span = Span(offset - len(typed), offset)
    rng = to_range(index, span, ls.encoding)
    if key == "target":
        return [
            types.CompletionItem(
                label=t.name,
                kind=types.CompletionItemKind.EnumMember,
                detail=t.label,
                documentation=t.description,
                text_edit=types.TextEdit(range=rng, new_text=t.name),
            )
            for t in TARGETS.values()
        ]
    if key == "backend":
        return [
            types.CompletionItem(
                label=b,
                kind=types.CompletionItemKind.EnumMember,
                text_edit=types.TextEdit(range=rng, new_text=b),
            )
            for b in ("offline", "openai")
        ]
    if key == "wildcards":
        return []
    return []


def _wildcard_items(
    ls: PromptCanvasServer, doc: OpenDocument, typed: str, offset: int
) -> list[types.CompletionItem]:
    library = ls.store.wildcards_for(doc, ls.settings)
    text = doc.text
    closed = text.startswith("__", offset)
    span = Span(offset - len(typed), offset)
    rng = to_range(doc.document.index, span, ls.encoding)
    items = []
    for name in library.names():
        wildcard = library.files[name]
        values = library.values(name)
        preview = "\n".join(f"- {v}" for v in values[:8]) + ("\n- …" if len(values) > 8 else "")
        items.append(
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.File,
                detail=f"{len(values)} values · {wildcard.path.name}",
                documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=preview),
                text_edit=types.TextEdit(range=rng, new_text=name if closed else f"{name}__"),
            )
        )
    return items


def register(server: PromptCanvasServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["_", ":", " ", "/"]),
    )
    def completion(ls: PromptCanvasServer, params: types.CompletionParams) -> types.CompletionList | None:
        doc = ls.store.find(params.text_document.uri)
        if doc is None:
            return None
        return types.CompletionList(is_incomplete=False, items=complete(ls, doc, params.position))
