"""Completion, hover, definition, outline, folding, quick fixes, configuration, robustness."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_editor import SERVER, Editor, start

TEXT = """---
target: sdxl
seed: 1
---
# Characters
## knight
a knight with a __colour__ cloak, {proud|weary} stance
negative: blurry

## typo
a __colur__ door

# Midjourney
## mj
a cat
"""


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    yield


@pytest.fixture
async def editor(client: LanguageClient, tmp_path: Path) -> Editor:
    (tmp_path / "wildcards").mkdir()
    (tmp_path / "wildcards" / "colour.txt").write_text("# colours\ncrimson\nnavy\nforest green\n")
    (tmp_path / "wildcards" / "animals").mkdir()
    (tmp_path / "wildcards" / "animals" / "birds.txt").write_text("owl\nraven\n")
    ed = await start(client, folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="lib")])
    ed.uri = (tmp_path / "lib.prompt").as_uri()  # type: ignore[attr-defined]
    ed.open(ed.uri, TEXT)  # type: ignore[attr-defined]
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    yield ed
    await client.shutdown_session()


def uri_of(editor: Editor) -> str:
    return editor.uri  # type: ignore[attr-defined,no-any-return]


def doc_id(editor: Editor) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri_of(editor))


async def test_diagnostics_with_quick_fixes(client: LanguageClient, editor: Editor, tmp_path: Path) -> None:
    found = client.diagnostics[uri_of(editor)]
    (missing,) = [d for d in found if d.code == "wildcard-missing"]
    assert "did you mean __colour__" in missing.message
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(doc_id(editor), missing.range, types.CodeActionContext(diagnostics=[missing]))
    )
    assert actions is not None
    change = next(a for a in actions if isinstance(a, types.CodeAction) and a.title == "Change to __colour__")
    assert change.edit is not None and change.is_preferred
    result = editor.apply(types.ApplyWorkspaceEditParams(edit=change.edit))
    assert result.applied and "a __colour__ door" in editor.docs[uri_of(editor)].text
    create = next(
        a for a in actions if isinstance(a, types.CodeAction) and a.title.startswith("Create wildcard")
    )
    assert create.command is not None
    out = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=create.command.command, arguments=create.command.arguments)
    )
    assert out["created"] and (tmp_path / "wildcards" / "colur.txt").exists()


async def test_completion_of_wildcards(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    editor.type(uri, editor.docs[uri].text.index("a cat") + len("a cat"), " with __an")
    position = editor.position_of(uri, " with __an", len(" with __an"))
    items = await client.text_document_completion_async(types.CompletionParams(doc_id(editor), position))
    assert items is not None
    labels = [i.label for i in (items.items if isinstance(items, types.CompletionList) else items)]
    assert labels == ["animals/birds", "colour"]
    birds = next(i for i in items.items if i.label == "animals/birds")  # type: ignore[union-attr]
    assert birds.text_edit is not None and birds.text_edit.new_text == "animals/birds__"
    assert birds.detail == "2 values · birds.txt"


async def test_completion_in_front_matter(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    editor.type(uri, editor.docs[uri].text.index("seed: 1") + len("seed: 1"), "\ntar")
    items = await client.text_document_completion_async(
        types.CompletionParams(doc_id(editor), editor.position_of(uri, "\ntar", 4))
    )
    assert items is not None and "target" in [i.label for i in items.items]  # type: ignore[union-attr]
    items = await client.text_document_completion_async(
        types.CompletionParams(doc_id(editor), editor.position_of(uri, "target: sdxl", len("target: ")))
    )
    assert items is not None
    assert [i.label for i in items.items] == ["dalle", "midjourney", "sdxl", "flux", "generic"]  # type: ignore[union-attr]


async def test_hover(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    wildcard = await client.text_document_hover_async(
        types.HoverParams(doc_id(editor), editor.position_of(uri, "__colour__", 3))
    )
    assert wildcard is not None and isinstance(wildcard.contents, types.MarkupContent)
    assert "3 values" in wildcard.contents.value and "- forest green" in wildcard.contents.value
    choice = await client.text_document_hover_async(
        types.HoverParams(doc_id(editor), editor.position_of(uri, "{proud", 2))
    )
    assert choice is not None and "2 options" in choice.contents.value  # type: ignore[union-attr]
    assert "This entry: 6 combinations" in choice.contents.value  # type: ignore[union-attr]
    entry = await client.text_document_hover_async(
        types.HoverParams(doc_id(editor), editor.position_of(uri, "a knight", 1))
    )
    assert entry is not None and "CLIP tokens:" in entry.contents.value  # type: ignore[union-attr]
    key = await client.text_document_hover_async(types.HoverParams(doc_id(editor), types.Position(1, 2)))
    assert key is not None and "**target**" in key.contents.value  # type: ignore[union-attr]


async def test_definition_outline_folding(client: LanguageClient, editor: Editor, tmp_path: Path) -> None:
    uri = uri_of(editor)
    locations = await client.text_document_definition_async(
        types.DefinitionParams(doc_id(editor), editor.position_of(uri, "__colour__", 4))
    )
    assert (
        isinstance(locations, list) and locations[0].uri == (tmp_path / "wildcards" / "colour.txt").as_uri()
    )
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(doc_id(editor)))
    assert symbols is not None
    names = [s.name for s in symbols]  # type: ignore[union-attr]
    assert names == ["front matter", "Characters", "Midjourney"]
    characters = symbols[1]
    assert isinstance(characters, types.DocumentSymbol) and characters.children is not None
    assert [c.name for c in characters.children] == ["knight", "typo"]
    folds = await client.text_document_folding_range_async(types.FoldingRangeParams(doc_id(editor)))
    assert folds is not None and any(f.start_line == 0 and f.end_line == 3 for f in folds)


async def test_configuration_changes_apply_and_bad_values_fall_back(
    client: LanguageClient, editor: Editor
) -> None:
    uri = uri_of(editor)
    client.set_configuration({"target": "flux", "variations": "lots"}, section="promptCanvas")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    for _ in range(50):
        if any("invalid settings" in m.message for m in client.messages):
            break
        await asyncio.sleep(0.05)
    assert any("'variations'" in m.message and "using 4" in m.message for m in client.messages)
    # A file without a front-matter target now gets the configured one.
    other = uri.replace("lib.prompt", "plain.prompt")
    editor.open(other, "## fox\na fox in the snow\n")
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    cursor = types.Position(1, 2)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(other),
            types.Range(cursor, cursor),
            types.CodeActionContext(diagnostics=[]),
        )
    )
    assert actions is not None
    assert actions[0].title == "Expand entry into a full image prompt (Flux)"
    assert any(a.title == "Generate 4 variations" for a in actions)


async def test_unknown_documents_and_big_files(client: LanguageClient, editor: Editor) -> None:
    nowhere = types.TextDocumentIdentifier("file:///not/open.prompt")
    assert await client.text_document_hover_async(types.HoverParams(nowhere, types.Position(0, 0))) is None
    assert (
        await client.text_document_code_action_async(
            types.CodeActionParams(
                nowhere,
                types.Range(types.Position(0, 0), types.Position(0, 0)),
                types.CodeActionContext(diagnostics=[]),
            )
        )
        is None
    )
    big = "".join(f"## entry {i}\na {{calm|wild}} sea number {i}, soft light\n\n" for i in range(90_000))
    assert len(big.encode()) > 5_000_000
    uri = uri_of(editor).replace("lib.prompt", "big.prompt")
    editor.open(uri, big)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []
    editor.type(uri, len(big), "## broken\n{oops\n")
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.code for d in client.diagnostics[uri]] == ["template-unclosed"]


def test_server_exits_when_its_client_dies(tmp_path: Path) -> None:
    """LSP processId: when the editor process is gone, the server exits by itself."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    server = subprocess.Popen(
        [sys.executable, "-m", "prompt_canvas", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    import json

    def send(payload: dict) -> None:  # type: ignore[type-arg]
        body = json.dumps(payload).encode()
        assert server.stdin is not None
        server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        server.stdin.flush()

    send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": parent.pid, "capabilities": {}, "rootUri": None},
        }
    )
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    try:
        code = server.wait(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
    assert code == 0
    assert os.environ is not None
