"""Commands that do the long work: expand, vary, pick a variation, create a wildcard file.

Each is ``(uri, range, options)``. The work runs as a cancellable job with
progress (:mod:`.jobs`); its edit is a versioned ``TextDocumentEdit`` applied
with ``workspace/applyEdit``. If the user typed while the work ran, the edit
is re-anchored to the original text when that text is still there unchanged;
otherwise nothing is applied and the user is told why (the result goes to the
log so it is not lost).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.uris import from_fs_path

from ..checks import document_target
from ..edits import TextEdit, insert_variations
from ..errors import UserError
from ..expanders.base import ExpandRequest
from ..targets import TARGETS, resolve_target
from ..text import Span
from .convert import to_range, to_span
from .jobs import JobCancelled
from .store import OpenDocument, UnknownDocument

if TYPE_CHECKING:
    from ..backends import BackendChoice
    from ..engine import Engine
    from ..expanders.offline import OfflineExpander
    from ..variations import Variations
    from .server import PromptCanvasServer

EXPAND = "promptCanvas.expand"
VARY = "promptCanvas.vary"
PICK = "promptCanvas.pickVariation"
CREATE_WILDCARD = "promptCanvas.createWildcard"
CLEAR_CACHE = "promptCanvas.clearCache"
COMMANDS = [EXPAND, VARY, PICK, CREATE_WILDCARD, CLEAR_CACHE]

_MODES = ("auto", "template", "semantic")


class CommandError(UserError):
    """A failure to report to the user (no edit was made)."""


@dataclass
class Original:
    """The text a command works on, as it was when the command started."""

    doc: OpenDocument
    version: int
    span: Span
    original: str

    @property
    def uri(self) -> str:
        return self.doc.uri


# -- arguments ---------------------------------------------------------------------------


def parse_args(
    ls: PromptCanvasServer, name: str, args: tuple[Any, ...]
) -> tuple[OpenDocument, Span, dict[str, Any]]:
    if not args or not isinstance(args[0], str):
        raise JsonRpcInvalidParams(
            f"{name} expects (uri, range, options): the first argument must be a document URI"
        )
    uri = args[0]
    try:
        doc = ls.store.get(uri)
    except UnknownDocument as exc:
        raise JsonRpcInvalidParams(f"{name}: {exc}") from None
    if len(args) < 2 or args[1] is None:
        raise JsonRpcInvalidParams(f"{name} expects (uri, range, options): the range is missing")
    try:
        rng = ls.protocol._converter.structure(args[1], types.Range)
    except Exception:
        raise JsonRpcInvalidParams(
            f"{name}: the range must look like {{'start': {{'line': 0, 'character': 0}}, 'end': {{...}}}}"
        ) from None
    options = args[2] if len(args) > 2 and args[2] is not None else {}
    if not isinstance(options, dict):
        raise JsonRpcInvalidParams(f"{name}: options must be an object, got {type(options).__name__}")
    if len(args) > 3:
        raise JsonRpcInvalidParams(
            f"{name} expects at most 3 arguments (uri, range, options), got {len(args)}"
        )
    return doc, to_span(doc.document.index, rng, ls.encoding), options


def _int_option(options: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise JsonRpcInvalidParams(
            f"option '{key}' must be a whole number from {low} to {high}, got {value!r}"
        )
    return value


def setting_int(doc: OpenDocument, key: str, default: int) -> int:
    value = doc.document.setting(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _entry_target(doc: OpenDocument, span: Span) -> Original:
    """The entry's prompt under/around ``span`` (whole prompt when the range is empty)."""
    if span.start == span.end:
        entry = doc.document.entry_at(span.start)
        if entry is None:
            raise CommandError("put the cursor in an entry or select a phrase first")
        span = entry.prompt_span
    text = doc.text[span.start : span.end]
    if not text.strip():
        raise CommandError("nothing to work on: the selection is empty")
    return Original(doc, doc.version, span, text)


# -- applying edits safely ---------------------------------------------------------------


def anchor(target: Original) -> Span | None:
    """Where the original text is now, or None if it changed."""
    doc = target.doc
    text = doc.text
    if doc.version == target.version:
        return target.span
    start, end = target.span.start, target.span.end
    if text[start:end] == target.original:
        return target.span
    hits: list[int] = []
    pos = text.find(target.original)
    while pos != -1 and len(hits) < 50:
        hits.append(pos)
        pos = text.find(target.original, pos + 1)
    if not hits:
        return None
    ranked = sorted(hits, key=lambda h: abs(h - start))
    if len(ranked) > 1 and abs(ranked[0] - start) == abs(ranked[1] - start):
        return None  # two equally likely places: do not guess
    return Span(ranked[0], ranked[0] + len(target.original))


