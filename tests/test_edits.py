from prompt_canvas.document import parse_document
from prompt_canvas.edits import apply_edits, insert_variations, move_params, replace_prompt, set_front_matter

TEXT = """---
target:   sdxl    # odd spacing kept
seed: 1
---
# Group
## beach sunset
beach  sunset,   {calm|wild}
negative: blurry

//   a comment   with   spaces
## other
--ar 16:9 keep   me
"""


def untouched_lines(before: str, after: str) -> set[str]:
    return set(before.splitlines()) - set(after.splitlines())


def test_replace_prompt_touches_only_that_line() -> None:
    doc = parse_document(TEXT)
    after = apply_edits(TEXT, [replace_prompt(doc.entries[0], "a wide beach at sunset")])
    assert untouched_lines(TEXT, after) == {"beach  sunset,   {calm|wild}"}
    assert "a wide beach at sunset\nnegative: blurry" in after


def test_insert_variations_as_named_blocks() -> None:
    doc = parse_document(TEXT)
    after = apply_edits(TEXT, [insert_variations(doc, doc.entries[0], ["one", "two"])])
    assert untouched_lines(TEXT, after) == set()
    new = parse_document(after)
    assert [e.name for e in new.entries] == [
        "beach sunset",
        "beach sunset · v1",
        "beach sunset · v2",
        "other",
    ]
    # A second run continues the numbering.
    again = apply_edits(after, [insert_variations(new, new.entries[1], ["three"])])
    assert "## beach sunset · v3\nthree" in again


def test_variations_of_an_unnamed_entry_get_a_slug() -> None:
    text = "A fox, in the snow!\n"
    doc = parse_document(text)
    after = apply_edits(text, [insert_variations(doc, doc.entries[0], ["x"])])
    assert after == "A fox, in the snow!\n\n## a-fox-in-the-snow · v1\nx\n"


def test_crlf_is_kept() -> None:
    text = TEXT.replace("\n", "\r\n")
    doc = parse_document(text)
    after = apply_edits(text, [insert_variations(doc, doc.entries[0], ["one"])])
    assert "\n" not in after.replace("\r\n", "")


def test_front_matter_value_edit_keeps_the_rest() -> None:
    doc = parse_document(TEXT)
    after = apply_edits(TEXT, [set_front_matter(doc, "target", "flux")])
    assert "target:   flux    # odd spacing kept" in after
    assert untouched_lines(TEXT, after) == {"target:   sdxl    # odd spacing kept"}
    added = apply_edits(TEXT, [set_front_matter(doc, "variations", 8)])
    assert "seed: 1\nvariations: 8\n---" in added
    assert apply_edits("x\n", [set_front_matter(parse_document("x\n"), "target", "dalle")]) == (
        "---\ntarget: dalle\n---\nx\n"
    )


def test_move_params_quick_fix() -> None:
    doc = parse_document(TEXT)
    after = apply_edits(TEXT, [move_params(doc.entries[1])])
    assert "keep me --ar 16:9" in after
