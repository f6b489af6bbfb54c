"""Go to definition (wildcards), document symbols (outline) and folding ranges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import from_fs_path

from ..document import Heading
from ..template import Wildcard
from ..text import Span
from .convert import to_offset, to_range

if TYPE_CHECKING:
    from .server import PromptCanvasServer
    from .store import OpenDocument


def definition(ls: PromptCanvasServer, doc: OpenDocument, position: types.Position) -> list[types.Location]:
    document = doc.document
    offset = to_offset(document.index, position, ls.encoding)
    entry = document.entry_at(offset)
    if entry is None:
        return []
    for template in (entry.template, entry.negative_template):
        if template is None:
            continue
        local = offset - template.offset
        for node in template.walk():
            if isinstance(node, Wildcard) and node.span.start <= local <= node.span.end:
                library = ls.store.wildcards_for(doc, ls.settings)
                out = []
                for name in library.match(node.name):
                    path = library.files[name].path
                    uri = from_fs_path(str(path))
                    if uri:
                        start = types.Position(library.files[name].line, 0)
                        out.append(types.Location(uri, types.Range(start, start)))
                return out
    return []


def symbols(ls: PromptCanvasServer, doc: OpenDocument) -> list[types.DocumentSymbol]:
    document = doc.document
    index = document.index
    enc = ls.encoding
    out: list[types.DocumentSymbol] = []
    if document.front_matter is not None:
        fm = document.front_matter
        out.append(
            types.DocumentSymbol(
                name="front matter",
                kind=types.SymbolKind.Namespace,
                range=to_range(index, fm.span, enc),
                selection_range=to_range(index, Span(0, min(3, fm.span.end)), enc),
                children=[
                    types.DocumentSymbol(
                        name=key.name,
                        detail=str(key.value)[:60],
                        kind=types.SymbolKind.Property,
                        range=to_range(index, Span(key.key_span.start, key.value_span.end), enc),
                        selection_range=to_range(index, key.key_span, enc),
                    )
                    for key in fm.keys.values()
                ],
            )
        )
    groups: dict[int, tuple[types.DocumentSymbol, list[types.DocumentSymbol]]] = {}
    group_order: list[Heading] = [h for h in document.headings if h.level == 1]
    ends = [h.span.start for h in group_order[1:]] + [len(document.text)]
    for heading, end in zip(group_order, ends, strict=True):
        symbol = types.DocumentSymbol(
            name=heading.title or "(untitled)",
            kind=types.SymbolKind.Module,
            range=to_range(
                index, Span(heading.span.start, max(heading.span.end, _trim_end(document.text, end))), enc
            ),
            selection_range=to_range(index, heading.title_span if heading.title else heading.span, enc),
        )
        groups[heading.span.start] = (symbol, [])
        out.append(symbol)
    for entry in document.entries:
        selection = entry.heading.title_span if entry.heading and entry.heading.title else entry.span
        symbol = types.DocumentSymbol(
            name=entry.display_name,
            detail=entry.prompt[:60] if entry.name else None,
            kind=types.SymbolKind.String,
            range=to_range(index, entry.full_span, enc),
            selection_range=to_range(
                index, Span(selection.start, min(selection.end, selection.start + 200)), enc
            ),
        )
        parent = groups.get(entry.group.span.start) if entry.group else None
        if parent is not None and entry.group is not entry.heading:
            parent[1].append(symbol)
        else:
            out.append(symbol)
    for symbol, children in groups.values():
        symbol.children = children
    return out


def _trim_end(text: str, end: int) -> int:
    while end > 0 and text[end - 1] in "\r\n \t":
        end -= 1
    return end


def folding(ls: PromptCanvasServer, doc: OpenDocument) -> list[types.FoldingRange]:
    document = doc.document
    index = document.index
    out: list[types.FoldingRange] = []

    def add(span: Span, kind: str | None = None) -> None:
        start, end = index.line_of(span.start), index.line_of(span.end)
        if end > start:
            out.append(types.FoldingRange(start_line=start, end_line=end, kind=kind))

    if document.front_matter is not None:
        add(document.front_matter.span, types.FoldingRangeKind.Imports)
    groups = [h for h in document.headings if h.level == 1]
    ends = [h.span.start for h in groups[1:]] + [len(document.text)]
    for heading, end in zip(groups, ends, strict=True):
        add(Span(heading.span.start, _trim_end(document.text, end)), types.FoldingRangeKind.Region)
    for entry in document.entries:
        add(entry.full_span)
    return out


def register(server: PromptCanvasServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: PromptCanvasServer, params: types.DefinitionParams) -> list[types.Location] | None:
        doc = ls.store.find(params.text_document.uri)
        return definition(ls, doc, params.position) if doc else None

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def on_symbols(
        ls: PromptCanvasServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol] | None:
        doc = ls.store.find(params.text_document.uri)
        return symbols(ls, doc) if doc else None

    @server.feature(types.TEXT_DOCUMENT_FOLDING_RANGE)
    def on_folding(
        ls: PromptCanvasServer, params: types.FoldingRangeParams
    ) -> list[types.FoldingRange] | None:
        doc = ls.store.find(params.text_document.uri)
        return folding(ls, doc) if doc else None
