"""Exact CLIP token counts (the text encoder of Stable Diffusion and SDXL).

CLIP reads 77 tokens: a start token, 75 usable tokens and an end token. This
module reimplements CLIP's byte-level BPE tokenizer on the merge list OpenAI
published with CLIP (``data/clip/bpe_simple_vocab_16e6.txt.gz``, MIT licence,
see ``data/clip/LICENSE``), with the same text cleaning (ftfy, HTML unescape,
whitespace collapse, lower case) and the same pre-tokenising pattern, so counts
match CLIP's exactly. No torch, no network; the merge list loads lazily (~0.3 s)
on first use.
"""

from __future__ import annotations

import gzip
import html
from functools import lru_cache
from importlib import resources
from typing import Any

CLIP_CHUNK = 75  # usable tokens per 77-token window

_PATTERN = r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"
_MERGE_COUNT = 49152 - 256 - 2


def _byte_alphabet() -> dict[int, str]:
    """CLIP's reversible byte -> printable-character table."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class ClipTokenizer:
    def __init__(self) -> None:
        import regex

        data = resources.files("prompt_canvas") / "data" / "clip" / "bpe_simple_vocab_16e6.txt.gz"
        lines = gzip.decompress(data.read_bytes()).decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in lines[1 : _MERGE_COUNT + 1]]
        self.ranks: dict[tuple[str, ...], int] = {pair: i for i, pair in enumerate(merges)}
        self.bytes = _byte_alphabet()
        self.pattern: Any = regex.compile(_PATTERN, regex.IGNORECASE)
        self._bpe = lru_cache(maxsize=65536)(self._bpe_uncached)

    @staticmethod
    def clean(text: str) -> str:
        import ftfy

        text = ftfy.fix_text(text)
        text = html.unescape(html.unescape(text)).strip()
        return " ".join(text.split()).lower()

    def _bpe_uncached(self, token: str) -> tuple[str, ...]:
        if token in ("<|startoftext|>", "<|endoftext|>"):
            return (token,)
        word = [*token[:-1], token[-1] + "</w>"]
        ranks = self.ranks
        while len(word) > 1:
            best: tuple[int, int] | None = None
            for i in range(len(word) - 1):
                rank = ranks.get((word[i], word[i + 1]))
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, i)
            if best is None:
                break
            first, second = word[best[1]], word[best[1] + 1]
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return tuple(word)

    def tokens(self, text: str) -> list[str]:
        """CLIP's BPE tokens for ``text`` (without start/end tokens)."""
        out: list[str] = []
        for piece in self.pattern.findall(self.clean(text)):
            encoded = "".join(self.bytes[b] for b in piece.encode("utf-8"))
            out.extend(self._bpe(encoded))
        return out

    def count(self, text: str) -> int:
        return len(self.tokens(text))


@lru_cache(maxsize=1)
def tokenizer() -> ClipTokenizer:
    return ClipTokenizer()


def count_tokens(text: str) -> int:
    """Exact number of CLIP tokens in ``text``, start/end tokens excluded."""
    return tokenizer().count(text)


def count_chunks(text: str) -> list[int]:
    """Token counts per CLIP chunk: ``BREAK`` (upper case) starts a new 75-token chunk."""
    return [count_tokens(part) for part in text.split("BREAK")]
