"""Render: the core (options, what is sent, files, reuse, latest) and the CLI against a local images server.

The tests' OpenAI-compatible server answers ``/v1/images/generations`` with
real PNGs (``b64_json`` or links it serves); the real ``openai`` client talks
to it over HTTP.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from openai_compatible_server import Fault, OpenAICompatibleServer
from prompt_canvas.cli import main
from prompt_canvas.document import parse_document
from prompt_canvas.render import (
    GeneratedImage,
    RenderError,
    RenderJob,
    RenderOptions,
    existing_render,
    image_kind,
    latest_render,
    output_folder,
    plan_render,
    render_options,
    slugify,
    write_render,
)
from prompt_canvas.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

LIBRARY = """---
target: sdxl
seed: 2
negative: blurry, watermark
---
## beach
beach sunset, {warm|cold} light

## fox
a fox in the snow
negative: people
"""


@pytest.fixture(scope="module")
def images() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(images: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch) -> None:
    images.reset()
    images.latency = 0.0
    images.api_key = None
    images.image_form = "b64"
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PROMPT_CANVAS_BACKEND", "PROMPT_CANVAS_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    path = tmp_path / "Coast Scenes.prompt"
    path.write_text(LIBRARY)
    return path


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def render_args(server: OpenAICompatibleServer, *extra: str) -> list[str]:
    return ["--backend", "openai", "--base-url", server.url, "--max-retries", "1", *extra]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# -- the core -------------------------------------------------------------------------------


def test_options_layer_settings_front_matter_and_overrides() -> None:
    doc = parse_document("---\nimage_model: dall-e-3\nsize: 1792x1024\nimages: 2\n---\nx\n")
    options = render_options(doc, Settings(render_quality="hd"))
    assert options == RenderOptions("dall-e-3", "1792x1024", "hd", 2, "renders")
    assert render_options(doc, Settings(), {"size": "1024x1024", "count": None}).size == "1024x1024"
    for bad, message in (
        ({"size": "big"}, "must look like 1024x1024"),
        ({"quality": "ultra"}, "quality must be one of"),
        ({"count": 11}, "from 1 to 10"),
        ({"model": " "}, "image model must be a name"),
    ):
        with pytest.raises(RenderError, match=message):
            render_options(doc, Settings(), bad)


def test_the_template_is_resolved_with_the_seed_and_shaped_for_the_target() -> None:
    doc = parse_document(LIBRARY)
    beach, fox = doc.entries
    first = plan_render(doc, beach, "sdxl", 2, RenderOptions(), "http://x/v1", None)
    again = plan_render(doc, beach, "sdxl", 2, RenderOptions(), "http://x/v1", None)
    assert first.prompt == again.prompt and first.prompt in (
        "beach sunset, warm light",
        "beach sunset, cold light",
    )
    assert first.negative == "blurry, watermark"  # the front matter's, for Stable Diffusion
    assert plan_render(doc, fox, "sdxl", 2, RenderOptions(), "u", None).negative == "people"
    assert plan_render(doc, fox, "dalle", 2, RenderOptions(), "u", None).negative is None
    seeds = {plan_render(doc, beach, "sdxl", s, RenderOptions(), "u", None).prompt for s in range(12)}
    assert len(seeds) == 2  # other seeds pick the other choice too
    mj = parse_document("## ship\npirate ship at dusk --ar 16:9 --v 7\n")
    assert plan_render(mj, mj.entries[0], "midjourney", 0, RenderOptions(), "u", None).prompt == (
        "pirate ship at dusk"
    )
    broken = parse_document("## x\na {red|blue\n")
    with pytest.raises(RenderError, match="template cannot be used"):
        plan_render(broken, broken.entries[0], "dalle", 0, RenderOptions(), "u", None)


def test_the_hash_covers_everything_that_shapes_the_image() -> None:
    base = RenderJob("Beach", "beach sunset", None, "dalle", 0, RenderOptions(), "http://a/v1")
    variants = [
        RenderJob("Beach", "beach sunset!", None, "dalle", 0, RenderOptions(), "http://a/v1"),
        RenderJob("Beach", "beach sunset", "blur", "dalle", 0, RenderOptions(), "http://a/v1"),
        RenderJob("Beach", "beach sunset", None, "dalle", 1, RenderOptions(), "http://a/v1"),
        RenderJob("Beach", "beach sunset", None, "dalle", 0, RenderOptions(size="1536x1024"), "http://a/v1"),
        RenderJob("Beach", "beach sunset", None, "dalle", 0, RenderOptions(model="dall-e-3"), "http://a/v1"),
        RenderJob("Beach", "beach sunset", None, "dalle", 0, RenderOptions(), "http://b/v1"),
    ]
    assert len({base.key, *(v.key for v in variants)}) == 7
    assert base.stem == f"beach-{base.key}" and slugify("Café · v2 / night!") == "cafe-v2-night"


def test_files_are_written_whole_then_reused_and_the_latest_is_found(tmp_path: Path) -> None:
    folder = output_folder(tmp_path / "My Lib.prompt", RenderOptions())
    assert folder == tmp_path / "renders" / "my-lib"
    job = RenderJob("beach", "beach sunset", None, "dalle", 0, RenderOptions(count=2), "u")
    assert existing_render(job, folder) is None
    made = write_render(job, folder, [GeneratedImage(PNG, "revised"), GeneratedImage(PNG)])
    assert [p.name for p in made.images] == [f"{job.stem}.png", f"{job.stem}-2.png"]
    assert files_under(folder) == sorted([f"{job.stem}.json", f"{job.stem}.png", f"{job.stem}-2.png"])
    info = json.loads(made.sidecar.read_text())
    assert info["prompt"] == "beach sunset" and info["revised_prompt"] == ["revised", None]
    assert info["count"] == 2 and info["hash"] == job.key and info["date"].endswith("Z")
    reused = existing_render(job, folder)
    assert reused is not None and reused.reused and reused.images == made.images
    made.images[1].unlink()  # an incomplete render is not reused
    assert existing_render(job, folder) is None
    newer = RenderJob("beach", "beach at dusk", None, "dalle", 0, RenderOptions(), "u")
    write_render(newer, folder, [GeneratedImage(PNG)])
    os.utime(folder, None)
    info_path = folder / f"{newer.stem}.json"
    info = json.loads(info_path.read_text())
    info["date"] = "2999-01-01T00:00:00Z"
    info_path.write_text(json.dumps(info))
    latest = latest_render(folder, "beach")
    assert latest is not None and latest.sidecar == info_path
    assert latest_render(folder, "beach sunset") is None  # another entry whose slug starts alike
    assert latest_render(tmp_path / "nowhere", "beach") is None


def test_an_answer_that_is_not_an_image_writes_nothing(tmp_path: Path) -> None:
    job = RenderJob("beach", "beach sunset", None, "dalle", 0, RenderOptions(), "u")
    with pytest.raises(RenderError, match="not a PNG, JPEG or WebP image"):
        write_render(job, tmp_path / "r", [GeneratedImage(b"<html>oops</html>")])
    assert not (tmp_path / "r").exists()
    assert image_kind(b"\xff\xd8\xff\xe0") == "jpg" and image_kind(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"


# -- the CLI against the server ----------------------------------------------------------------


def test_render_a_library_and_never_pay_twice(images: OpenAICompatibleServer, library: Path) -> None:
    code, out, err = cli("render", str(library), *render_args(images))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and "2 rendered, 0 already there" in err
    folder = library.parent / "renders" / "coast-scenes"
    pngs = sorted(folder.glob("*.png"))
    assert [p.name.split("-")[0] for p in pngs] == ["beach", "fox"]
    for png in pngs:
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 100
        info = json.loads(png.with_suffix(".json").read_text())
        assert info["model"] == "gpt-image-1" and info["size"] == "1024x1024" and info["seed"] == 2
    requests = [r.body for r in images.requests if r.path.endswith("/images/generations")]
    assert len(requests) == 2
    beach = next(b for b in requests if b["prompt"].startswith("beach"))
    assert beach["negative_prompt"] == "blurry, watermark" and beach["n"] == 1
    assert "response_format" not in beach  # gpt-image-1 rejects it
    images.reset()
    code, out, err = cli("render", str(library), *render_args(images))
    assert code == 0 and "(already rendered)" in out and "0 rendered, 2 already there" in err
    assert images.requests == []  # the same prompt and settings: no API call
    code, out, err = cli("render", str(library), *render_args(images, "--entry", "fox", "--force"))
    assert code == 0 and len(out.splitlines()) == 1 and len(images.requests) == 1


def test_url_answers_are_downloaded_and_revised_prompts_kept(
    images: OpenAICompatibleServer, library: Path, tmp_path: Path
) -> None:
    images.image_form = "url"
    out_dir = tmp_path / "elsewhere"
    code, out, err = cli(
        "render",
        str(library),
        *render_args(
            images,
            "--image-model",
            "dall-e-3",
            "--size",
            "1792x1024",
            "--count",
            "2",
            "--entry",
            "beach",
            "--out",
            str(out_dir),
            "--format",
            "json",
        ),
    )
    assert code == 0, err
    row = json.loads(out)
    assert len(row["images"]) == 2 and all(Path(p).read_bytes()[:4] == b"\x89PNG" for p in row["images"])
    assert row["revised_prompt"] == [f"A vivid rendering of {row['prompt']}"] * 2
    assert Path(row["sidecar"]).parent == out_dir / "coast-scenes"
    bodies = [r.body for r in images.requests if r.method == "POST"]
    assert len(bodies) == 2  # dall-e-3 takes n=1 only: one request per image
    assert all(b["response_format"] == "b64_json" and b["n"] == 1 for b in bodies)
    assert all(b["size"] == "1792x1024" for b in bodies)
    assert [r.path.split("/")[1] for r in images.requests if r.method == "GET"] == ["files", "files"]


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        ("none", ["--size", "999x999"], "gpt-image-1 does not take the size '999x999'"),
        ("filter", [], "refused to draw this prompt (content policy); nothing was written"),
        ("quota", [], "out of quota"),
        ("billing", [], "billing limit or quota is reached"),
        ("key", [], "no API key is set and this server needs one"),
        ("model", ["--image-model", "imagen-9"], "model 'imagen-9' was not found"),
        ("garbage", [], "is not a valid images answer"),
    ],
)
def test_errors_are_one_clear_message_and_no_file(
    images: OpenAICompatibleServer, library: Path, setup: str, extra: list[str], message: str
) -> None:
    if setup == "filter":
        images.faults.append(Fault.content_filter())
    elif setup == "quota":
        images.faults.append(
            Fault.status_code(429, code="insufficient_quota", message="You exceeded your quota")
        )
    elif setup == "billing":
        images.faults.append(
            Fault.status_code(
                400, code="billing_hard_limit_reached", message="Billing hard limit has been reached"
            )
        )
    elif setup == "key":
        images.api_key = "sk-needed"
    elif setup == "garbage":
        images.faults.append(Fault.garbage())
    code, out, err = cli("render", str(library), *render_args(images, "--entry", "beach", *extra))
    assert code == 1 and out == ""
    line, summary = err.strip().splitlines()
    assert line.startswith("prompt-canvas: error: ") and message in line and ":7: beach: " in line
    assert summary == "0 rendered, 0 already there, 1 failed"
    assert not (library.parent / "renders").exists() or files_under(library.parent / "renders") == []


def test_a_batch_goes_on_past_a_refused_entry(images: OpenAICompatibleServer, library: Path) -> None:
    images.faults.append(Fault.content_filter())  # the first request: beach (one at a time, in order)
    code, out, err = cli("render", str(library), *render_args(images, "--jobs", "1"))
    assert code == 1
    assert ":7: beach: " in err and "content policy" in err and "1 rendered, 0 already there, 1 failed" in err
    (line,) = out.splitlines()
    assert ": fox -> " in line and Path(line.split(" -> ")[1]).is_file()
    pngs = (library.parent / "renders" / "coast-scenes").glob("*.png")
    assert [p.name.split("-")[0] for p in pngs] == ["fox"]


def test_a_batch_stops_at_an_error_every_entry_would_hit(
    images: OpenAICompatibleServer, library: Path
) -> None:
    images.api_key = "sk-needed"
    code, out, err = cli("render", str(library), *render_args(images, "--jobs", "1"))
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "no API key is set" in lines[0]
    assert lines[1] == "0 rendered, 0 already there, 1 failed, 1 not tried after the error above"
    assert len([r for r in images.requests if r.method == "POST"]) == 1


def test_server_errors_are_retried(images: OpenAICompatibleServer, library: Path) -> None:
    images.faults.append(Fault.status_code(500, retry_after=0))
    code, _, err = cli("render", str(library), *render_args(images, "--entry", "fox"))
    assert code == 0, err
    assert len([r for r in images.requests if r.method == "POST"]) == 2


def test_offline_cannot_render_and_says_how_to_configure(library: Path) -> None:
    code, out, err = cli("render", str(library))
    assert code == 2 and out == ""
    assert "Rendering needs an image server, and the backend is offline" in err
    assert "--backend openai" in err and not (library.parent / "renders").exists()


def test_unknown_entry_and_bad_front_matter(images: OpenAICompatibleServer, library: Path) -> None:
    code, _, err = cli("render", str(library), *render_args(images, "--entry", "moon"))
    assert code == 2 and "no entry named 'moon'" in err
    library.write_text(LIBRARY.replace("seed: 2", "seed: 2\nsize: huge"))
    code, _, err = cli("render", str(library), *render_args(images))
    assert code == 2 and "size must look like 1024x1024" in err
    assert images.requests == []


def test_one_failed_request_of_a_dall_e_3_batch_writes_nothing(
    images: OpenAICompatibleServer, library: Path
) -> None:
    images.faults.append(Fault.content_filter())  # one of the two requests (dall-e-3: one per image)
    args = render_args(images, "--image-model", "dall-e-3", "--count", "2", "--entry", "fox")
    code, out, err = cli("render", str(library), *args)
    assert code == 1 and out == "" and "content policy" in err
    assert not (library.parent / "renders").exists() or files_under(library.parent / "renders") == []
