"""Code actions: listing is instant, nothing is expanded here.

Expand, variations and pick-a-variation are commands (run when the user picks
them, with progress); quick fixes carry their small edit directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..edits import TextEdit, move_params
from ..text import Span
from .commands import backend_for
from .convert import SOURCE, to_range, to_span

if TYPE_CHECKING:
    from .server import PromptCanvasServer
    from .store import OpenDocument

EXPAND_KIND = types.CodeActionKind.RefactorRewrite + ".promptCanvas.expand"
VARY_KIND = types.CodeActionKind.Refactor + ".promptCanvas.vary"
PICK_KIND = types.CodeActionKind.RefactorRewrite + ".promptCanvas.pickVariation"
RENDER_KIND = "promptCanvas.render"  # not a refactoring: a kind of its own

KINDS = [
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Refactor,
    RENDER_KIND,
]


def _command(
    title: str, name: str, uri: str, rng: types.Range, options: dict[str, Any] | None = None
) -> types.Command:
    return types.Command(title=title, command=name, arguments=[uri, rng, options or {}])


def _wants(only: Sequence[str] | None, kind: str) -> bool:
    return not only or any(kind == k or kind.startswith(k + ".") for k in only)


def list_actions(
    ls: PromptCanvasServer, doc: OpenDocument, params: types.CodeActionParams
) -> list[types.CodeAction]:
    index = doc.document.index
    span = to_span(index, params.range, ls.encoding)
    only = params.context.only
    actions: list[types.CodeAction] = []
    entry = doc.document.entry_at(span.start)
    target = ls.store.target_for(doc, ls.settings)
    choice = backend_for(ls, doc)
    shape = f"{target.label} · {choice.llm.model}" if choice.llm is not None else target.label
    if span.start != span.end and doc.text[span.start : span.end].strip():
        if _wants(only, EXPAND_KIND):
            actions.append(
                types.CodeAction(
                    title=f"Expand selection into a full image prompt ({shape})",
                    kind=EXPAND_KIND,
                    command=_command("Expand selection", "promptCanvas.expand", doc.uri, params.range),
                )
            )
    elif entry is not None and _wants(only, EXPAND_KIND):
        actions.append(
            types.CodeAction(
                title=f"Expand entry into a full image prompt ({shape})",
                kind=EXPAND_KIND,
                command=_command(
                    "Expand entry",
                    "promptCanvas.expand",
                    doc.uri,
                    to_range(index, entry.prompt_span, ls.encoding),
                ),
            )
        )
    if entry is not None:
        count = _variation_count(ls, doc)
        entry_range = to_range(index, entry.prompt_span, ls.encoding)
        if _wants(only, VARY_KIND):
            actions.append(
                types.CodeAction(
                    title=f"Generate {count} variations",
                    kind=VARY_KIND,
                    command=_command(
                        f"Generate {count} variations", "promptCanvas.vary", doc.uri, entry_range
                    ),
                )
            )
        if _wants(only, PICK_KIND):
            actions.append(
                types.CodeAction(
                    title="Replace with a variation…",
                    kind=PICK_KIND,
                    command=_command(
                        "Replace with a variation", "promptCanvas.pickVariation", doc.uri, entry_range
                    ),
                )
            )
        if _wants(only, RENDER_KIND):
            model = doc.document.setting("image_model") or ls.settings.render_model
            actions.append(
                types.CodeAction(
                    title=f"Render image ({model})",
                    kind=RENDER_KIND,
                    command=_command("Render image", "promptCanvas.render", doc.uri, entry_range),
                )
            )
    if _wants(only, types.CodeActionKind.QuickFix):
        actions.extend(quick_fixes(ls, doc, params.context.diagnostics))
    return actions


def _variation_count(ls: PromptCanvasServer, doc: OpenDocument) -> int:
    value = doc.document.setting("variations")
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100:
        return value
    return ls.settings.variations


def _edit(doc: OpenDocument, edits: list[TextEdit], encoding: str) -> types.WorkspaceEdit:
    index = doc.document.index
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
                edits=[
                    types.TextEdit(range=to_range(index, e.span, encoding), new_text=e.new_text)
                    for e in edits
                ],
            )
        ]
    )


def _fix(title: str, diagnostic: types.Diagnostic, **kwargs: Any) -> types.CodeAction:
    return types.CodeAction(
        title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic], **kwargs
    )


def quick_fixes(
    ls: PromptCanvasServer, doc: OpenDocument, diagnostics: Sequence[types.Diagnostic]
) -> list[types.CodeAction]:
    fixes: list[types.CodeAction] = []
    index = doc.document.index
    for diagnostic in diagnostics:
        if diagnostic.source != SOURCE:
            continue
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        span = to_span(index, diagnostic.range, ls.encoding)
        code = diagnostic.code
        suggestion = data.get("suggestion")
        if code == "wildcard-missing":
            if isinstance(suggestion, str):
                fixes.append(
                    _replace(f"Change to __{suggestion}__", diagnostic, doc, span, suggestion, ls.encoding)
                )
            create = data.get("create")
            name = data.get("name")
            if isinstance(create, str) and isinstance(name, str):
                fixes.append(
                    _fix(
                        f"Create wildcard file {create}",
                        diagnostic,
                        command=types.Command(
                            title="Create wildcard file",
                            command="promptCanvas.createWildcard",
                            arguments=[doc.uri, name],
                        ),
                    )
                )
        elif code == "params-position":
            entry = doc.document.entry_at(span.start)
            if entry is not None:
                fixes.append(
                    _fix(
                        "Move Midjourney parameters to the end",
                        diagnostic,
                        is_preferred=True,
                        edit=_edit(doc, [move_params(entry)], ls.encoding),
                    )
                )
        elif code in ("front-matter-unknown-key", "front-matter-value") and isinstance(suggestion, str):
            fixes.append(
                _replace(f"Change to '{suggestion}'", diagnostic, doc, span, suggestion, ls.encoding)
            )
    return fixes


def _replace(
    title: str, diagnostic: types.Diagnostic, doc: OpenDocument, span: Span, text: str, encoding: str
) -> types.CodeAction:
    """The preferred fix that puts ``text`` in place of the diagnostic's span."""
    return _fix(title, diagnostic, is_preferred=True, edit=_edit(doc, [TextEdit(span, text)], encoding))


def register(server: PromptCanvasServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=False),
    )
    def code_action(ls: PromptCanvasServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        doc = ls.store.find(params.text_document.uri)
        if doc is None:
            return None
        return list_actions(ls, doc, params)
