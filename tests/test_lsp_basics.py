"""The language server end to end over stdio (pytest-lsp): diagnostics, actions, commands."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_editor import SERVER, Editor, start

URI = "file:///tmp/prompt-canvas-tests/library.prompt"
TEXT = """---
target: dalle
seed: 2
---
# Coast
## beach sunset
beach sunset

## fox
a fox in the snow, {calm|alert}
"""


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    yield


@pytest.fixture
async def editor(client: LanguageClient) -> Editor:
    ed = await start(client)
    yield ed
    await client.shutdown_session()


async def diagnostics_for(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client.diagnostics.get(uri, [])


async def test_diagnostics_on_open_and_change(client: LanguageClient, editor: Editor) -> None:
    editor.open(URI, TEXT + "\n## bad\nan {unclosed choice\n")
    found = await diagnostics_for(client, URI)
    assert [d.code for d in found] == ["template-unclosed"]
    assert found[0].range.start.line == 12 and found[0].range.start.character == 3
    editor.type(URI, editor.docs[URI].text.index("unclosed choice") + len("unclosed choice"), "}")
    found = await diagnostics_for(client, URI)
    assert list(found) == []


async def test_listing_actions_computes_nothing(client: LanguageClient, editor: Editor) -> None:
    editor.open(URI, TEXT)
    await diagnostics_for(client, URI)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=editor.range_of(URI, "beach sunset\n\n## fox"),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert actions is not None
    titles = [a.title for a in actions]
    assert titles[0].startswith("Expand selection into a full image prompt")
    assert all(isinstance(a, types.CodeAction) and a.edit is None for a in actions)


async def test_expand_entry_replaces_it(client: LanguageClient, editor: Editor) -> None:
    editor.open(URI, TEXT)
    await diagnostics_for(client, URI)
    cursor = editor.position_of(URI, "beach sunset\n\n", 3)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=types.Range(cursor, cursor),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert actions
    expand = next(
        a for a in actions if isinstance(a, types.CodeAction) and a.title.startswith("Expand entry")
    )
    assert expand.command is not None
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=expand.command.command, arguments=expand.command.arguments)
    )
    assert result["applied"] is True
    text = editor.docs[URI].text
    assert result["prompt"] in text
    assert "## beach sunset\n" + result["prompt"] + "\n" in text
    assert "a fox in the snow, {calm|alert}" in text


@pytest.mark.parametrize("profile", ["neovim@v0.7.0", "neovim@v0.11.0", "emacs@v29.1"])
async def test_expand_under_other_client_profiles(client: LanguageClient, profile: str) -> None:
    """Capabilities differ per editor (progress, resolve, encodings): the flow holds for each."""
    editor = await start(client, spec=profile)
    editor.open(URI, TEXT)
    await diagnostics_for(client, URI)
    phrase = editor.position_of(URI, "beach sunset\n\n")  # the entry line, not the heading
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="promptCanvas.expand",
            arguments=[URI, types.Range(phrase, types.Position(phrase.line, phrase.character + 12)), {}],
        )
    )
    try:
        assert result["applied"] is True
        assert "## beach sunset\n" + result["prompt"] + "\n\n## fox" in editor.docs[URI].text
    finally:
        await client.shutdown_session()
