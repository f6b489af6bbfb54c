from pathlib import Path

import pytest

from prompt_canvas.variations import VaryError, template_variations, vary


def test_all_combinations_when_count_covers_them() -> None:
    result = vary("a {red|blue} {cat|dog|fox}", n=10)
    assert result.mode == "template" and result.total == 6 and result.exhaustive
    assert sorted(result.prompts) == sorted(
        f"a {c} {a}" for c in ("red", "blue") for a in ("cat", "dog", "fox")
    )


def test_random_samples_are_seeded_and_distinct() -> None:
    template = "{a|b|c|d|e} {f|g|h|i|j} {k|l|m|n|o}"
    first = vary(template, n=5, seed=3)
    assert first.total == 125 and not first.exhaustive
    assert len(set(first.prompts)) == 5
    assert vary(template, n=5, seed=3).prompts == first.prompts
    assert vary(template, n=5, seed=4).prompts != first.prompts


def test_wildcards_feed_variations(tmp_path: Path) -> None:
    from prompt_canvas.wildcards import WildcardLibrary

    (tmp_path / "colour.txt").write_text("# comment\nred\nblue\n")
    library = WildcardLibrary.load([tmp_path])
    result = template_variations("a __colour__ door", 5, wildcards=library)
    assert result.total == 2 and sorted(result.prompts) == ["a blue door", "a red door"]


def test_broken_template_says_where() -> None:
    with pytest.raises(VaryError, match=r"column 3: '\{' is never closed"):
        vary("a {b|c", n=2)


@pytest.mark.parametrize("target", ["dalle", "sdxl", "midjourney", "flux"])
def test_semantic_variations_are_distinct_and_keep_the_subject(target: str) -> None:
    result = vary("fox in the snow", n=6, seed=1, target=target)
    assert result.mode == "semantic" and len(result.prompts) == 6
    assert len(set(result.prompts)) == 6
    for prompt in result.prompts:
        assert "fox in the snow" in prompt


def test_semantic_variations_of_a_long_prompt_keep_it() -> None:
    prompt = "A weathered lighthouse on a basalt headland, waves exploding against the rocks below."
    result = vary(prompt, n=4, seed=2)
    assert len(set(result.prompts)) == 4
    assert all(p.startswith(prompt[:-1]) for p in result.prompts)


def test_midjourney_params_stay_last_in_semantic_variations() -> None:
    result = vary("koi pond seen from above with lily pads and ripples --ar 16:9", n=3, target="midjourney")
    assert all(p.endswith("--ar 16:9") for p in result.prompts)


def test_count_bounds() -> None:
    with pytest.raises(VaryError):
        vary("x", n=0)