async def apply_edits(
    ls: PromptCanvasServer,
    target: Original,
    make_edits: Callable[[Span], list[TextEdit]],
    label: str,
    result_text: str,
) -> bool:
    """Apply edits built for the (re-anchored) target span; two tries against fast typists."""
    for _ in range(2):
        span = anchor(target)
        if span is None:
            ls.message(
                f"{label}: the text changed while Prompt Canvas was working, so nothing was replaced. "
                "The result is in the Prompt Canvas log.",
                types.MessageType.Warning,
            )
            ls.log(f"{label} (not applied, the text had changed):\n{result_text}", types.MessageType.Info)
            return False
        doc = target.doc
        index = doc.document.index
        edits = make_edits(span)
        edit = types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=doc.uri, version=doc.version
                    ),
                    edits=[
                        types.TextEdit(range=to_range(index, e.span, ls.encoding), new_text=e.new_text)
                        for e in edits
                    ],
                )
            ]
        )
        capabilities = ls.client_capabilities.workspace
        if capabilities is None or not capabilities.apply_edit:
            ls.message(f"{label}: this editor cannot apply edits from a server; the result is in the log.")
            ls.log(f"{label}:\n{result_text}", types.MessageType.Info)
            return False
        sent_version = doc.version
        response = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=label))
        if response.applied:
            return True
        if doc.version == sent_version:
            reason = response.failure_reason or "the editor refused the edit"
            ls.message(
                f"{label}: not applied ({reason}). The result is in the log.", types.MessageType.Warning
            )
            ls.log(f"{label} (not applied):\n{result_text}", types.MessageType.Info)
            return False
        await asyncio.sleep(0)  # the document moved on under us: re-anchor and try once more
    ls.message(
        f"{label}: the document kept changing; nothing was replaced. The result is in the log.",
        types.MessageType.Warning,
    )
    ls.log(f"{label} (not applied):\n{result_text}", types.MessageType.Info)
    return False


# -- the work ------------------------------------------------------------------------------


def _expander(ls: PromptCanvasServer) -> OfflineExpander:
    from ..expanders.offline import OfflineExpander  # the knowledge base loads on first use

    cached = getattr(ls, "_offline_expander", None)
    if cached is None:
        folders = [Path(p) for p in ls.settings.knowledge]
        root = ls.store.workspace_root
        folders = [p if p.is_absolute() or root is None else root / p for p in folders]
        if root is not None and (root / ".prompt-canvas" / "knowledge").is_dir():
            folders.append(root / ".prompt-canvas" / "knowledge")
        cached, problems = OfflineExpander.with_workspace(folders)
        for problem in problems:
            ls.message(f"knowledge base: {problem}", types.MessageType.Warning)
        ls._offline_expander = cached  # type: ignore[attr-defined]
    return cached


def engine(ls: PromptCanvasServer) -> Engine:
    """The core engine (backends, cache, fallback), made on first use."""
    if ls.engine is None:
        from ..engine import Engine

        ls.engine = Engine(offline=lambda: _expander(ls))
    return ls.engine


def backend_for(ls: PromptCanvasServer, doc: OpenDocument) -> BackendChoice:
    from ..backends import choose_backend

    front_matter = {key: doc.document.setting(key) for key in ("backend", "model")}
    return choose_backend(ls.settings, ls.api_key, front_matter)


def _tell(ls: PromptCanvasServer, label: str, note: str | None) -> None:
    if note:
        ls.message(f"{label}: {note}", types.MessageType.Warning)
        ls.log(f"{label}: {note}", types.MessageType.Warning)


def expand_request(ls: PromptCanvasServer, target: Original, options: dict[str, Any]) -> ExpandRequest:
    doc = target.doc.document
    name = options.get("target")
    if name is None:
        chosen = document_target(doc, ls.settings.target)
    else:
        found = resolve_target(name) if isinstance(name, str) else None
        if found is None:
            raise JsonRpcInvalidParams(f"option 'target': unknown target {name!r} ({', '.join(TARGETS)})")
        chosen = found
    seed = _int_option(options, "seed", 0, 2**63 - 1)
    entry = doc.entry_at(target.span.start)
    negative = (entry.negative if entry else None) or _text_setting(doc.setting("negative"))
    return ExpandRequest(
        phrase=" ".join(target.original.split()),
        target=chosen.name,
        seed=seed if seed is not None else setting_int(target.doc, "seed", ls.settings.seed),
        style=_text_setting(doc.setting("style")),
        negative=negative,
        params=_text_setting(doc.setting("params")),
    )


