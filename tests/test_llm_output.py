"""Cleaning LLM answers into one prompt, and checking the user's words survived."""

from __future__ import annotations

import pytest

from prompt_canvas.expanders.llm_output import (
    clean_completion,
    keep_phrase_in_front,
    looks_like_refusal,
    missing_words,
    parse_variation_list,
)

PROMPT = "A golden beach at sunset, long shadows on wet sand, warm light."


@pytest.mark.parametrize(
    "raw",
    [
        PROMPT,
        f'"{PROMPT}"',
        f"“{PROMPT}”",
        f"Sure! Here is your prompt:\n\n{PROMPT}",
        f"Here's an expanded prompt for 'beach sunset': {PROMPT}",
        f"**Prompt:** {PROMPT}",
        f"Prompt: {PROMPT}",
        f"```\n{PROMPT}\n```",
        f'```text\n"{PROMPT}"\n```\nLet me know if you want changes!',
        f"<think>The user wants a beach.</think>\n{PROMPT}",
        f"{PROMPT}\n\nI hope this helps!",
        f"1. {PROMPT}\n\n2. A beach at night under the stars.",
        "A golden beach at sunset,\nlong shadows on wet sand,\nwarm light.",
        f"Certainly. Here is the final prompt:\n{PROMPT}",
    ],
)
def test_chatter_around_the_prompt_is_removed(raw: str) -> None:
    assert clean_completion(raw).prompt == PROMPT


def test_negative_prompt_line_is_split_off() -> None:
    cleaned = clean_completion(f"{PROMPT}\nNegative prompt: blurry, watermark\n\nEnjoy!")
    assert cleaned.prompt == PROMPT and cleaned.negative == "blurry, watermark"


def test_quotes_inside_are_kept() -> None:
    text = 'A sign that reads "OPEN" above a door and a poster saying "SALE"'
    assert clean_completion(text).prompt == text


def test_refusals_are_recognised() -> None:
    assert looks_like_refusal("I'm sorry, but I can't help with that request.")
    assert looks_like_refusal("I cannot create that image.")
    assert not looks_like_refusal("I am a lighthouse keeper on a stormy coast, oil painting")


def test_missing_words_counts_plurals_and_ignores_function_words() -> None:
    assert missing_words("two foxes in the snow", "A fox in snow, two of them") == []
    assert missing_words("beach sunset", "A beach at dusk") == ["sunset"]
    assert missing_words("a cat on the roof", "Cat, roof, night") == []


def test_keep_phrase_in_front() -> None:
    assert (
        keep_phrase_in_front("beach sunset", "A beach at dusk.", prose=True)
        == "Beach sunset. A beach at dusk."
    )
    assert keep_phrase_in_front("beach sunset", "beach, dusk", prose=False) == "beach sunset, beach, dusk"


def test_variation_lists_from_json_fenced_json_and_numbered_lines() -> None:
    assert parse_variation_list('{"variations": ["a", "b"]}') == ["a", "b"]
    assert parse_variation_list('```json\n{"variations": ["\\"a\\"", "b"]}\n```') == ["a", "b"]
    assert parse_variation_list('["x", "y"]') == ["x", "y"]
    assert parse_variation_list("1. first one\n2. second one") == ["first one", "second one"]
    assert parse_variation_list("just one prompt, no list") is None
