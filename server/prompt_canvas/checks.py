"""Checks on a parsed document: front matter, templates, wildcards, names, limits.

Per-entry results are cached by the entry's text and the check context, so
re-checking a large file after a keystroke only re-checks the entry that
changed; the whole-file checks (duplicate names) are dictionary passes.
"""

from __future__ import annotations

import difflib
import re
from collections import OrderedDict
from dataclasses import dataclass
from itertools import chain
from typing import Any

from .diagnostics import Diagnostic, Related, Severity
from .document import FRONT_MATTER_KEYS, BlockParse, Document, Entry, FrontMatter, Heading
from .settings import RENDER_QUALITIES
from .targets import DEFAULT_TARGET, TARGETS, Target, resolve_target, suggest_target
from .template import Template, Wildcard
from .text import Span
from .wildcards import WildcardLibrary

# A Midjourney parameter: "--ar 16:9", "--v 7", "--style raw", "--tile".
MJ_PARAM = re.compile(r"(?<![\w-])--([a-z]+)(?:[ \t]+(?!--)[^\s-][^\s]*)?", re.IGNORECASE)
MJ_PARAM_NAMES = {
    "ar",
    "aspect",
    "v",
    "version",
    "style",
    "s",
    "stylize",
    "c",
    "chaos",
    "w",
    "weird",
    "seed",
    "no",
    "q",
    "quality",
    "tile",
    "niji",
    "iw",
    "cref",
    "sref",
    "cw",
    "sw",
    "p",
    "r",
    "repeat",
    "stop",
    "raw",
    "hd",
    "video",
    "draft",
    "exp",
    "oref",
    "ow",
    "sv",
}


@dataclass(frozen=True)
class CheckContext:
    target: Target
    wildcards: WildcardLibrary | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.target.name, self.wildcards.version if self.wildcards else None)


def document_target(document: Document, default: str = DEFAULT_TARGET) -> Target:
    value = document.setting("target")
    if isinstance(value, str):
        target = resolve_target(value)
        if target:
            return target
    return resolve_target(default) or TARGETS[DEFAULT_TARGET]


def check_document(document: Document, context: CheckContext) -> list[Diagnostic]:
    """Every diagnostic of ``document``, sorted by position.

    Work is per block and cached on the block's text and the context, so after
    an edit only the edited block is checked again.
    """
    diagnostics = list(document.front_problems)
    if document.front_matter is not None:
        diagnostics.extend(check_front_matter(document.front_matter))
    cache = _cache_for(context.key)
    texts = document.block_texts
    found = list(map(cache.get, texts))  # one C-level pass; misses are None
    for i in [i for i, rel in enumerate(found) if rel is None]:
        found[i] = cache[texts[i]] = _block_diagnostics(document.blocks[i], context)
    starts = document.starts
    for i in [i for i, rel in enumerate(found) if rel]:
        diagnostics.extend(d.shift(starts[i]) for d in found[i] or ())
    diagnostics.extend(_duplicate_names(document))
    diagnostics.sort(key=lambda d: (d.span.start, d.span.end))
    return diagnostics


# -- front matter ---------------------------------------------------------------------


def check_front_matter(fm: FrontMatter) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for name, key in fm.keys.items():
        if name not in FRONT_MATTER_KEYS:
            close = difflib.get_close_matches(name, list(FRONT_MATTER_KEYS), n=1, cutoff=0.6)
            hint = (
                f": did you mean '{close[0]}'?" if close else f" (known keys: {', '.join(FRONT_MATTER_KEYS)})"
            )
            out.append(
                Diagnostic(
                    key.key_span,
                    f"unknown front-matter key '{name}'{hint}",
                    Severity.WARNING,
                    "front-matter-unknown-key",
                    data={"key": name, "suggestion": close[0] if close else None},
                )
            )
            continue
        problem = _front_matter_value_problem(name, key.value)
        if problem:
            out.append(
                Diagnostic(
                    key.value_span,
                    problem,
                    Severity.ERROR,
                    "front-matter-value",
                    data={
                        "key": name,
                        "suggestion": suggest_target(str(key.value)) if name == "target" else None,
                    },
                )
            )
    return out


