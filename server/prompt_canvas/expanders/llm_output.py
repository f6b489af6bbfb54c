"""Turning what an LLM answered into one clean prompt.

Models wrap prompts in chatter: "Sure! Here is your prompt:", quotes,
markdown fences, a reasoning block, a numbered list of options, a closing
"Let me know if...". :func:`clean_completion` keeps the prompt (and a
"Negative prompt:" line, if any). :func:`missing_words` says which words of
the user's idea an answer lost. :func:`looks_like_refusal` spots a model
declining the request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.S | re.I)
_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)
_PREAMBLE = re.compile(
    r"""^\s*(?:[*_#>\s]*)
    (?:(?:sure|certainly|okay|ok|of\ course|absolutely|great|alright)[!,.]*\s*)?
    (?:
        here(?:'s|’s|\ is|\ are)\b[^:\n]{0,80}
      | (?:the\ |your\ |my\ )?(?:final\ |expanded\ |full\ |detailed\ |image\ |improved\ )*prompt
      | (?:the\ |your\ )?(?:expanded\ )?(?:image\ )?description
    )
    \s*[*_]*\s*:\s*[*_]*""",
    re.I | re.X,
)
_CHATTER = re.compile(
    r"^\s*(?:let me know|i hope|feel free|hope this|would you like|this prompt|note:|enjoy|"
    r"(?:do you|if you)\b.*\?\s*$)",
    re.I,
)
_NEGATIVE = re.compile(r"^\s*[*_]*(?:negative(?:\s+prompt)?)[*_]*\s*:\s*[*_]*\s*(.*)$", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•]|option\s+\d+\s*:)\s+", re.I)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "`": "`", "„": "“"}
_REFUSAL = re.compile(
    r"^\s*(?:i'?m sorry|i am sorry|sorry,|i apologi[sz]e|unfortunately,? i|as an ai|"
    r"i (?:can(?:'|no)?t|cannot|won'?t|am unable to|'m unable to|am not able to) "
    r"(?:help|assist|create|generate|provide|write|comply|fulfil|do that))",
    re.I,
)
_WORD = re.compile(r"[\w][\w'’-]*", re.U)
# Function words an expanded prompt may rephrase ("a cat in the rain" -> "a cat walking through rain").
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "and",
        "or",
        "by",
        "from",
        "into",
        "onto",
        "under",
        "over",
        "near",
        "its",
        "it",
        "is",
        "are",
    ]
)


@dataclass(frozen=True)
class CleanText:
    prompt: str
    negative: str | None = None


def _strip_quotes(text: str) -> str:
    for _ in range(3):
        text = text.strip()
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
            inner = text[1:-1]
            if text[0] not in inner:  # "a" and "b" is two quotes, not one quoted text
                text = inner
                continue
        break
    return text.strip()


def _preamble_only(paragraph: str) -> bool:
    text = paragraph.strip()
    found = _PREAMBLE.match(text)
    return found is not None and not text[found.end() :].strip(" *_")


def clean_completion(raw: str) -> CleanText:
    """The prompt inside a model's answer: one entry, one line, no wrapping chatter."""
    text = _THINK.sub("", raw.replace("\r\n", "\n"))
    text = re.sub(r"^\s*<think>.*\Z", "", text, flags=re.S | re.I)  # an unfinished reasoning block
    fence = _FENCE.search(text)
    if fence and fence.group(1).strip():
        text = fence.group(1)
    lines = [ln.strip() for ln in text.split("\n")]
    negative: str | None = None
    kept: list[str] = []
    for line in lines:
        neg = _NEGATIVE.match(line)
        if neg:
            negative = _strip_quotes(neg.group(1)).strip(" *_") or None
            continue
        if negative is not None and line:
            continue  # anything after the negative prompt is chatter
        if _CHATTER.match(line):
            continue
        kept.append(line)
    # Paragraphs: a list of options keeps the first; otherwise the paragraphs are one prompt.
    paragraphs = [p for p in "\n".join(kept).split("\n\n") if p.strip()]
    while paragraphs and _preamble_only(paragraphs[0]):
        paragraphs.pop(0)  # "Here is your prompt:" alone on its line
    items = [p for p in paragraphs if _LIST_ITEM.match(p)]
    if len(items) >= 2:
        paragraphs = [_LIST_ITEM.sub("", items[0], count=1)]
    text = " ".join(" ".join(p.split("\n")) for p in paragraphs)
    text = _PREAMBLE.sub("", text, count=1)
    text = re.sub(r"^[#>\s]+", "", text)
    text = text.replace("**", "").replace("__", "")
    text = _strip_quotes(" ".join(text.split()))
    return CleanText(text, negative)


def looks_like_refusal(text: str) -> bool:
    return bool(_REFUSAL.match(text))


def _stem(word: str) -> str:
    word = word.lower().replace("’", "'")
    for suffix in ("'s", "ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if w.lower() not in _FUNCTION_WORDS]


def missing_words(phrase: str, text: str) -> list[str]:
    """Words of ``phrase`` that ``text`` does not contain (plurals count as the same word)."""
    have = {_stem(w) for w in _WORD.findall(text)} | {w.lower() for w in _WORD.findall(text)}
    missing: list[str] = []
    for word in content_words(phrase):
        if word.lower() not in have and _stem(word) not in have and word not in missing:
            missing.append(word)
    return missing


def keep_phrase_in_front(phrase: str, prompt: str, prose: bool) -> str:
    """The last resort when a model keeps dropping the user's words."""
    if prose:
        lead = phrase[:1].upper() + phrase[1:]
        return f"{lead.rstrip('.')}. {prompt}"
    return f"{phrase}, {prompt}"


def parse_variation_list(raw: str) -> list[str] | None:
    """Variations from a structured (JSON) answer, or from a plain numbered list; None if neither."""
    text = _THINK.sub("", raw).strip()
    fence = _FENCE.search(text)
    if fence:
        text = fence.group(1).strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        data = data.get("variations", data.get("prompts"))
    if isinstance(data, list):
        found = [clean_completion(str(v)).prompt for v in data if isinstance(v, (str, int, float))]
        return [v for v in found if v]
    items = [_LIST_ITEM.sub("", ln, count=1).strip() for ln in text.splitlines() if _LIST_ITEM.match(ln)]
    if len(items) >= 2:
        return [v for v in (clean_completion(i).prompt for i in items) if v]
    return None
