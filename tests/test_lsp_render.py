"""Render through a real language-server session (stdio) and the tests' local images server.

Code lenses on each entry, the render command with progress and cancel, the
image shown beside the editor, the latest render in the entry's hover, the
offline backend saying what to configure, and errors with nothing written.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_editor import Editor, end_session, isolated_server, start
from openai_compatible_server import Fault, OpenAICompatibleServer

CONFIG = isolated_server(tempfile.mkdtemp(prefix="prompt-canvas-lsp-render-"))

TEXT = """---
target: dalle
seed: 4
---
## beach
beach sunset, {warm|cold} light

## fox
a fox in the snow
"""


@pytest.fixture(scope="module")
def images() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(images: OpenAICompatibleServer) -> None:
    images.reset()
    images.latency = 0.0
    images.api_key = None
    images.image_form = "b64"


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    yield
    await end_session(lsp_client)


def options(images: OpenAICompatibleServer, **extra: Any) -> dict[str, Any]:
    return {"diagnosticsDelay": 0, "backend": "openai", "baseUrl": images.url, **extra}


async def open_library(
    client: LanguageClient, folder: Path, opts: dict[str, Any], **init: Any
) -> tuple[Editor, str]:
    editor = await start(client, options=opts, **init)
    path = folder / "coast.prompt"
    path.write_text(TEXT)
    editor.open(path.as_uri(), TEXT)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return editor, path.as_uri()


def entry_range(editor: Editor, uri: str, needle: str) -> dict[str, Any]:
    r = editor.range_of(uri, needle)
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


async def run(client: LanguageClient, *arguments: object) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="promptCanvas.render", arguments=list(arguments))
    )
    assert isinstance(result, dict)
    return result


def renders(folder: Path) -> list[str]:
    root = folder / "renders"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_code_lens_on_each_entry_runs_render(
    client: LanguageClient, images: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor, uri = await open_library(client, tmp_path, options(images))
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri))
    )
    assert lenses is not None and [lens.range.start.line for lens in lenses] == [4, 7]  # the headings
    assert all(lens.command and lens.command.title == "Render image" for lens in lenses)
    assert images.requests == []  # listing lenses asks the server nothing

    command = lenses[1].command
    assert command is not None and command.arguments is not None
    result = await run(client, *command.arguments)
    assert result["rendered"] and not result["reused"]
    (png,) = [Path(p) for p in result["images"]]
    assert png.parent == tmp_path / "renders" / "coast" and png.read_bytes()[:4] == b"\x89PNG"
    sidecar = json.loads(Path(result["sidecar"]).read_text())
    assert sidecar["prompt"] == "a fox in the snow" and sidecar["entry"] == "fox" and sidecar["seed"] == 4
    (shown,) = editor.shown
    assert shown.uri == png.as_uri() and shown.external is True and not shown.take_focus
    (token,) = editor.progress_tokens
    begin = client.progress_reports[token][0]
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.title == "Rendering fox (gpt-image-1 · 1024x1024)" and begin.cancellable
    assert editor.docs[uri].text == TEXT  # rendering never edits the document

    again = await run(client, *command.arguments)
    assert again["reused"] and again["images"] == result["images"]
    assert len([r for r in images.requests if r.method == "POST"]) == 1  # not paid for twice
    assert any("already rendered" in m.message for m in client.messages)


async def test_hover_shows_the_latest_render(
    client: LanguageClient, images: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor, uri = await open_library(client, tmp_path, options(images), client_name="Visual Studio Code")
    position = editor.position_of(uri, "sunset")
    params = types.HoverParams(text_document=types.TextDocumentIdentifier(uri), position=position)
    before = await client.text_document_hover_async(params)
    assert before is not None and "latest render" not in str(before.contents)
    result = await run(client, uri, entry_range(editor, uri, "beach sunset, {warm|cold} light"), {})
    hover = await client.text_document_hover_async(params)
    assert hover is not None
    text = hover.contents.value if isinstance(hover.contents, types.MarkupContent) else str(hover.contents)
    image_uri = Path(result["images"][0]).as_uri()
    assert f"![latest render of beach]({image_uri}|width=256)" in text  # VS Code's size syntax
    assert "gpt-image-1 · 1024x1024" in text


async def test_a_client_that_cannot_show_documents_is_told_where_the_image_is(
    client: LanguageClient, images: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor, uri = await open_library(client, tmp_path, options(images), spec="emacs")  # no showDocument
    result = await run(client, uri, entry_range(editor, uri, "a fox in the snow"), {})
    assert result["rendered"] and editor.shown == []
    (png,) = result["images"]
    assert any(m.message == f"Prompt Canvas: Render: fox -> {png}" for m in client.messages)


async def test_front_matter_and_options_pick_the_image_model_and_size(
    client: LanguageClient, images: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor, uri = await open_library(client, tmp_path, options(images, renderModel="dall-e-3"))
    images.image_form = "url"
    result = await run(
        client, uri, entry_range(editor, uri, "a fox in the snow"), {"size": "1024x1792", "count": 2}
    )
    assert len(result["images"]) == 2 and result["revisedPrompt"][0].startswith("A vivid rendering of")
    bodies = [r.body for r in images.requests if r.method == "POST"]
    assert len(bodies) == 2  # dall-e-3: one image per request
    assert all(b["model"] == "dall-e-3" and b["size"] == "1024x1792" and b["n"] == 1 for b in bodies)


async def test_offline_says_how_to_configure_a_server(client: LanguageClient, tmp_path: Path) -> None:
    editor, uri = await open_library(client, tmp_path, {"diagnosticsDelay": 0})
    result = await run(client, uri, entry_range(editor, uri, "a fox in the snow"), {})
    assert result["applied"] is False and "backend is offline" in result["error"]
    (shown,) = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert shown.startswith("Prompt Canvas: Render: Rendering needs an image server")
    assert renders(tmp_path) == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.content_filter(), "refused to draw this prompt (content policy)"),
        (Fault.status_code(429, code="insufficient_quota", message="quota exceeded"), "out of quota"),
        (Fault.garbage(), "is not a valid images answer"),
    ],
)
async def test_errors_are_one_message_and_no_file(
    client: LanguageClient, images: OpenAICompatibleServer, tmp_path: Path, fault: Fault, message: str
) -> None:
    editor, uri = await open_library(client, tmp_path, options(images))
    images.faults.append(fault)
    result = await run(client, uri, entry_range(editor, uri, "a fox in the snow"), {})
    assert result["applied"] is False and message in result["error"]
    (shown,) = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert message in shown and editor.shown == [] and renders(tmp_path) == []


async def test_size_the_model_does_not_take(
    client: LanguageClient, images: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor, uri = await open_library(client, tmp_path, options(images, renderSize="512x512"))
    result = await run(client, uri, entry_range(editor, uri, "a fox in the snow"), {})
    assert "gpt-image-1 does not take the size '512x512'" in result["error"]
    assert "renderSize" in result["error"] and renders(tmp_path) == []


async def test_cancel_abandons_the_request_and_writes_nothing(
    client: LanguageClient, images: OpenAICompatibleServer, tmp_path: Path
) -> None:
    images.latency = 10
    editor, uri = await open_library(client, tmp_path, options(images))
    params = types.ExecuteCommandParams(
        command="promptCanvas.render", arguments=[uri, entry_range(editor, uri, "a fox in the snow"), {}]
    )
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="render-1")
    )
    for _ in range(250):
        await asyncio.sleep(0.02)
        if any(r.method == "POST" for r in images.requests):
            break
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="render-1"))
    with pytest.raises(Exception, match="cancelled"):
        await pending
    for _ in range(250):
        if images.disconnects:
            break
        await asyncio.sleep(0.02)
    assert images.disconnects == 1 and renders(tmp_path) == [] and editor.shown == []
