import random

import pytest
from dynamicprompts.generators import CombinatorialPromptGenerator
from dynamicprompts.parser.parse import parse

from prompt_canvas.template import Variant, Wildcard, count_combinations, scan


def errors(text: str) -> list[tuple[str, int, str]]:
    return [(p.code, p.span.start, p.message) for p in scan(text).problems if p.severity == "error"]


def test_plain_text_is_one_literal() -> None:
    template = scan("a quiet beach at sunset", offset=10)
    assert template.is_plain and template.ok
    assert template.absolute(template.nodes[0].span).start == 10


def test_nodes_carry_exact_spans() -> None:
    text = "x {2$$ and $$a|b|c} __colours/warm__ ${v=red} ${v}"
    template = scan(text, offset=100)
    variant = next(n for n in template.walk() if isinstance(n, Variant))
    assert (variant.lower, variant.upper, variant.joiner) == (2, 2, " and ")
    span = template.absolute(variant.span)
    assert span.start - 100 == text.index("{") and span.end - 100 == text.index("}") + 1
    wildcard = template.wildcards[0]
    assert isinstance(wildcard, Wildcard) and wildcard.name == "colours/warm"
    name = template.absolute(wildcard.name_span)
    assert text[name.start - 100 : name.end - 100] == "colours/warm"


def test_unclosed_brace_says_where_and_what() -> None:
    ((code, start, message),) = errors("a beach {calm|stormy at dusk")
    assert code == "template-unclosed" and start == 8
    assert "never closed" in message and "}" in message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("50% off", "template-percent"),
        ("costs $5", "template-dollar"),
        ("__colours", "template-unclosed-wildcard"),
        ("{a # b|c}", "template-hash"),
        ("${v}", "template-undefined-variable"),
        ("${ }", "template-variable"),
        ("{3-1$$a|b|c}", "template-bound"),
    ],
)
def test_each_error_has_its_code(text: str, code: str) -> None:
    assert code in [c for c, _, _ in errors(text)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("a } b", "template-stray-brace"),
        ("{a, b}", "template-single-option"),
        ("{a|a}", "template-duplicate"),
        ("{3$$a|b}", "template-bound"),
        ("a # note", "template-comment"),
    ],
)
def test_warnings(text: str, code: str) -> None:
    template = scan(text)
    assert template.ok
    assert code in [p.code for p in template.problems]


def test_agrees_with_dynamicprompts_on_what_parses() -> None:
    """Our errors and dynamicprompts' parser agree on 3,000 random strings of template characters."""
    rnd = random.Random(1234)
    alphabet = list("ab {}|$%#_=:!~2-")
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 12)))
        template = scan(text)
        try:
            parse(text)
            parses = True
        except Exception:
            parses = False
        undefined_only = all(
            p.code == "template-undefined-variable" for p in template.problems if p.severity == "error"
        )
        assert template.ok == parses or (parses and undefined_only), text


@pytest.mark.parametrize(
    "text",
    [
        "a {b|c} d",
        "{2$$a|b|c}",
        "{1-2$$a|b|c}",
        "{-2$$a|b|c}",
        "{2-$$a|b|c|d}",
        "{a|b} {c|{d|e}}",
        "${v={a|b}} ${v} ${v}",
        "${v=!{a|b}} ${v} ${v}",
        "{2$$a|{b|c}|d}",
        "{3$$a|b}",
        "{0.5::a|2::b|c}",
        "{a|b}{c|d}{e|f}{g|h}",
    ],
)
def test_count_matches_the_combinatorial_generator(text: str) -> None:
    expected = len(CombinatorialPromptGenerator().generate(text, max_prompts=100_000))
    assert count_combinations(scan(text).nodes) == expected


def test_count_is_computed_not_enumerated() -> None:
    text = " ".join("{a|b|c|d|e|f|g|h|i|j}" for _ in range(12))
    assert count_combinations(scan(text).nodes) == 10**12


def test_count_with_wildcards() -> None:
    template = scan("{a|b} __colours__")
    assert count_combinations(template.nodes) is None
    assert count_combinations(template.nodes, lambda w: 5 if w.name == "colours" else None) == 10
