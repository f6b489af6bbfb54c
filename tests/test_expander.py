import re
from pathlib import Path

import pytest

from prompt_canvas.clip_tokens import count_tokens
from prompt_canvas.expanders.base import ExpandError, ExpandRequest
from prompt_canvas.expanders.offline import OfflineExpander, expand_offline
from prompt_canvas.knowledge import FACETS, MIN_DETAILS, builtin, validate
from prompt_canvas.matching import analyse
from prompt_canvas.targets import TARGETS

PHRASES = [
    "beach sunset",
    "fox in the snow",
    "lighthouse in a storm",
    "cat sleeping on a windowsill",
    "market in marrakech",
    "a quokka juggling teacups",
]


def words(text: str) -> list[str]:
    return re.findall(r"[\w'’-]+", text.lower())


def test_knowledge_base_size_and_shape() -> None:
    kb = builtin()
    assert len(kb) >= 400
    for concept in kb.concepts.values():
        assert concept.detail_count >= MIN_DETAILS, concept.name
        assert set(concept.details) <= set(FACETS)


def test_shipped_knowledge_files_validate() -> None:
    import prompt_canvas

    folder = Path(prompt_canvas.__file__).parent / "knowledge"
    assert validate(sorted(folder.glob("*.yaml"))) == []


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("phrase", PHRASES)
def test_keeps_every_word(phrase: str, target: str) -> None:
    prompt = expand_offline(phrase, target).prompt
    assert set(words(phrase)) <= set(words(prompt)), prompt
    assert "\n" not in prompt


def test_deterministic_and_seed_sensitive() -> None:
    a = expand_offline("fox in the snow", seed=1).prompt
    assert a == expand_offline("fox in the snow", seed=1).prompt
    others = {expand_offline("fox in the snow", seed=s).prompt for s in range(2, 8)}
    assert a not in others and len(others) >= 5


def test_combined_concepts_contribute() -> None:
    analysis = analyse("fox in the snow", builtin())
    assert [m.concept.kind for m in analysis.matches][:2] == ["creature", "weather"]
    assert analysis.subject is not None and analysis.subject.concept.name == "fox"
    storm = analyse("lighthouse in a storm", builtin())
    assert {m.concept.kind for m in storm.matches} >= {"weather"}


def test_unknown_words_still_expand() -> None:
    prompt = expand_offline("a quokka juggling teacups").prompt
    assert "quokka juggling teacups" in prompt and len(words(prompt)) >= 30


@pytest.mark.parametrize("phrase", PHRASES)
def test_dalle_and_flux_are_30_to_80_words(phrase: str) -> None:
    for target in ("dalle", "flux"):
        n = len(words(expand_offline(phrase, target).prompt))
        assert 30 <= n <= 80, (target, n)


@pytest.mark.parametrize("phrase", PHRASES)
def test_sdxl_fits_clip_and_has_a_negative(phrase: str) -> None:
    expansion = expand_offline(phrase, "sdxl")
    assert count_tokens(expansion.prompt) <= 75
    assert expansion.negative
    assert re.search(r"\([^()]+:1\.\d\)", expansion.prompt)


def test_midjourney_params_last() -> None:
    prompt = expand_offline("fox in the snow", "midjourney", negative="text, frame").prompt
    body, _, params = prompt.partition(" --")
    assert "--" not in body and "ar " in params and "--v 7" in prompt and "--no text, frame" in prompt
    custom = expand_offline("fox in the snow", "midjourney", params="--ar 1:1 --v 6").prompt
    assert custom.endswith("--ar 1:1 --v 6")


def test_style_is_woven_in() -> None:
    prompt = expand_offline("fox in the snow", style="ukiyo-e woodblock print").prompt
    assert "ukiyo-e woodblock print" in prompt


def test_errors_are_clear() -> None:
    with pytest.raises(ExpandError, match="empty"):
        expand_offline("   ")
    with pytest.raises(ExpandError, match="unknown target"):
        expand_offline("fox", "dalle-9")


def test_workspace_knowledge_overrides(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "- name: quokka\n  kind: creature\n  subject: [round cheeks and a wide smile, "
        "stubby brown ears, short tail]\n  setting: [scrubby island clearing]\n  mood: [cheerful]\n"
    )
    expander, problems = OfflineExpander.with_workspace([tmp_path])
    assert problems == []
    prompt = expander.expand_sync(ExpandRequest("quokka on a beach", "dalle", 0)).prompt
    assert any(d in prompt for d in ("round cheeks", "stubby brown ears", "short tail"))
    assert builtin().get("quokka") is None  # the built-in base is untouched


def test_named_places_take_no_article() -> None:
    assert "of paris in the rain" in expand_offline("paris in the rain").prompt
    assert "of a fox in the snow" in expand_offline("fox in the snow").prompt
