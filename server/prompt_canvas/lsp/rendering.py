"""Render: a code lens on each entry, the ``promptCanvas.render`` command, the latest render in hovers.

The lens and the hover only read the document and list one small folder; the
render itself runs as a cancellable job with progress (:mod:`.jobs`) and goes
through the core (:mod:`..render`). The image opens beside the editor with
``window/showDocument`` (``external``: a client that cannot show images
in an editor hands it to the system's viewer; VS Code's extension opens it in
its image preview).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path

from ..document import Entry
from .commands import CommandError, backend_for, parse_args, setting_int
from .convert import to_range

if TYPE_CHECKING:
    from ..render import Rendered
    from .server import PromptCanvasServer
    from .store import OpenDocument

RENDER = "promptCanvas.render"


def code_lenses(ls: PromptCanvasServer, doc: OpenDocument) -> list[types.CodeLens]:
    index = doc.document.index
    lenses = []
    for entry in doc.document.entries:
        anchor = entry.heading.span if entry.heading is not None else entry.prompt_span
        rng = to_range(index, entry.prompt_span, ls.encoding)
        lenses.append(
            types.CodeLens(
                range=to_range(index, anchor, ls.encoding),
                command=types.Command(title="Render image", command=RENDER, arguments=[doc.uri, rng, {}]),
            )
        )
    return lenses


def latest_for(ls: PromptCanvasServer, doc: OpenDocument, entry: Entry) -> Rendered | None:
    """The entry's newest render on disk (None if the file is unsaved or has none)."""
    if doc.path is None:
        return None
    from ..render import RenderError, latest_render, output_folder, render_options

    try:
        options = render_options(doc.document, ls.settings)
    except RenderError:
        return None
    return latest_render(output_folder(doc.path, options), entry.display_name)


def hover_lines(ls: PromptCanvasServer, doc: OpenDocument, entry: Entry) -> list[str]:
    made = latest_for(ls, doc, entry)
    if made is None:
        return []
    uri = from_fs_path(str(made.images[0])) or ""
    size = "|width=256" if ls.client_name and "code" in ls.client_name.lower() else ""
    info = made.info
    when = str(info.get("date") or "")
    more = f" (+{len(made.images) - 1} more)" if len(made.images) > 1 else ""
    return [
        "",
        f"![latest render of {entry.display_name}]({uri}{size})",
        f"latest render: {info.get('model', '?')} · {info.get('size', '?')} · {when}{more} · [open]({uri})",
    ]


async def render_command(ls: PromptCanvasServer, args: tuple[Any, ...]) -> dict[str, Any]:
    from ..render import OFFLINE_HELP, output_folder, plan_render, render, render_options

    doc, span, options = parse_args(ls, RENDER, args)
    entry = doc.document.entry_at(span.start)
    if entry is None:
        raise CommandError("put the cursor in an entry to render it")
    if doc.path is None:
        raise CommandError("save the file first: renders are kept beside it")
    choice = backend_for(ls, doc)
    if choice.llm is None:
        raise CommandError(OFFLINE_HELP)
    wanted = {k: options.get(k) for k in ("model", "size", "quality", "count")}
    settings = render_options(doc.document, ls.settings, wanted)
    target = ls.store.target_for(doc, ls.settings).name
    seed = setting_int(doc, "seed", ls.settings.seed)
    wildcards = ls.store.wildcards_for(doc, ls.settings)
    job = plan_render(doc.document, entry, target, seed, settings, choice.llm.base_url, wildcards)
    folder = output_folder(doc.path, settings)
    library = doc.path
    force = options.get("force") is True

    async def work(report: Callable[[str], None]) -> Rendered:
        return await render(job, folder, choice, report, force=force, library=library)

    title = f"Rendering {entry.display_name} ({settings.model} · {settings.size})"
    made = await ls.jobs.progress(ls, title, work)
    shown = made.images[0]
    if made.reused:
        ls.message(f"Render: already rendered with the same prompt and settings: {shown.name}")
    else:
        ls.log(
            f"Render: {entry.display_name} -> {', '.join(str(p) for p in made.images)}",
            types.MessageType.Info,
        )
    if not _show(ls, shown) and not made.reused:
        ls.message(f"Render: {entry.display_name} -> {shown}")  # the client cannot open it: say where it is
    return {
        "rendered": not made.reused,
        "reused": made.reused,
        "images": [str(p) for p in made.images],
        "sidecar": str(made.sidecar),
        "prompt": job.prompt,
        "revisedPrompt": made.revised_prompts,
    }


def _show(ls: PromptCanvasServer, image: Path) -> bool:
    """Ask the client to open the image; False if it cannot show documents."""
    window = ls.client_capabilities.window
    if window is None or window.show_document is None or not window.show_document.support:
        return False
    ls.spawn(
        ls.window_show_document_async(
            types.ShowDocumentParams(uri=from_fs_path(str(image)) or "", external=True, take_focus=False)
        )
    )
    return True


def register(server: PromptCanvasServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    def on_code_lens(ls: PromptCanvasServer, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        doc = ls.store.find(params.text_document.uri)
        if doc is None:
            return None
        return code_lenses(ls, doc)
