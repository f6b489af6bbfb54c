from prompt_canvas.text import LineIndex, Position, Span, utf16_len


def test_ascii_round_trip() -> None:
    text = "ab\ncd\n\nef"
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        assert index.offset(index.position(offset)) == offset
    assert index.position(4) == Position(1, 1)
    assert index.line_text(2) == ""


def test_utf16_columns_for_emoji_and_cjk() -> None:
    text = "a😀b 日本\nx"
    index = LineIndex(text)
    # 😀 is two UTF-16 code units, 日 and 本 one each.
    assert index.position(2) == Position(0, 3)  # just after the emoji
    assert index.position(5) == Position(0, 6)  # after "b 日": 1 + 2 + 1 + 1 + 1 units
    assert index.offset(Position(0, 3)) == 2
    assert index.offset(Position(0, 2)) == 2  # inside a surrogate pair: snaps after it
    assert utf16_len("😀日") == 3


def test_crlf_and_clamping() -> None:
    text = "one\r\ntwo"
    index = LineIndex(text)
    assert index.line_text(0) == "one"
    assert index.offset(Position(0, 99)) == 3
    assert index.offset(Position(9, 0)) == len(text)
    assert index.position(999) == Position(1, 3)


def test_span_helpers() -> None:
    assert Span(1, 3).overlaps(Span(2, 5))
    assert not Span(1, 3).overlaps(Span(3, 5))
    assert Span(1, 3).shift(2) == Span(3, 5)


def test_incremental_index_matches_a_fresh_one() -> None:
    import random

    rnd = random.Random(5)
    text = "a\nbb\r\n😀\n\nccc"
    index = LineIndex(text)
    for _ in range(500):
        start = rnd.randint(0, len(text))
        end = min(len(text), start + rnd.randint(0, 4))
        new = rnd.choice(["", "x", "\n", "\r\n", "😀\n", "yy\nz"])
        index = index.apply_change(start, end, new)
        text = text[:start] + new + text[end:]
        assert index.text == text
        assert index.line_starts == LineIndex(text).line_starts


def test_other_encodings() -> None:
    index = LineIndex("é😀x")
    assert index.position(2, "utf-8") == Position(0, 6)
    assert index.position(2, "utf-32") == Position(0, 2)
    assert index.offset(Position(0, 6), "utf-8") == 2
