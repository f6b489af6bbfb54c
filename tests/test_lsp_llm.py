"""The LLM backend through a real language-server session (stdio) and a real local OpenAI-compatible server.

Expand and variations with streaming progress, the API key handed over at run
time, front-matter model, cache and clear-cache, fallback, every error as one
message and no edit, and a slow answer racing the user's typing.
"""

from __future__ import annotations

import asyncio
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

CACHE = tempfile.mkdtemp(prefix="prompt-canvas-lsp-cache-")
CONFIG = isolated_server(CACHE)
SECRET = "sk-lsp-SECRET-9876543210"

TEXT = """---
target: dalle
variations: 3
---
## beach
beach sunset

## fox
a fox in the snow
"""


@pytest.fixture(scope="module")
def llm() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(llm: OpenAICompatibleServer) -> None:
    llm.reset()
    llm.latency = llm.chunk_delay = 0.0
    llm.api_key = None
    llm.json_schema = llm.n = "ok"


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    yield
    await end_session(lsp_client)


def options(llm: OpenAICompatibleServer, **extra: Any) -> dict[str, Any]:
    return {
        "diagnosticsDelay": 0,
        "backend": "openai",
        "baseUrl": llm.url,
        "model": "test-model",
        "cache": False,
        **extra,
    }


async def open_library(
    client: LanguageClient, tmp_path: Path, opts: dict[str, Any], text: str = TEXT
) -> Editor:
    editor = await start(client, options=opts)
    uri = (tmp_path / "library.prompt").as_uri()
    (tmp_path / "library.prompt").write_text(text)
    editor.open(uri, text)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return editor


def uri_of(editor: Editor) -> str:
    return next(iter(editor.docs))


def rng(editor: Editor, needle: str) -> dict[str, Any]:
    r = editor.range_of(uri_of(editor), needle)
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


async def run(client: LanguageClient, command: str, *arguments: object) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))
    )
    assert isinstance(result, dict)
    return result


def errors(client: LanguageClient) -> list[str]:
    return [m.message for m in client.messages if m.type == types.MessageType.Error]


def everything_said(client: LanguageClient) -> str:
    said = [m.message for m in client.messages] + [m.message for m in client.log_messages]
    for reports in client.progress_reports.values():
        said += [str(r) for r in reports]
    return "\n".join(said)