def _front_matter_value_problem(name: str, value: Any) -> str | None:
    if name == "target":
        if not isinstance(value, str) or resolve_target(value) is None:
            guess = suggest_target(str(value))
            hint = f"did you mean '{guess}'? " if guess else ""
            return f"unknown target '{value}': {hint}use one of {', '.join(TARGETS)}"
    elif name == "variations":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            return f"'variations' must be a whole number from 1 to 100, not {value!r}"
    elif name == "seed":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"'seed' must be a whole number (0 or more), not {value!r}"
    elif name == "params":
        if not isinstance(value, str):
            return "'params' must be text such as '--ar 16:9 --v 7'"
        if value.strip() and not value.strip().startswith("--"):
            return f"Midjourney parameters start with '--' (e.g. '--ar 16:9'), got {value!r}"
    elif name == "backend":
        if value not in ("offline", "openai"):
            return f"'backend' must be 'offline' or 'openai', not {value!r}"
    elif name == "wildcards":
        if not (
            isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            return "'wildcards' must be a folder path or a list of folder paths"
    elif name == "tags":
        if not isinstance(value, (str, list)):
            return "'tags' must be text or a list"
    elif name == "size":
        if not isinstance(value, str) or not re.fullmatch(r"auto|\d{2,5}x\d{2,5}", value.strip().lower()):
            return f"'size' must look like 1024x1024 (or auto), not {value!r}"
    elif name == "quality":
        if not isinstance(value, str) or value.strip().lower() not in RENDER_QUALITIES:
            return f"'quality' must be one of {', '.join(RENDER_QUALITIES)}, not {value!r}"
    elif name == "images":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
            return f"'images' must be a whole number from 1 to 10, not {value!r}"
    elif (name in ("image_model", "renders") and (not isinstance(value, str) or not value.strip())) or (
        name in ("style", "negative", "model", "title", "description") and not isinstance(value, str)
    ):
        return f"'{name}' must be text"
    return None


# -- entries ------------------------------------------------------------------------

_CACHES: OrderedDict[tuple[Any, ...], dict[str, list[Diagnostic]]] = OrderedDict()
_CACHE_BLOCKS = 200_000  # per context


def _cache_for(context_key: tuple[Any, ...]) -> dict[str, list[Diagnostic]]:
    """Block-text -> diagnostics for one check context (target, wildcard state)."""
    cache = _CACHES.get(context_key)
    if cache is None or len(cache) > _CACHE_BLOCKS:
        cache = _CACHES[context_key] = {}
        while len(_CACHES) > 8:
            _CACHES.popitem(last=False)
    _CACHES.move_to_end(context_key)
    return cache


def _block_diagnostics(block: BlockParse, context: CheckContext) -> list[Diagnostic]:
    """Diagnostics of one block, relative to its start."""
    out = list(block.problems)
    for item in block.items:
        if isinstance(item, Entry):
            out.extend(_check_entry(item, context))
    return out


def _check_entry(entry: Entry, context: CheckContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    templates = [entry.template]
    if entry.negative_template is not None:
        templates.append(entry.negative_template)
    for template in templates:
        for problem in template.problems:
            out.append(
                Diagnostic(problem.span, problem.message, Severity.parse(problem.severity), problem.code)
            )
        if context.wildcards is not None:
            out.extend(_check_wildcards(template, context.wildcards))
    out.extend(check_limits(entry, context.target))
    return out


def _check_wildcards(template: Template, library: WildcardLibrary) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for node in template.wildcards:
        if node.dynamic or not node.name or library.exists(node.name):
            continue
        suggestion = library.suggest(node.name)
        hint = f": did you mean __{suggestion}__?" if suggestion else ""
        where = ", ".join(str(f) for f in library.folders) or "no wildcard folder found"
        new_path = library.path_for_new(node.name)
        out.append(
            Diagnostic(
                template.absolute(node.name_span),
                f"no wildcard file for __{node.name}__{hint} (searched: {where})",
                Severity.ERROR,
                "wildcard-missing",
                data={
                    "name": node.name,
                    "suggestion": suggestion,
                    "create": str(new_path) if new_path else None,
                },
            )
        )
    return out


def check_limits(entry: Entry, target: Target) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    text = entry.prompt
    if target.char_limit is not None and len(text) > target.char_limit:
        out.append(
            Diagnostic(
                entry.prompt_span,
                f"{len(text):,} characters: {target.label} takes at most {target.char_limit:,}",
                Severity.ERROR,
                "too-long",
                data={"length": len(text), "limit": target.char_limit},
            )
        )
    if target.clip_token_limit is not None:
        out.extend(_clip_limit(entry, target))
    out.extend(_check_params(entry, target))
    if entry.negative_span is not None and not target.negative and not target.params:
        out.append(
            Diagnostic(
                entry.negative_span,
                f"{target.label} has no negative prompt: this part is not sent; write constraints "
                f"into the prompt instead (e.g. 'no text')",
                Severity.INFO,
                "negative-unsupported",
            )
        )
    return out


def _clip_limit(entry: Entry, target: Target) -> list[Diagnostic]:
    from .clip_tokens import count_chunks

    limit = target.clip_token_limit or 75
    out: list[Diagnostic] = []
    parts: list[tuple[str, Span]] = [("prompt", entry.prompt_span)]
    if entry.negative_span is not None:
        parts.append(("negative prompt", entry.negative_span))
    for label, span in parts:
        text = entry.prompt if label == "prompt" else (entry.negative or "")
        chunks = count_chunks(
            representative_text(entry.template if label == "prompt" else entry.negative_template)
        )
        worst = max(chunks) if chunks else 0
        if worst > limit:
            over = worst - limit
            advice = (
                "shorten it or split it with BREAK" if "BREAK" not in text else "shorten the longest part"
            )
            out.append(
                Diagnostic(
                    span,
                    f"{label} is {worst} CLIP tokens: {target.label} reads {limit} per chunk, so the last "
                    f"{over} are cut off; {advice}",
                    Severity.WARNING,
                    "too-many-tokens",
                    data={"tokens": worst, "limit": limit},
                )
            )
    return out


def representative_text(template: Template | None) -> str:
    """Template text with each choice replaced by its longest option (for length checks)."""
    if template is None:
        return ""
    if template.is_plain:
        return " ".join(template.source.split())
    from .template import Comment, Literal, Node, Option, VariableGet, VariableSet, Variant, Wrap

    def render(nodes: list[Node]) -> str:
        parts: list[str] = []
        for node in nodes:
            if isinstance(node, Literal):
                parts.append(node.text)
            elif isinstance(node, Variant):
                options = [render(o.body) for o in node.options]
                options.sort(key=len, reverse=True)
                parts.append(node.joiner.join(options[: max(node.upper, 1)]))
            elif isinstance(node, Option):
                parts.append(render(node.body))
            elif isinstance(node, Wildcard):
                parts.append(node.name.replace("/", " ").replace("_", " "))
            elif isinstance(node, VariableGet):
                parts.append(render(node.default) if node.default else node.name)
            elif isinstance(node, Wrap):
                parts.append(render(node.wrapper).replace("{prompt}", render(node.inner)))
            elif isinstance(node, (VariableSet, Comment)):
                continue
        return "".join(parts)

    return " ".join(render(template.nodes).split())


def _check_params(entry: Entry, target: Target) -> list[Diagnostic]:
    source = entry.prompt_source
    base = entry.prompt_span.start
    params = [m for m in MJ_PARAM.finditer(source) if m.group(1).lower() in MJ_PARAM_NAMES]
    if not params:
        return []
    out: list[Diagnostic] = []
    if not target.params:
        first, last = params[0], params[-1]
        out.append(
            Diagnostic(
                Span(base + first.start(), base + last.end()),
                f"Midjourney parameters have no effect for {target.label}: they are sent as words",
                Severity.WARNING,
                "params-unsupported",
            )
        )
        return out
    tail = source[params[-1].end() :].strip()
    head_text = source[: params[0].start()].strip()
    misplaced = [m for m in params if source[m.end() :].strip() and not _only_params_after(source, m.end())]
    if misplaced and (tail or not head_text):
        span = Span(base + misplaced[0].start(), base + misplaced[-1].end())
        out.append(
            Diagnostic(
                span,
                "Midjourney reads parameters only at the end of the prompt: move "
                f"'{' '.join(m.group().strip() for m in misplaced)}' after the text",
                Severity.WARNING,
                "params-position",
                data={"params": [m.group().strip() for m in misplaced]},
            )
        )
    return out


def _only_params_after(source: str, pos: int) -> bool:
    rest = source[pos:].strip()
    while rest:
        m = MJ_PARAM.match(rest)
        if not m:
            return False
        rest = rest[m.end() :].strip()
    return True


def move_params_to_end(text: str) -> str:
    """``--ar 16:9 a cat`` -> ``a cat --ar 16:9`` (Midjourney's order)."""
    params = [m for m in MJ_PARAM.finditer(text) if m.group(1).lower() in MJ_PARAM_NAMES]
    if not params:
        return text
    words: list[str] = []
    pos = 0
    for m in params:
        words.append(text[pos : m.start()])
        pos = m.end()
    words.append(text[pos:])
    body = " ".join(" ".join(words).split()).strip().rstrip(",").strip()
    return f"{body} {' '.join(m.group().strip() for m in params)}".strip()


# -- document-wide --------------------------------------------------------------------


def _duplicate_names(document: Document) -> list[Diagnostic]:
    """Headings that name an entry must be unique (case-insensitive)."""
    keys = list(chain.from_iterable(b.name_keys for b in document.blocks))
    if len(set(keys)) == len(keys):
        return []  # no title repeats: nothing to look at closely
    seen: dict[str, tuple[Heading, int]] = {}
    out: list[Diagnostic] = []
    pending: tuple[Heading, int] | None = None
    for block, start in zip(document.blocks, document.starts, strict=True):
        for item in block.items:
            if type(item) is Heading:
                pending = (item, start)
            elif type(item) is Entry and pending is not None:
                heading = pending[0]
                if heading.title:
                    first = seen.setdefault(heading.title.casefold(), pending)
                    if first is not pending:
                        out.append(_duplicate(document, pending, first))
                pending = None
    return out


def _duplicate(document: Document, dup: tuple[Heading, int], first: tuple[Heading, int]) -> Diagnostic:
    first_span = first[0].title_span.shift(first[1])
    line = document.index.line_of(first_span.start) + 1
    return Diagnostic(
        dup[0].title_span.shift(dup[1]),
        f"another entry is already named '{dup[0].title}' (line {line}): names must be unique",
        Severity.WARNING,
        "duplicate-name",
        (Related(first_span, "first named here"),),
    )
