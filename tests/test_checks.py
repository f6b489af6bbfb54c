from pathlib import Path

import pytest

from prompt_canvas.checks import CheckContext, check_document, document_target, move_params_to_end
from prompt_canvas.clip_tokens import count_tokens
from prompt_canvas.diagnostics import Severity
from prompt_canvas.document import parse_document
from prompt_canvas.targets import TARGETS
from prompt_canvas.wildcards import WildcardLibrary


def run(text: str, target: str = "dalle", wildcards: WildcardLibrary | None = None) -> list[tuple[str, str]]:
    doc = parse_document(text)
    context = CheckContext(document_target(doc, target), wildcards)
    return [(d.code, d.severity.label) for d in check_document(doc, context)]


def codes(text: str, **kwargs: object) -> list[str]:
    return [c for c, _ in run(text, **kwargs)]  # type: ignore[arg-type]


def test_clean_file_has_no_problems() -> None:
    assert run("---\ntarget: flux\nseed: 3\n---\n## fox\na fox in the snow\n") == []


def test_unknown_key_is_a_warning_with_suggestion() -> None:
    doc = parse_document("---\ntargte: sdxl\n---\nx\n")
    (d,) = check_document(doc, CheckContext(TARGETS["dalle"]))
    assert d.code == "front-matter-unknown-key" and d.severity is Severity.WARNING
    assert "did you mean 'target'" in d.message
    assert doc.text[d.span.start : d.span.end] == "targte"


def test_bad_values_are_errors_on_the_value() -> None:
    text = "---\ntarget: sdxx\nvariations: 0\nseed: abc\nparams: ar 16:9\n---\nx\n"
    doc = parse_document(text)
    found = check_document(doc, CheckContext(TARGETS["dalle"]))
    assert [d.code for d in found] == ["front-matter-value"] * 4
    assert "did you mean 'sdxl'" in found[0].message
    assert text[found[0].span.start : found[0].span.end] == "sdxx"


def test_wildcards_missing_and_suggested(tmp_path: Path) -> None:
    (tmp_path / "colour.txt").write_text("red\nblue\n")
    library = WildcardLibrary.load([tmp_path])
    doc = parse_document("a __color__ house and a __colour__ door\n")
    found = check_document(doc, CheckContext(TARGETS["dalle"], library))
    (d,) = found
    assert d.code == "wildcard-missing" and d.severity is Severity.ERROR
    assert "did you mean __colour__" in d.message
    assert doc.text[d.span.start : d.span.end] == "color"
    assert d.data["create"] == str(tmp_path.resolve() / "color.txt")


def test_wildcard_globs_and_structured_files(tmp_path: Path) -> None:
    (tmp_path / "animals").mkdir()
    (tmp_path / "animals" / "birds.txt").write_text("owl\n")
    (tmp_path / "styles.yaml").write_text("styles:\n  photo: [film]\n  painting: [oil]\n")
    library = WildcardLibrary.load([tmp_path])
    assert codes("__animals/*__ __styles/photo__ __birds__\n", wildcards=library) == []
    assert library.values("styles/painting") == ["oil"]


def test_duplicate_names() -> None:
    doc = parse_document("## fox\na\n\n## Fox\nb\n")
    (d,) = check_document(doc, CheckContext(TARGETS["dalle"]))
    assert d.code == "duplicate-name" and d.related and "line 1" in d.message


def test_sdxl_token_limit_is_exact() -> None:
    words = ", ".join(["golden ornament"] * 30)  # 2 tokens + comma each
    tokens = count_tokens(words)
    assert tokens > 75
    doc = parse_document(f"---\ntarget: sdxl\n---\n{words}\n")
    (d,) = check_document(doc, CheckContext(document_target(doc)))
    assert d.code == "too-many-tokens" and f"{tokens} CLIP tokens" in d.message
    short = ", ".join(["golden ornament"] * 20)
    assert count_tokens(short) <= 75
    assert codes(f"---\ntarget: sdxl\n---\n{short}\n") == []


def test_break_splits_chunks() -> None:
    part = ", ".join(["golden ornament"] * 20)
    assert codes(f"---\ntarget: sdxl\n---\n{part} BREAK {part}\n") == []


def test_dalle_character_limit() -> None:
    assert codes("word " * 900) == ["too-long"]
    assert codes("word " * 700) == []


def test_midjourney_params_must_come_last() -> None:
    text = "---\ntarget: midjourney\n---\n--ar 16:9 a cat on a wall\n"
    assert codes(text) == ["params-position"]
    assert codes("---\ntarget: midjourney\n---\na cat on a wall --ar 16:9 --v 7\n") == []
    assert move_params_to_end("--ar 16:9 a cat, on a wall --v 7") == "a cat, on a wall --ar 16:9 --v 7"


def test_params_in_other_targets_warn() -> None:
    assert codes("a cat --ar 16:9\n", target="sdxl") == ["params-unsupported"]


def test_negative_on_dalle_is_a_note() -> None:
    assert run("a cat\nnegative: dogs\n") == [("negative-unsupported", "info")]


@pytest.mark.parametrize("target", list(TARGETS))
def test_examples_are_clean(target: str, examples: Path) -> None:
    from prompt_canvas.cli import check_file
    from prompt_canvas.library import find_prompt_files

    files = list(find_prompt_files([examples]))
    assert len(files) >= 4
    for file in files:
        _, diagnostics = check_file(file, target, [])
        assert [d.message for d in diagnostics if d.severity is Severity.ERROR] == []
