"""Expand, variations and pick-a-variation through a real stdio session: edits, races, cancel, bad params."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from lsp_editor import SERVER, Editor, start

TEXT = """---
target: dalle
seed: 2
variations: 3
---
# Coast
## beach sunset
beach sunset

## fox
a fox in the snow
negative: blurry

## colours
a {red|blue|green} door
"""


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    yield


@pytest.fixture
async def editor(client: LanguageClient, tmp_path: Path) -> Editor:
    ed = await start(client)
    ed.uri = (tmp_path / "library.prompt").as_uri()  # type: ignore[attr-defined]
    (tmp_path / "library.prompt").write_text(TEXT)
    ed.open(ed.uri, TEXT)  # type: ignore[attr-defined]
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    yield ed
    await client.shutdown_session()


def uri_of(editor: Editor) -> str:
    return editor.uri  # type: ignore[attr-defined,no-any-return]


async def run(client: LanguageClient, command: str, *arguments: object) -> dict:  # type: ignore[type-arg]
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))
    )
    assert isinstance(result, dict)
    return result


def rng(editor: Editor, needle: str) -> dict:  # type: ignore[type-arg]
    r = editor.range_of(uri_of(editor), needle)
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


async def test_expand_selection_keeps_everything_else(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    result = await run(
        client, "promptCanvas.expand", uri, rng(editor, "a fox in the snow"), {"target": "flux"}
    )
    assert result["applied"] and result["target"] == "flux"
    text = editor.docs[uri].text
    assert text == TEXT.replace("a fox in the snow", result["prompt"])
    assert "fox in the snow" in result["prompt"]
    # Progress was reported and ended.
    (token,) = editor.progress_tokens
    kinds = [type(r).__name__ for r in client.progress_reports[token]]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"


async def test_expand_entry_for_sdxl_adds_a_negative(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    empty = editor.range_of(uri, "beach sunset\n\n")
    cursor = {
        "start": {"line": empty.start.line, "character": 2},
        "end": {"line": empty.start.line, "character": 2},
    }
    result = await run(client, "promptCanvas.expand", uri, cursor, {"target": "sdxl"})
    assert result["applied"] and result["negative"]
    assert f"## beach sunset\n{result['prompt']}\nnegative: {result['negative']}\n" in editor.docs[uri].text


async def test_typing_elsewhere_during_expansion_is_kept_and_edit_reanchored(
    client: LanguageClient, editor: Editor
) -> None:
    uri = uri_of(editor)
    target = rng(editor, "a fox in the snow")

    def type_above(token: object) -> None:
        editor.type(uri, editor.docs[uri].text.index("# Coast"), "// typed while expanding\n")

    editor.before_progress = type_above
    result = await run(client, "promptCanvas.expand", uri, target)
    assert result["applied"]
    text = editor.docs[uri].text
    assert "// typed while expanding\n# Coast" in text
    assert result["prompt"] in text and "a fox in the snow\nnegative" not in text


async def test_typing_in_the_target_text_cancels_the_edit(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    target = rng(editor, "a fox in the snow")

    def type_inside(token: object) -> None:
        editor.type(uri, editor.docs[uri].text.index("in the snow"), "sleeping ")

    editor.before_progress = type_inside
    result = await run(client, "promptCanvas.expand", uri, target)
    assert result["applied"] is False
    assert "a fox sleeping in the snow" in editor.docs[uri].text  # the user's words are intact
    assert any("changed while Prompt Canvas was working" in m.message for m in client.messages)
    assert any(result["prompt"] in m.message for m in client.log_messages)


async def test_a_refused_stale_edit_is_retried_against_the_new_version(
    client: LanguageClient, editor: Editor
) -> None:
    uri = uri_of(editor)

    def keystroke() -> None:  # lands between the server's edit and the editor applying it
        editor.type(uri, 0, "")
        editor.type(uri, len(editor.docs[uri].text), "\n// a late keystroke\n")

    editor.before_apply = keystroke
    result = await run(client, "promptCanvas.expand", uri, rng(editor, "a fox in the snow"))
    assert result["applied"]
    assert editor.refused == [uri]
    assert editor.docs[uri].text.endswith("// a late keystroke\n")
    assert result["prompt"] in editor.docs[uri].text


async def test_cancel_request_stops_the_command(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    release = asyncio.Event()

    async def hold(token: object) -> None:
        await release.wait()

    editor.before_progress = hold
    params = types.ExecuteCommandParams(
        command="promptCanvas.expand", arguments=[uri, rng(editor, "a fox in the snow"), {}]
    )
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="expand-1")
    )
    await asyncio.sleep(0.3)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="expand-1"))
    with pytest.raises(JsonRpcException) as raised:
        await pending
    assert "cancelled" in str(raised.value)
    release.set()
    await asyncio.sleep(0.3)
    # A round trip after the cancel: nothing was applied.
    await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(0, 0))
    )
    assert editor.applied == [] and editor.docs[uri].text == TEXT


async def test_generate_variations_inserts_named_blocks(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    result = await run(client, "promptCanvas.vary", uri, rng(editor, "a fox in the snow"), {})
    assert result["applied"] and len(result["variations"]) == 3
    text = editor.docs[uri].text
    for i, variation in enumerate(result["variations"], start=1):
        assert f"## fox · v{i}\n{variation}\n" in text
    # The original entry and its negative line are untouched and still first.
    assert text.index("a fox in the snow\nnegative: blurry") < text.index("## fox · v1")


async def test_template_variations_list_all_combinations(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    result = await run(client, "promptCanvas.vary", uri, rng(editor, "a {red|blue|green} door"), {"count": 5})
    assert sorted(result["variations"]) == ["a blue door", "a green door", "a red door"]


async def test_pick_a_variation(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    editor.message_choice = 1
    result = await run(client, "promptCanvas.pickVariation", uri, rng(editor, "a fox in the snow"), {})
    assert result["applied"] and result["choice"] == 1
    (request,) = editor.message_requests
    assert request.actions is not None and len(request.actions) == 3
    assert result["variations"][1] in editor.docs[uri].text


async def test_progress_cancel_button_stops_the_command(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    editor.cancel_on_message = True
    result = await run(client, "promptCanvas.pickVariation", uri, rng(editor, "a fox in the snow"), {})
    assert result == {"applied": False, "cancelled": True}
    assert editor.applied == [] and editor.docs[uri].text == TEXT
    ends = [
        r
        for r in client.progress_reports[editor.progress_tokens[-1]]
        if isinstance(r, types.WorkDoneProgressEnd)
    ]
    assert [e.message for e in ends] == ["cancelled"]


async def test_pick_a_variation_the_client_already_showed(client: LanguageClient, editor: Editor) -> None:
    """VS Code lists the variations in its own QuickPick, then names the chosen text (no regeneration)."""
    uri = uri_of(editor)
    listed = await run(
        client, "promptCanvas.pickVariation", uri, rng(editor, "a fox in the snow"), {"apply": False}
    )
    chosen = listed["variations"][2]
    result = await run(
        client, "promptCanvas.pickVariation", uri, rng(editor, "a fox in the snow"), {"variation": chosen}
    )
    assert result["applied"] and editor.message_requests == []
    assert editor.docs[uri].text == TEXT.replace("a fox in the snow", chosen, 1)
    with pytest.raises(JsonRpcException, match="'variation' must be the non-empty text"):
        await run(client, "promptCanvas.pickVariation", uri, rng(editor, chosen), {"variation": "  "})


async def test_pick_dismissed_changes_nothing(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    editor.message_choice = None
    result = await run(client, "promptCanvas.pickVariation", uri, rng(editor, "a fox in the snow"), {})
    assert result["applied"] is False and editor.docs[uri].text == TEXT


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        [
            "file:///nope.prompt",
            {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            {},
        ],
        ["URI", "not a range", {}],
        ["URI", {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "options"],
        ["URI", {"start": {"line": 7, "character": 1}, "end": {"line": 7, "character": 1}}, {"count": 0}],
        ["URI", {"start": {"line": 7, "character": 1}, "end": {"line": 7, "character": 1}}, {"target": "x"}],
        ["URI", {"start": {"line": 7, "character": 1}, "end": {"line": 7, "character": 1}}, {}, "extra"],
    ],
)
async def test_bad_params_are_error_responses(
    client: LanguageClient, editor: Editor, arguments: list
) -> None:  # type: ignore[type-arg]
    arguments = [uri_of(editor) if a == "URI" else a for a in arguments]
    command = (
        "promptCanvas.vary"
        if arguments and isinstance(arguments[-1], dict) and "count" in arguments[-1]
        else ("promptCanvas.expand")
    )
    with pytest.raises(JsonRpcException):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=arguments)
        )
    # The server is still fine.
    result = await run(client, "promptCanvas.expand", uri_of(editor), rng(editor, "beach sunset"))
    assert result["applied"]


async def test_expand_outside_any_entry_says_so(client: LanguageClient, editor: Editor) -> None:
    uri = uri_of(editor)
    top = {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}
    result = await run(client, "promptCanvas.expand", uri, top)
    assert result["applied"] is False and "cursor in an entry" in result["error"]
    assert editor.docs[uri].text == TEXT