def _text_setting(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


async def _expand(ls: PromptCanvasServer, args: tuple[Any, ...]) -> dict[str, Any]:
    doc, span, options = parse_args(ls, EXPAND, args)
    target = _entry_target(doc, span)
    request = expand_request(ls, target, options)
    choice = backend_for(ls, doc)

    async def work(report: Callable[[str], None]) -> Any:
        report(f"“{request.phrase[:60]}”")
        return await engine(ls).expand(request, choice, report)

    expansion = await ls.jobs.progress(ls, f"Expanding prompt ({choice.label})", work)
    entry = doc.document.entry_at(target.span.start)
    whole_entry = entry is not None and entry.prompt_span == target.span
    add_negative = (
        whole_entry
        and entry is not None
        and entry.negative_span is None
        and expansion.negative
        and request.negative is None
    )

    def edits(span: Span) -> list[TextEdit]:
        out = [TextEdit(span, expansion.prompt)]
        if add_negative:
            nl = "\r\n" if "\r\n" in doc.text else "\n"
            out.append(TextEdit(Span(span.end, span.end), f"{nl}negative: {expansion.negative}"))
        return out

    applied = await apply_edits(ls, target, edits, "Expand prompt", expansion.prompt)
    _tell(ls, "Expand", expansion.note)
    return {
        "applied": applied,
        "prompt": expansion.prompt,
        "negative": expansion.negative,
        "target": expansion.target,
        "backend": expansion.backend,
        "note": expansion.note,
    }


async def _variations(ls: PromptCanvasServer, target: Original, options: dict[str, Any]) -> Variations:
    count = _int_option(options, "count", 1, 100) or setting_int(
        target.doc, "variations", ls.settings.variations
    )
    count = max(1, min(count, 100))
    seed = _int_option(options, "seed", 0, 2**63 - 1)
    if seed is None:
        seed = setting_int(target.doc, "seed", ls.settings.seed)
    mode = options.get("mode", "auto")
    if mode not in _MODES:
        raise JsonRpcInvalidParams(f"option 'mode' must be one of {', '.join(_MODES)}")
    doc = target.doc
    library = ls.store.wildcards_for(doc, ls.settings)
    tgt = ls.store.target_for(doc, ls.settings).name
    choice = backend_for(ls, doc)

    async def work(report: Callable[[str], None]) -> Variations:
        report(f"{count} variations")
        await asyncio.sleep(0)
        return await engine(ls).vary(target.original, count, seed, mode, tgt, library, choice, report)

    made = await ls.jobs.progress(ls, f"Generating variations ({choice.label})", work)
    _tell(ls, "Variations", made.note)
    return made


async def _vary(ls: PromptCanvasServer, args: tuple[Any, ...]) -> dict[str, Any]:
    doc, span, options = parse_args(ls, VARY, args)
    target = _entry_target(doc, span)
    entry = doc.document.entry_at(target.span.start)
    if entry is None:
        raise CommandError("variations are made for an entry: put the cursor in one")
    entry_target = Original(doc, target.version, entry.span, doc.text[entry.span.start : entry.span.end])
    prompts = (await _variations(ls, target, options)).prompts

    def edits(span: Span) -> list[TextEdit]:
        current = doc.document.entry_at(span.start)
        if current is None:
            return []
        return [insert_variations(doc.document, current, prompts, None)]

    applied = await apply_edits(ls, entry_target, edits, "Generate variations", "\n".join(prompts))
    return {"applied": applied, "variations": prompts}


async def _pick(ls: PromptCanvasServer, args: tuple[Any, ...]) -> dict[str, Any]:
    doc, span, options = parse_args(ls, PICK, args)
    target = _entry_target(doc, span)
    given = options.get("variation")
    if given is not None:
        # The client already showed the variations (VS Code's QuickPick) and names the one to put in.
        if not isinstance(given, str) or not given.strip():
            raise JsonRpcInvalidParams("option 'variation' must be the non-empty text of a variation")
        applied = await apply_edits(
            ls, target, lambda s: [TextEdit(s, given.strip())], "Replace with a variation", given
        )
        return {"applied": applied, "variations": [given.strip()], "choice": 0}
    prompts = (await _variations(ls, target, options)).prompts
    if not prompts:
        raise CommandError("no variations could be made for this entry")
    choice = _int_option(options, "choice", 0, len(prompts) - 1)
    if options.get("apply") is False:
        return {"applied": False, "variations": prompts}
    if choice is None:
        titles = [f"{i + 1}. {_short(p)}" for i, p in enumerate(prompts)]
        listing = "\n".join(f"{i + 1}. {p}" for i, p in enumerate(prompts))

        async def ask(report: Callable[[str], None]) -> types.MessageActionItem | None:
            report("waiting for your choice")
            return await ls.window_show_message_request_async(
                types.ShowMessageRequestParams(
                    type=types.MessageType.Info,
                    message=f"Replace the entry with which variation?\n{listing}",
                    actions=[types.MessageActionItem(title=t) for t in titles],
                )
            )

        # The question runs under its own progress, so its Cancel button ends the command.
        answer = await ls.jobs.progress(ls, "Choose a variation", ask)
        if answer is None or answer.title not in titles:
            return {"applied": False, "variations": prompts}
        choice = titles.index(answer.title)
    chosen = prompts[choice]
    applied = await apply_edits(
        ls, target, lambda s: [TextEdit(s, chosen)], "Replace with a variation", chosen
    )
    return {"applied": applied, "variations": prompts, "choice": choice}


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _create_wildcard(ls: PromptCanvasServer, args: tuple[Any, ...]) -> dict[str, Any]:
    if len(args) != 2 or not all(isinstance(a, str) for a in args):
        raise JsonRpcInvalidParams(f"{CREATE_WILDCARD} expects (uri, name)")
    uri, name = args
    try:
        doc = ls.store.get(uri)
    except UnknownDocument as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    library = ls.store.wildcards_for(doc, ls.settings)
    path = library.path_for_new(name)
    if path is None and doc.path is not None:
        from ..wildcards import DEFAULT_FOLDER

        path = doc.path.parent / DEFAULT_FOLDER / f"{name}.txt"
    if path is None or ".." in Path(name).parts:
        raise CommandError(f"cannot choose a place for __{name}__: save the document first")
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# Values for __{name}__, one per line\n", encoding="utf-8")
        created = True
    ls.store.libraries.clear()
    from . import diagnostics

    diagnostics.refresh_all(ls)
    show = ls.client_capabilities.window
    if show is not None and show.show_document is not None and show.show_document.support:
        ls.spawn(
            ls.window_show_document_async(
                types.ShowDocumentParams(uri=from_fs_path(str(path)) or "", take_focus=True)
            )
        )
    return {"created": created, "path": str(path)}


def _clear_cache(ls: PromptCanvasServer, args: tuple[Any, ...]) -> dict[str, Any]:
    removed = engine(ls).cache.clear()
    ls.message(f"cleared {removed} cached LLM answer{'s' if removed != 1 else ''}")
    return {"removed": removed, "folder": str(engine(ls).cache.folder)}


def register(server: PromptCanvasServer) -> None:
    def guarded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        # pygls evaluates command annotations at run time: keep them to runtime names.
        async def handler(ls: Any, *args: Any) -> Any:
            try:
                result = fn(ls, args)
                if asyncio.iscoroutine(result):
                    result = await ls.jobs.command(ls, result)
                return result
            except UserError as exc:
                ls.message(f"{name}: {exc}", types.MessageType.Error)
                return {"applied": False, "error": str(exc)}
            except JobCancelled as exc:
                ls.log(f"{name}: {exc}")
                if exc.by_request:
                    raise JsonRpcRequestCancelled(f"{name} was cancelled; nothing was changed") from None
                return {"applied": False, "cancelled": True}

        return handler

    server.command(EXPAND)(guarded("Expand", _expand))
    server.command(VARY)(guarded("Variations", _vary))
    server.command(PICK)(guarded("Pick a variation", _pick))
    server.command(CREATE_WILDCARD)(guarded("Create wildcard", _create_wildcard))
    server.command(CLEAR_CACHE)(guarded("Clear cache", _clear_cache))
    from .rendering import RENDER, render_command

    server.command(RENDER)(guarded("Render", render_command))
