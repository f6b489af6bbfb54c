"""Counts checked against OpenAI's reference CLIP tokenizer (simple_tokenizer.py) on these strings."""

import pytest

from prompt_canvas.clip_tokens import count_chunks, count_tokens, tokenizer

GOLDEN = {
    "beach sunset": 2,
    "a photo of an astronaut riding a horse on mars": 10,
    "(masterpiece:1.2), best quality, 8k uhd, dslr": 16,
    "Fox in the SNOW 😀 🦊 with 日本語 テキスト and café crème": 22,
    "it's a dog's life, we'll see": 10,
    "&amp; &lt;tag&gt; ½ ² 3.14159": 13,
    "  lots   of\n whitespace\t here ": 5,
    "": 0,
    "supercalifragilisticexpialidocious antidisestablishmentarianism": 15,
    "__wildcard__ {a|b} --ar 16:9 --v 7": 17,
    "ünïcödé Ωμέγα Привет мир": 28,
    "a" * 100: 13,
}


@pytest.mark.parametrize(("text", "expected"), list(GOLDEN.items()))
def test_counts_match_reference(text: str, expected: int) -> None:
    assert count_tokens(text) == expected


def test_tokens_are_bpe_pieces() -> None:
    assert tokenizer().tokens("beach sunset") == ["beach</w>", "sunset</w>"]


def test_break_starts_a_new_chunk() -> None:
    assert count_chunks("beach sunset BREAK a photo of an astronaut riding a horse on mars") == [2, 10]
