import random

from prompt_canvas.document import parse_document

LIBRARY = """---
target: sdxl
seed: 7
---
# Beaches
## beach sunset
a {calm|stormy} beach at sunset, __palette__
// a note inside the entry
with gulls 😀 overhead
negative: blurry, text

a second entry with no heading

## fox
a fox in the snow
"""


def test_structure() -> None:
    doc = parse_document(LIBRARY)
    assert doc.front_matter is not None and doc.front_matter.closed
    assert doc.setting("target") == "sdxl" and doc.setting("seed") == 7
    assert [h.title for h in doc.headings] == ["Beaches", "beach sunset", "fox"]
    names = [e.name for e in doc.entries]
    assert names == ["beach sunset", None, "fox"]
    first = doc.entries[0]
    assert first.group is not None and first.group.title == "Beaches"
    assert first.prompt == "a {calm|stormy} beach at sunset, __palette__ with gulls 😀 overhead"
    assert first.negative == "blurry, text"
    assert doc.problems == []


def test_spans_are_exact() -> None:
    doc = parse_document(LIBRARY)
    text = doc.text
    fm = doc.front_matter
    assert fm is not None
    target = fm.keys["target"]
    assert text[target.key_span.start : target.key_span.end] == "target"
    assert text[target.value_span.start : target.value_span.end] == "sdxl"
    entry = doc.entries[0]
    assert text[entry.span.start : entry.span.end].startswith("a {calm|stormy}")
    assert text[entry.span.start : entry.span.end].endswith("negative: blurry, text")
    assert entry.negative_span is not None
    assert text[entry.negative_span.start : entry.negative_span.end] == "blurry, text"
    wildcard = entry.template.wildcards[0]
    span = entry.template.absolute(wildcard.name_span)
    assert text[span.start : span.end] == "palette"
    heading = doc.headings[1]
    assert text[heading.title_span.start : heading.title_span.end] == "beach sunset"


def test_utf16_positions_of_nodes_after_emoji() -> None:
    text = "😀 {a|b} 日本 __x__\n"
    doc = parse_document(text)
    template = doc.entries[0].template
    wildcard = template.absolute(template.wildcards[0].span)
    start = doc.index.position(wildcard.start)
    assert (start.line, start.character) == (0, 3 + 6 + 3)  # emoji = 2 units


def test_entry_at_and_full_span() -> None:
    doc = parse_document(LIBRARY)
    fox = doc.entries[2]
    assert fox.heading is not None
    assert doc.entry_at(fox.heading.span.start + 1) == fox  # on the heading
    assert doc.entry_at(fox.span.end) == fox
    assert doc.entry_at(0) is None  # front matter


def test_unclosed_front_matter_is_one_error() -> None:
    doc = parse_document("---\ntarget: sdxl\n\na prompt\n")
    assert [p.code for p in doc.problems] == ["front-matter-unclosed"]
    assert doc.problems[0].span.start == 0


def test_yaml_error_points_into_front_matter() -> None:
    text = "---\ntarget: sdxl\nparams: [--ar\n---\nprompt\n"
    doc = parse_document(text)
    (problem,) = doc.problems
    assert problem.code == "front-matter-yaml"
    assert doc.front_matter is not None
    assert doc.front_matter.body_span.start <= problem.span.start <= doc.front_matter.body_span.end


def test_crlf_documents() -> None:
    doc = parse_document("## one\r\nfirst prompt\r\n\r\n## two\r\nsecond\r\n")
    assert [e.name for e in doc.entries] == ["one", "two"]
    assert [e.prompt for e in doc.entries] == ["first prompt", "second"]
    assert all(not doc.text[e.span.start : e.span.end].endswith("\r") for e in doc.entries)


def test_reparse_after_edit_equals_fresh_parse() -> None:
    """The block cache must never leak stale spans after an edit."""
    base = LIBRARY * 3
    parse_document(base)
    edited = base.replace("a fox in the snow", "a red fox in the snow", 1)
    fresh_spans = [(e.span, e.prompt_span, e.negative_span) for e in parse_document(edited).entries]
    again = [(e.span, e.prompt_span, e.negative_span) for e in parse_document(edited).entries]
    assert fresh_spans == again
    for entry in parse_document(edited).entries:
        assert edited[entry.prompt_span.start : entry.prompt_span.end].split()[0] in ("a",)


def test_parsing_never_raises() -> None:
    rnd = random.Random(7)
    alphabet = [*list("ab #-:\n\n{}|$%_/\r😀日"), "---\n", "negative:", "## ", "//", "${", "__"]
    for _ in range(2000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        doc = parse_document(text)
        for entry in doc.entries:
            assert 0 <= entry.span.start <= entry.span.end <= len(text)
        for problem in doc.problems:
            assert 0 <= problem.span.start <= problem.span.end <= len(text)


def _view(entry):  # type: ignore[no-untyped-def]
    return (entry.span, entry.prompt, entry.negative, entry.name, entry.group.title if entry.group else None)


def test_entry_at_agrees_with_the_full_view() -> None:
    text = LIBRARY + "\n# Second\n\n## named later\n\nlast entry\n// trailing comment\n"
    doc = parse_document(text)
    for entry in doc.entries:
        for offset in (entry.span.start, entry.span.end, entry.full_span.start):
            found = doc.entry_at(offset)
            assert found is not None and _view(found) == _view(entry)


def test_incremental_changes_match_a_fresh_parse() -> None:
    rnd = random.Random(11)
    pieces = ["\n", "\n\n", "## name\n", "# group\n", "a {b|c} d", "negative: x", "// c\n", " ", "text"]
    text = LIBRARY * 2
    doc = parse_document(text)
    for _ in range(400):
        start = rnd.randint(0, len(text))
        end = min(len(text), start + rnd.randint(0, 12))
        new = rnd.choice(pieces) if rnd.random() < 0.8 else ""
        doc = doc.apply_change(start, end, new)
        text = text[:start] + new + text[end:]
        fresh = parse_document(text)
        assert doc.text == text
        assert [_view(e) for e in doc.entries] == [_view(e) for e in fresh.entries]
        assert [(h.span, h.title) for h in doc.headings] == [(h.span, h.title) for h in fresh.headings]
        assert doc.problems == fresh.problems
        assert doc.index.line_starts == fresh.index.line_starts  # kept up to date incrementally