async def test_expand_streams_progress_and_applies_once(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    llm.chunk_delay = 0.03
    editor = await open_library(client, tmp_path, options(llm))
    uri = uri_of(editor)
    result = await run(client, "promptCanvas.expand", uri, rng(editor, "beach sunset"))
    assert result["applied"] and result["backend"] == "openai"
    assert editor.docs[uri].text == TEXT.replace("beach sunset", result["prompt"], 1)
    assert len(editor.applied) == 1
    (token,) = editor.progress_tokens
    reports = client.progress_reports[token]
    begin = reports[0]
    assert (
        isinstance(begin, types.WorkDoneProgressBegin)
        and begin.title == "Expanding prompt (openai · test-model)"
    )
    partial = [
        r.message
        for r in reports
        if isinstance(r, types.WorkDoneProgressReport)
        and r.message
        and r.message.startswith(("A detailed", "…"))
    ]
    assert len(partial) >= 2  # the text grew in the progress message as it streamed
    assert isinstance(reports[-1], types.WorkDoneProgressEnd) and reports[-1].message == "done"


async def test_code_action_titles_name_the_model(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor = await open_library(client, tmp_path, options(llm))
    uri = uri_of(editor)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=editor.range_of(uri, "beach sunset"),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    titles = [a.title for a in actions or []]
    assert "Expand selection into a full image prompt (DALL-E / gpt-image · test-model)" in titles
    assert llm.requests == []  # listing actions asks the server nothing


async def test_variations_one_round_trip(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor = await open_library(client, tmp_path, options(llm))
    uri = uri_of(editor)
    result = await run(client, "promptCanvas.vary", uri, rng(editor, "a fox in the snow"), {})
    assert result["applied"] and len(result["variations"]) == 3
    for i, variation in enumerate(result["variations"], start=1):
        assert f"## fox · v{i}\n{variation}\n" in editor.docs[uri].text
    (request,) = llm.chat_requests
    assert request.body["response_format"]["type"] == "json_schema"


async def test_front_matter_model_wins(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    text = TEXT.replace("target: dalle", "target: dalle\nmodel: llama3.2")
    editor = await open_library(client, tmp_path, options(llm), text)
    result = await run(client, "promptCanvas.expand", uri_of(editor), rng(editor, "beach sunset"))
    assert result["applied"]
    assert llm.chat_requests[0].body["model"] == "llama3.2"


async def test_api_key_given_at_run_time_is_used_and_never_echoed(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    llm.api_key = SECRET
    editor = await open_library(client, tmp_path, options(llm))
    uri = uri_of(editor)
    result = await run(client, "promptCanvas.expand", uri, rng(editor, "beach sunset"))
    assert result["applied"] is False and editor.docs[uri].text == TEXT
    assert any("no API key is set" in e and "Set API Key" in e for e in errors(client))

    client.protocol.notify("promptCanvas/setApiKey", {"apiKey": SECRET})
    result = await run(client, "promptCanvas.expand", uri, rng(editor, "beach sunset"))
    assert result["applied"]
    assert llm.chat_requests[-1].headers["authorization"] == f"Bearer {SECRET}"

    client.protocol.notify("promptCanvas/setApiKey", {"apiKey": None})
    result = await run(client, "promptCanvas.expand", uri, rng(editor, "a fox in the snow"))
    assert result["applied"] is False
    assert SECRET not in everything_said(client)
    assert all(SECRET not in f.read_text() for f in Path(CACHE).rglob("*.json"))


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.status_code(401), "no API key is set and this server needs one"),
        (Fault.content_filter(), "refused this request (content policy)"),
        (Fault.garbage(), "is not a valid chat completion"),
        (Fault.empty(), "returned an empty answer"),
    ],
)
async def test_errors_are_one_message_and_no_edit(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path, fault: Fault, message: str
) -> None:
    editor = await open_library(client, tmp_path, options(llm))
    uri = uri_of(editor)
    llm.faults.append(fault)
    result = await run(client, "promptCanvas.expand", uri, rng(editor, "beach sunset"))
    assert result["applied"] is False and message in result["error"]
    (shown,) = errors(client)
    assert shown.startswith("Prompt Canvas: Expand: ") and message in shown
    assert editor.applied == [] and editor.docs[uri].text == TEXT


async def test_unknown_model_and_dead_server(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor = await open_library(client, tmp_path, options(llm, model="gpt-9"))
    uri = uri_of(editor)
    result = await run(client, "promptCanvas.vary", uri, rng(editor, "a fox in the snow"), {})
    assert (
        "model 'gpt-9' was not found" in result["error"]
        and "available: llama3.2, test-model" in result["error"]
    )
    client.set_configuration(options(llm, baseUrl="http://127.0.0.1:9/v1"), section="promptCanvas")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await asyncio.sleep(0.3)
    result = await run(client, "promptCanvas.expand", uri, rng(editor, "beach sunset"))
    assert "cannot connect to http://127.0.0.1:9/v1 (connection refused)" in result["error"]
    assert editor.applied == [] and editor.docs[uri].text == TEXT


async def test_rate_limit_is_retried_with_progress(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor = await open_library(client, tmp_path, options(llm))
    llm.faults.append(Fault.status_code(429, retry_after=0.2))
    result = await run(client, "promptCanvas.expand", uri_of(editor), rng(editor, "beach sunset"))
    assert result["applied"]
    assert "rate limited; retrying in 0.2 s (attempt 2 of 3)" in everything_said(client)


async def test_fallback_to_offline_is_announced(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    opts = options(llm, baseUrl="http://127.0.0.1:9/v1", fallbackToOffline=True)
    editor = await open_library(client, tmp_path, opts)
    result = await run(client, "promptCanvas.expand", uri_of(editor), rng(editor, "beach sunset"))
    assert result["applied"] and result["backend"] == "offline"
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("connection refused" in w and "Expanded offline instead" in w for w in warnings)


async def test_cache_and_clear_cache(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    editor = await open_library(client, tmp_path, options(llm, cache=True))
    uri = uri_of(editor)
    await run(client, "promptCanvas.clearCache")
    first = await run(client, "promptCanvas.vary", uri, rng(editor, "a fox in the snow"), {"apply": False})
    await run(client, "promptCanvas.pickVariation", uri, rng(editor, "a fox in the snow"), {"apply": False})
    assert len(llm.chat_requests) == 1  # the second came from the cache
    cleared = await run(client, "promptCanvas.clearCache")
    assert cleared["removed"] == 1 and cleared["folder"].startswith(CACHE)
    second = await run(client, "promptCanvas.vary", uri, rng(editor, "beach sunset"), {})
    assert second["applied"] and first["applied"]
    assert len(llm.chat_requests) == 2


async def test_slow_answer_racing_an_edit_elsewhere_is_reanchored(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    llm.latency = 0.8
    editor = await open_library(client, tmp_path, options(llm))
    uri = uri_of(editor)

    async def type_while_waiting(token: object) -> None:
        await asyncio.sleep(0)  # the request is under way once the progress begins
        editor.type(uri, 0, "// a note typed during the request\n")

    editor.before_progress = type_while_waiting
    result = await run(client, "promptCanvas.expand", uri, rng(editor, "beach sunset"))
    assert result["applied"]
    text = editor.docs[uri].text
    assert text.startswith("// a note typed during the request\n---")
    assert f"## beach\n{result['prompt']}\n" in text


async def test_slow_answer_racing_an_edit_of_the_phrase_changes_nothing(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    llm.latency = 0.8
    editor = await open_library(client, tmp_path, options(llm))
    uri = uri_of(editor)

    def retype(token: object) -> None:
        editor.type(uri, editor.docs[uri].text.index("sunset"), "at ")

    editor.before_progress = retype
    result = await run(client, "promptCanvas.expand", uri, rng(editor, "beach sunset"))
    assert result["applied"] is False
    assert "beach at sunset" in editor.docs[uri].text and editor.applied == []
    assert any(result["prompt"] in m.message for m in client.log_messages)  # the answer is not lost


async def test_cancel_stops_the_request_on_the_wire(
    client: LanguageClient, llm: OpenAICompatibleServer, tmp_path: Path
) -> None:
    llm.latency = 10
    editor = await open_library(client, tmp_path, options(llm))
    uri = uri_of(editor)
    params = types.ExecuteCommandParams(
        command="promptCanvas.expand", arguments=[uri, rng(editor, "beach sunset"), {}]
    )
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="slow-1")
    )
    for _ in range(250):
        await asyncio.sleep(0.02)
        if llm.chat_requests:
            break
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="slow-1"))
    with pytest.raises(Exception, match="cancelled"):
        await pending
    for _ in range(250):
        if llm.disconnects:
            break
        await asyncio.sleep(0.02)
    assert llm.disconnects == 1  # the HTTP request was abandoned, not left running
    assert editor.applied == [] and editor.docs[uri].text == TEXT
