"""Hover: wildcard values, template combinations, token counts, front-matter docs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..checks import representative_text
from ..document import FRONT_MATTER_KEYS, Entry
from ..targets import Target, resolve_target
from ..template import Variant, Wildcard
from .convert import to_offset, to_range

if TYPE_CHECKING:
    from .server import PromptCanvasServer
    from .store import OpenDocument

MAX_VALUES = 20


def hover(ls: PromptCanvasServer, doc: OpenDocument, position: types.Position) -> types.Hover | None:
    from ..variations import combinations

    document = doc.document
    index = document.index
    offset = to_offset(index, position, ls.encoding)
    fm = document.front_matter
    if fm is not None and fm.span.start <= offset <= fm.span.end:
        for key in fm.keys.values():
            if key.key_span.contains(offset) or key.value_span.contains(offset):
                text = f"**{key.name}** — {FRONT_MATTER_KEYS.get(key.name, 'unknown key (ignored)')}"
                if key.name == "target" and isinstance(key.value, str):
                    target = resolve_target(key.value)
                    if target:
                        text += f"\n\n{target.label}: {target.description}"
                return _hover(text, to_range(index, key.key_span, ls.encoding))
        return None
    entry = document.entry_at(offset)
    if entry is None:
        return None
    target = ls.store.target_for(doc, ls.settings)
    for template in (entry.template, entry.negative_template):
        if template is None:
            continue
        local = offset - template.offset
        node = next(
            (n for n in template.walk() if isinstance(n, Wildcard) and n.span.start <= local <= n.span.end),
            None,
        )
        if node is not None:
            return _hover(
                _wildcard_text(ls, doc, node), to_range(index, template.absolute(node.span), ls.encoding)
            )
        variants = [
            n for n in template.walk() if isinstance(n, Variant) and n.span.start <= local <= n.span.end
        ]
        if variants:
            inner = variants[-1]
            total = combinations(template, ls.store.wildcards_for(doc, ls.settings))
            options = len(inner.options)
            pick = f"{inner.lower}" if inner.lower == inner.upper else f"{inner.lower}-{inner.upper}"
            text = f"**choice**: {options} options, {pick} picked"
            text += f"\n\nThis entry: {total:,} combinations" if total is not None else ""
            return _hover(text, to_range(index, template.absolute(inner.span), ls.encoding))
    return _hover(_entry_text(ls, doc, entry, target), to_range(index, entry.prompt_span, ls.encoding))


def _wildcard_text(ls: PromptCanvasServer, doc: OpenDocument, node: Wildcard) -> str:
    library = ls.store.wildcards_for(doc, ls.settings)
    names = library.match(node.name)
    if not names:
        return f"**__{node.name}__** — no wildcard file found"
    values = library.values(node.name)
    files = ", ".join(f"`{library.files[n].path.name}`" for n in names[:3])
    lines = [f"**__{node.name}__** — {len(values)} values ({files})", ""]
    lines += [f"- {v}" for v in values[:MAX_VALUES]]
    if len(values) > MAX_VALUES:
        lines.append(f"- … and {len(values) - MAX_VALUES} more")
    return "\n".join(lines)


def _entry_text(ls: PromptCanvasServer, doc: OpenDocument, entry: Entry, target: Target) -> str:
    lines = [f"**{entry.display_name}** · {target.label}"]
    text = representative_text(entry.template)
    if target.clip_token_limit:
        from ..clip_tokens import count_chunks

        chunks = count_chunks(text)
        shown = " + ".join(str(c) for c in chunks)
        lines.append(f"CLIP tokens: {shown} / {target.clip_token_limit} per chunk")
        if entry.negative_template is not None:
            negative = count_chunks(representative_text(entry.negative_template))
            lines.append(f"negative: {' + '.join(str(c) for c in negative)} / {target.clip_token_limit}")
    elif target.char_limit:
        lines.append(f"characters: {len(text):,} / {target.char_limit:,}")
    else:
        lines.append(f"words: {len(text.split())} (aim for {target.words[0]}-{target.words[1]})")
    if not entry.template.is_plain:
        from ..variations import combinations

        total = combinations(entry.template, ls.store.wildcards_for(doc, ls.settings))
        lines.append(f"combinations: {total:,}" if total is not None else "combinations: unknown")
    from .rendering import hover_lines

    lines.extend(hover_lines(ls, doc, entry))
    return "  \n".join(lines)


def _hover(text: str, rng: types.Range) -> types.Hover:
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text), range=rng)


def register(server: PromptCanvasServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: PromptCanvasServer, params: types.HoverParams) -> types.Hover | None:
        doc = ls.store.find(params.text_document.uri)
        if doc is None:
            return None
        return hover(ls, doc, params.position)
