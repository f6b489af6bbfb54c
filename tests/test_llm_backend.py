"""The OpenAI-compatible backend, end to end over HTTP: the real ``openai`` client and a real local server.

Through the CLI (in-process and as a subprocess) and the core engine. Only
``asyncio.sleep`` between retries is replaced (to record the waits instead of
spending them); everything else is real.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import cli_command
from openai_compatible_server import Fault, OpenAICompatibleServer
from prompt_canvas.backends import choose_backend
from prompt_canvas.cache import ResultCache
from prompt_canvas.cli import main
from prompt_canvas.engine import Engine
from prompt_canvas.expanders.base import ExpandRequest
from prompt_canvas.expanders.openai_backend import LLMConfig, LLMError, OpenAIExpander
from prompt_canvas.settings import Settings

SECRET = "sk-test-SECRET-0123456789"


@pytest.fixture(scope="module")
def llm() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(llm: OpenAICompatibleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    llm.reset()
    llm.latency = llm.chunk_delay = 0.0
    llm.api_key = None
    llm.json_schema = llm.n = "ok"
    monkeypatch.setenv("PROMPT_CANVAS_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PROMPT_CANVAS_BACKEND", "PROMPT_CANVAS_MODEL"):
        monkeypatch.delenv(name, raising=False)


def cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def llm_args(server: OpenAICompatibleServer, model: str = "test-model") -> list[str]:
    return ["--backend", "openai", "--model", model, "--base-url", server.url]


# -- expand ------------------------------------------------------------------------------


def test_expand_through_the_server(llm: OpenAICompatibleServer) -> None:
    code, out, err = cli("expand", *llm_args(llm), "--format", "json", "beach sunset")
    assert code == 0, err
    row = json.loads(out)
    assert row["backend"] == "openai" and row["note"] is None
    assert row["prompt"].startswith("A detailed image of beach sunset, bathed in warm")
    (request,) = llm.chat_requests
    body = request.body
    assert body["model"] == "test-model" and "stream" not in body  # nobody watches a batch: whole answers
    system, user = body["messages"]
    assert "prompt generator" in system["content"] and "DALL-E" in system["content"]
    assert user["content"] == "Idea: beach sunset"
    assert request.headers["authorization"] == "Bearer no-key"  # a local server needs no key


def test_expand_sends_file_context_and_shapes_each_target(llm: OpenAICompatibleServer) -> None:
    code, out, err = cli(
        "expand",
        *llm_args(llm),
        "-t",
        "midjourney",
        "--style",
        "ukiyo-e print",
        "--negative",
        "text, frame",
        "--params",
        "--ar 16:9 --v 7",
        "koi pond",
    )
    assert code == 0, err
    assert out.strip().endswith("--ar 16:9 --v 7 --no text, frame")
    user = llm.chat_requests[-1].body["messages"][1]["content"]
    assert "Style of the whole library (weave it in): ukiyo-e print" in user
    assert "Leave out (negative prompt, do not mention these): text, frame" in user
    code, out, _ = cli("expand", *llm_args(llm), "-t", "sdxl", "--format", "json", "koi pond")
    row = json.loads(out)
    assert row["negative"] == "blurry, low quality, watermark"  # the model's "Negative prompt:" line
    assert "Negative prompt" not in row["prompt"]


@pytest.mark.parametrize(
    "reply",
    [
        'Sure! Here is your prompt:\n\n"Beach sunset over a calm sea, golden light, gulls."\n\nLet me know!',
        "```\nBeach sunset over a calm sea, golden light, gulls.\n```",
        "<think>ok</think>**Prompt:** Beach sunset over a calm sea, golden light, gulls.",
    ],
)
def test_answers_are_cleaned(llm: OpenAICompatibleServer, reply: str) -> None:
    llm.replies.append(reply)
    code, out, err = cli("expand", *llm_args(llm), "beach sunset")
    assert code == 0, err
    assert out == "Beach sunset over a calm sea, golden light, gulls.\n"


def test_a_lost_word_is_asked_for_again(llm: OpenAICompatibleServer) -> None:
    llm.replies.extend(["A beach at dusk, golden light.", "A beach at sunset, golden light."])
    code, out, _err = cli("expand", *llm_args(llm), "beach sunset")
    assert code == 0 and out == "A beach at sunset, golden light.\n"
    assert len(llm.chat_requests) == 2
    assert "left out 'sunset'" in llm.chat_requests[1].body["messages"][1]["content"]


def test_a_word_lost_twice_keeps_the_phrase_in_front(llm: OpenAICompatibleServer) -> None:
    llm.replies.extend(["A beach at dusk, golden light.", "A shore at dusk."])
    code, out, err = cli("expand", *llm_args(llm), "beach sunset")
    assert code == 0 and out == "Beach sunset. A beach at dusk, golden light.\n"
    assert "left out sunset" in err


def test_batch_expand_keeps_order_with_bounded_concurrency(llm: OpenAICompatibleServer) -> None:
    llm.latency = 0.05
    phrases = [f"lighthouse number {i}" for i in range(12)]
    code, out, err = cli(
        "expand", *llm_args(llm), "-j", "4", stdin="\n".join([*phrases[:6], "", *phrases[6:]])
    )
    assert code == 0, err
    lines = out.split("\n")[:-1]
    assert len(lines) == 13 and lines[6] == ""
    for phrase, line in zip(phrases, lines[:6] + lines[7:], strict=True):
        assert f"of {phrase}," in line


def test_subprocess_cli_talks_to_the_server(llm: OpenAICompatibleServer, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PROMPT_CANVAS_CACHE_DIR": str(tmp_path / "c"),
        "PROMPT_CANVAS_BACKEND": "openai",
        "PROMPT_CANVAS_BASE_URL": llm.url,
        "PROMPT_CANVAS_MODEL": "llama3.2",
    }
    result = subprocess.run(
        [*cli_command(), "expand", "red fox"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("A detailed image of red fox")
    assert llm.chat_requests[-1].body["model"] == "llama3.2"


# -- variations ------------------------------------------------------------------------


def test_variations_in_one_round_trip_with_json_schema(llm: OpenAICompatibleServer) -> None:
    code, out, err = cli("vary", *llm_args(llm), "-n", "4", "--format", "json", "a fox in the snow")
    assert code == 0, err
    row = json.loads(out)
    assert len(row["variations"]) == 4 and len(set(row["variations"])) == 4
    (request,) = llm.chat_requests
    assert request.body["response_format"]["type"] == "json_schema"


def test_variations_fall_back_to_n_then_to_concurrent_requests(llm: OpenAICompatibleServer) -> None:
    llm.json_schema = "reject"
    code, out, _ = cli("vary", *llm_args(llm), "-n", "3", "--format", "json", "a fox in the snow")
    assert code == 0 and len(json.loads(out)["variations"]) == 3
    assert [r.body.get("n") for r in llm.chat_requests] == [None, 3]  # schema refused, then n
    llm.reset()
    llm.n = "ignore"
    code, out, _ = cli("vary", *llm_args(llm), "-n", "3", "--format", "json", "a hare in the snow")
    variations = json.loads(out)["variations"]
    assert code == 0 and len(variations) == 3 and len(set(variations)) == 3
    # schema refused, n ignored (one choice), then two concurrent single requests
    assert [r.body.get("n") for r in llm.chat_requests] == [None, 3, None, None]


def test_duplicate_variations_are_removed(llm: OpenAICompatibleServer) -> None:
    llm.json_schema = "ignore"
    same = "a fox in the snow, at dawn"
    # Schema ignored -> n=3 (three equal choices) -> 2 concurrent (one repeat) -> 1 more.
    llm.replies.extend(["not a list", same, same, "a fox in the snow, at dusk", "a fox, in fog"])
    code, out, err = cli("vary", *llm_args(llm), "-n", "3", "--format", "json", "a fox in the snow")
    assert code == 0, err
    variations = json.loads(out)["variations"]
    assert variations == [same, "a fox in the snow, at dusk", "a fox, in fog"]
    assert len(llm.chat_requests) == 5


def test_a_model_that_keeps_repeating_itself_gives_fewer_and_says_so(llm: OpenAICompatibleServer) -> None:
    llm.replies.extend(['{"variations": ["a fox, at dawn", "A fox, at dawn."]}'] + ["a fox, at dawn"] * 6)
    code, out, err = cli("vary", *llm_args(llm), "-n", "3", "a hare")
    assert code == 0 and out == "a fox, at dawn\n"
    assert "1 distinct variations of the 3 asked for" in err


def test_template_variations_stay_local(llm: OpenAICompatibleServer) -> None:
    code, out, _ = cli("vary", *llm_args(llm), "-n", "5", "a {red|blue} door")
    assert code == 0 and sorted(out.splitlines()) == ["a blue door", "a red door"]
    assert llm.chat_requests == []


def test_front_matter_model_is_used_for_a_file(llm: OpenAICompatibleServer, tmp_path: Path) -> None:
    library = tmp_path / "lib.prompt"
    library.write_text(
        "---\nbackend: openai\nmodel: llama3.2\nvariations: 2\n---\n## fox\na fox in the snow\n"
    )
    code, out, err = cli("vary", "--base-url", llm.url, str(library))
    assert code == 0, err
    assert llm.chat_requests[0].body["model"] == "llama3.2"
    assert len(out.strip().splitlines()) == 3  # heading + 2 variations


def test_midjourney_params_stay_last_in_variations(llm: OpenAICompatibleServer) -> None:
    code, out, _ = cli("vary", *llm_args(llm), "-t", "mj", "-n", "2", "a koi pond, ink --ar 3:2 --v 7")
    assert code == 0
    assert all(line.endswith("--ar 3:2 --v 7") for line in out.splitlines())
    assert "--ar" not in llm.chat_requests[0].body["messages"][1]["content"]


# -- cache -------------------------------------------------------------------------------


def test_cache_answers_repeats_with_no_request(llm: OpenAICompatibleServer, tmp_path: Path) -> None:
    first = cli("expand", *llm_args(llm), "beach sunset")
    second = cli("expand", *llm_args(llm), "beach sunset")
    assert first == second and len(llm.chat_requests) == 1
    cli("vary", *llm_args(llm), "-n", "2", "a fox")
    cli("vary", *llm_args(llm), "-n", "2", "a fox")
    assert len(llm.chat_requests) == 2
    # Another seed, model or target is another question.
    cli("expand", *llm_args(llm), "--seed", "3", "beach sunset")
    cli("expand", *llm_args(llm, "llama3.2"), "beach sunset")
    assert len(llm.chat_requests) == 4
    cli("expand", *llm_args(llm), "--no-cache", "beach sunset")
    assert len(llm.chat_requests) == 5
    code, out, _ = cli("cache", "info")
    assert code == 0 and "4 cached answers" in out
    code, out, _ = cli("cache", "clear")
    assert code == 0 and out.startswith("removed 4 cached answers")
    cli("expand", *llm_args(llm), "beach sunset")
    assert len(llm.chat_requests) == 6


# -- keys ----------------------------------------------------------------------------------


def test_key_from_the_environment_is_sent_and_never_shown_or_stored(
    llm: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    llm.api_key = SECRET
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    code, out, err = cli("expand", *llm_args(llm), "--format", "json", "beach sunset")
    assert code == 0, err
    assert llm.chat_requests[-1].headers.get("authorization") == f"Bearer {SECRET}"
    monkeypatch.setenv("OPENAI_API_KEY", SECRET + "-wrong")
    code, out, err = cli("expand", *llm_args(llm), "red fox")
    assert code == 2 and out == ""
    assert "answered 401: the API key was rejected" in err and "OPENAI_API_KEY" in err
    assert SECRET not in err
    for file in (tmp_path / "cache").rglob("*"):
        if file.is_file():
            assert SECRET not in file.read_text()


def test_a_local_server_needs_no_key(llm: OpenAICompatibleServer) -> None:
    code, _, err = cli("expand", *llm_args(llm), "beach sunset")
    assert code == 0, err


def test_openai_without_a_key_says_how_to_set_one() -> None:
    code, out, err = cli("expand", "--backend", "openai", "beach sunset")
    assert code == 2 and out == ""
    assert "no API key for https://api.openai.com/v1" in err and "OPENAI_API_KEY" in err


# -- errors: one clear message each, nothing printed on stdout -----------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.status_code(401), "answered 401: no API key is set and this server needs one"),
        (Fault.status_code(400, code="content_policy_violation", message="unsafe"), "refused this request"),
        (Fault.content_filter(), "refused this request (content policy)"),
        (Fault.garbage(), "is not a valid chat completion"),
        (Fault.empty(), "returned an empty answer"),
        (
            Fault.status_code(429, code="insufficient_quota", message="You exceeded your quota"),
            "out of quota",
        ),
    ],
)
def test_errors_are_clear_and_final(llm: OpenAICompatibleServer, fault: Fault, message: str) -> None:
    llm.faults.append(fault)
    code, out, err = cli("expand", *llm_args(llm), "beach sunset")
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert len(llm.chat_requests) == 1  # none of these is retried


def test_unknown_model_is_named_with_the_ones_available(llm: OpenAICompatibleServer) -> None:
    code, _, err = cli("expand", *llm_args(llm, "gpt-9"), "beach sunset")
    assert code == 2
    assert "model 'gpt-9' was not found at" in err and "available: llama3.2, test-model" in err


def test_connection_refused_names_the_base_url() -> None:
    code, _, err = cli("expand", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "beach sunset")
    assert code == 2
    assert "cannot connect to http://127.0.0.1:9/v1 (connection refused)" in err
    assert "ollama serve" in err


def test_timeout_says_how_long_it_waited(llm: OpenAICompatibleServer) -> None:
    llm.faults.append(Fault.timeout(4))
    code, _, err = cli("expand", *llm_args(llm), "--timeout", "1", "beach sunset")
    assert code == 2 and "no answer from" in err and "within 1 s (timeout)" in err


@pytest.mark.parametrize(
    "fault",
    [Fault.status_code(500), Fault.drop(), Fault.status_code(429, retry_after=0)],
)
def test_transient_failures_are_retried(llm: OpenAICompatibleServer, fault: Fault) -> None:
    llm.faults.append(fault)
    code, out, err = cli("expand", *llm_args(llm), "beach sunset")
    assert code == 0, err
    assert out.startswith("A detailed image of beach sunset")
    assert len(llm.chat_requests) == 2


def test_server_errors_that_persist_are_reported_after_bounded_retries(llm: OpenAICompatibleServer) -> None:
    llm.faults.extend(Fault.status_code(503, retry_after=0) for _ in range(3))
    code, _, err = cli("expand", *llm_args(llm), "--max-retries", "2", "beach sunset")
    assert code == 2 and "failed (503: injected 503) and kept failing after retrying" in err
    assert len(llm.chat_requests) == 3


def test_fallback_to_offline_says_so() -> None:
    code, out, err = cli(
        "expand",
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--fallback-offline",
        "--format",
        "json",
        "beach sunset",
    )
    assert code == 0
    row = json.loads(out)
    assert row["backend"] == "offline" and "beach sunset" in row["prompt"]
    assert "connection refused" in row["note"] and "Expanded offline instead" in row["note"]
    assert "note:" in err


# -- retries honour Retry-After, bounded (the waits are recorded, not spent) -----------------


def _expander(server: OpenAICompatibleServer, waits: list[float], retries: int = 3) -> OpenAIExpander:
    async def record(seconds: float) -> None:
        waits.append(seconds)

    config = LLMConfig("test-model", server.url, max_retries=retries)
    return OpenAIExpander(config, sleep=record)


async def test_rate_limit_waits_as_long_as_retry_after_says(llm: OpenAICompatibleServer) -> None:
    waits: list[float] = []
    llm.faults.extend([Fault.status_code(429, retry_after=7), Fault.status_code(429, retry_after=2)])
    progress: list[str] = []
    expander = _expander(llm, waits)
    expansion = await expander.expand(ExpandRequest("beach sunset"), progress.append)
    await expander.aclose()
    assert waits == [7.0, 2.0]
    assert "rate limited; retrying in 7.0 s (attempt 2 of 4)" in progress
    assert "beach sunset" in expansion.prompt


async def test_rate_limit_backoff_is_bounded(llm: OpenAICompatibleServer) -> None:
    waits: list[float] = []
    llm.faults.extend(Fault.status_code(429) for _ in range(4))
    expander = _expander(llm, waits)
    with pytest.raises(LLMError, match=r"rate limited by .* still limited after retrying"):
        await expander.expand(ExpandRequest("beach sunset"))
    await expander.aclose()
    assert len(llm.chat_requests) == 4 and len(waits) == 3
    assert all(0 < w <= 8 for w in waits) and waits[0] < waits[2]  # exponential, capped


async def test_a_retry_after_beyond_the_bound_is_reported_not_waited(llm: OpenAICompatibleServer) -> None:
    waits: list[float] = []
    llm.faults.append(Fault.status_code(429, retry_after=600))
    expander = _expander(llm, waits)
    with pytest.raises(LLMError, match="asks to wait 600 s"):
        await expander.expand(ExpandRequest("beach sunset"))
    await expander.aclose()
    assert waits == [] and len(llm.chat_requests) == 1


async def test_streaming_reports_partial_text(llm: OpenAICompatibleServer) -> None:
    llm.chunk_delay = 0.03
    progress: list[str] = []
    expander = _expander(llm, [])
    expansion = await expander.expand(ExpandRequest("beach sunset"), progress.append)
    await expander.aclose()
    partial = [p for p in progress if p.startswith(("A detailed", "…"))]
    assert len(partial) >= 2 and len(set(partial)) == len(partial)
    assert expansion.prompt.startswith(partial[0].rstrip("…"))


async def test_a_stream_cut_midway_is_retried(llm: OpenAICompatibleServer) -> None:
    llm.faults.append(Fault.drop_midstream())
    progress: list[str] = []
    expander = _expander(llm, [])
    expansion = await expander.expand(ExpandRequest("beach sunset"), progress.append)
    await expander.aclose()
    assert expansion.prompt.startswith("A detailed image of beach sunset")
    assert len(llm.chat_requests) == 2 and all(r.body["stream"] for r in llm.chat_requests)
    assert any("connection lost; retrying" in p for p in progress)


async def test_cancelling_a_request_closes_the_connection(llm: OpenAICompatibleServer) -> None:
    llm.latency = 5
    engine = Engine(cache=ResultCache(Path(os.environ["PROMPT_CANVAS_CACHE_DIR"])))
    choice = choose_backend(Settings(backend="openai", base_url=llm.url, model="test-model"))
    task = asyncio.ensure_future(engine.expand(ExpandRequest("beach sunset"), choice))
    for _ in range(100):
        await asyncio.sleep(0.02)
        if llm.chat_requests:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if llm.disconnects:
            break
        await asyncio.sleep(0.02)
    await engine.aclose()
    assert llm.disconnects == 1


def test_openai_is_imported_lazily() -> None:
    code = (
        "import sys; from prompt_canvas.lsp.server import create_server; create_server();"
        "import prompt_canvas.cli, prompt_canvas.engine;"
        "print('openai' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
