"""Dynamic Prompts template syntax, scanned with exact source spans.

``dynamicprompts`` samples templates but its parser keeps no positions and its
errors are pyparsing's generic "Expected end of text". This scanner follows the
same grammar (``dynamicprompts.parser.parse``) and produces a tree whose nodes
carry spans into the document, plus problems that say what is wrong and where.
Sampling itself is left to ``dynamicprompts`` (see :mod:`prompt_canvas.variations`).

Grammar, as dynamicprompts 0.31 accepts it::

    prompt    := (assign | access | wrap | variant | wildcard | literal | comment)*
    variant   := "{" sampler? (bound "$$" (joiner "$$")?)? option ("|" option)* "}"
    option    := (number "::")? (access | wrap | variant | wildcard | vliteral)*
    wildcard  := "__" sampler? path ("(" params ")")? "__"
    assign    := "${" name "?"? "=" "!"? option "}"
    access    := "${" name (":" option)? "}"
    wrap      := "%{" option "$$" option "}"
    comment   := "#" to end of line            (top level only)

Literals may not contain ``{ $ % #`` or ``__``; inside variants also not ``| }``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .text import Span

SAMPLERS = "~!@"
_NAME = re.compile(r"[A-Za-z_-][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"\d+\.\d+|\d+\.|\.\d+|\d+")
_BOUND = re.compile(r"(\d+)?\s*(-)?\s*(\d+)?")
_SPECIAL_TOP = "{$%#"
_SPECIAL_OPTION = "{$%#|}"


@dataclass
class Node:
    span: Span


@dataclass
class Literal(Node):
    text: str


@dataclass
class Comment(Node):
    text: str


@dataclass
class Option(Node):
    weight: float | None
    body: list[Node]


@dataclass
class Variant(Node):
    options: list[Option]
    lower: int = 1
    upper: int = 1
    joiner: str = ","
    sampler: str | None = None
    has_bound: bool = False


@dataclass
class Wildcard(Node):
    name: str
    name_span: Span
    sampler: str | None = None
    params: str | None = None
    # A path built from ``${var}`` cannot be resolved statically.
    dynamic: bool = False


@dataclass
class VariableSet(Node):
    name: str
    name_span: Span
    value: list[Node]
    immediate: bool = False


@dataclass
class VariableGet(Node):
    name: str
    name_span: Span
    default: list[Node] | None = None


@dataclass
class Wrap(Node):
    wrapper: list[Node]
    inner: list[Node]


@dataclass
class TemplateProblem:
    span: Span
    message: str
    code: str
    severity: str = "error"  # "error" | "warning" | "info"


@dataclass
class Template:
    """A scanned template: nodes, problems and a few facts about it.

    Node and problem spans are relative to ``source``; ``offset`` places the
    source in its document, so moving a template (text inserted above it) is
    :meth:`with_offset`, sharing the tree. :meth:`absolute` maps a node's span
    into the document.
    """

    source: str
    offset: int
    nodes: list[Node]
    local_problems: list[TemplateProblem] = field(default_factory=list)

    def absolute(self, span: Span) -> Span:
        return Span(span.start + self.offset, span.end + self.offset)

    def with_offset(self, offset: int) -> Template:
        if offset == self.offset:
            return self
        return Template(self.source, offset, self.nodes, self.local_problems)

    @property
    def problems(self) -> list[TemplateProblem]:
        """Problems with spans in document offsets."""
        return [
            TemplateProblem(self.absolute(p.span), p.message, p.code, p.severity) for p in self.local_problems
        ]

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.local_problems)

    @property
    def is_plain(self) -> bool:
        """No template syntax at all: the text is the prompt."""
        return all(isinstance(n, Literal) for n in self.nodes)

    def walk(self) -> Iterator[Node]:
        yield from walk(self.nodes)

    @property
    def wildcards(self) -> list[Wildcard]:
        return [n for n in self.walk() if isinstance(n, Wildcard)]

    @property
    def variants(self) -> list[Variant]:
        return [n for n in self.walk() if isinstance(n, Variant)]


def walk(nodes: list[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        if isinstance(node, Variant):
            for option in node.options:
                yield option
                yield from walk(option.body)
        elif isinstance(node, Option):
            yield from walk(node.body)
        elif isinstance(node, VariableSet):
            yield from walk(node.value)
        elif isinstance(node, VariableGet) and node.default:
            yield from walk(node.default)
        elif isinstance(node, Wrap):
            yield from walk(node.wrapper)
            yield from walk(node.inner)


def has_template_syntax(text: str) -> bool:
    """Cheap test: could ``text`` contain anything but a literal?"""
    return any(ch in text for ch in "{$%#") or "__" in text


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0  # spans are relative to the scanned text
        self.pos = 0
        self.problems: list[TemplateProblem] = []

    # -- helpers -----------------------------------------------------------
    def span(self, start: int, end: int | None = None) -> Span:
        return Span(self.offset + start, self.offset + (self.pos if end is None else end))

    def problem(self, start: int, end: int, message: str, code: str, severity: str = "error") -> None:
        self.problems.append(TemplateProblem(self.span(start, end), message, code, severity))

    def at(self, s: str) -> bool:
        return self.text.startswith(s, self.pos)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    # -- grammar -----------------------------------------------------------
    def sequence(self, in_option: bool, stop: Callable[[], bool] | None = None) -> list[Node]:
        nodes: list[Node] = []
        text = self.text
        while self.pos < len(text):
            if stop is not None and stop():
                break
            ch = text[self.pos]
            if in_option and ch in "|}":
                break
            if self.at("${"):
                nodes.append(self.variable(allow_assign=not in_option))
            elif self.at("%{"):
                nodes.append(self.wrap())
            elif ch == "{":
                nodes.append(self.variant())
            elif self.at("__"):
                nodes.append(self.wildcard())
            elif ch == "#":
                if in_option:
                    start = self.pos
                    self.pos += 1
                    self.problem(
                        start,
                        self.pos,
                        "'#' is not allowed inside {…}: Dynamic Prompts reads '#' as the start of a "
                        "comment; write the word instead (e.g. 'number 1')",
                        "template-hash",
                    )
                    continue
                start = self.pos
                end = text.find("\n", start)
                end = len(text) if end == -1 else end
                self.pos = end
                nodes.append(Comment(self.span(start), text[start:end]))
                self.problem(
                    start,
                    end,
                    "'#' starts a Dynamic Prompts comment: the rest of this line is left out of the prompt",
                    "template-comment",
                    "warning",
                )
            elif ch == "$":
                start = self.pos
                self.pos += 1
                self.problem(
                    start,
                    self.pos,
                    "a lone '$' is not allowed: variables are written ${name} or ${name=value}; "
                    "for money write '5 dollars'",
                    "template-dollar",
                )
            elif ch == "%":
                start = self.pos
                self.pos += 1
                self.problem(
                    start,
                    self.pos,
                    "'%' is reserved by Dynamic Prompts for %{wrapper$$text}: write 'percent' instead",
                    "template-percent",
                )
            else:
                nodes.append(self.literal(in_option, stop))
        return nodes

    def literal(self, in_option: bool, stop: Callable[[], bool] | None) -> Literal:
        start = self.pos
        specials = _SPECIAL_OPTION if in_option else _SPECIAL_TOP
        text = self.text
        n = len(text)
        while self.pos < n:
            ch = text[self.pos]
            if ch in specials or (ch == "_" and text.startswith("__", self.pos)):
                break
            if stop is not None and stop():
                break
            if not in_option and ch == "}":
                self.problem(
                    self.pos,
                    self.pos + 1,
                    "stray '}' with no matching '{': it is kept as plain text",
                    "template-stray-brace",
                    "warning",
                )
            self.pos += 1
        if self.pos == start:  # a lone '_' run that is not '__', or a stop at once
            self.pos += 1
        return Literal(self.span(start), text[start : self.pos])

    def variant(self) -> Node:
        start = self.pos
        self.pos += 1  # "{"
        self.skip_ws()
        sampler = None
        if self.pos < len(self.text) and self.text[self.pos] in SAMPLERS:
            sampler = self.text[self.pos]
            self.pos += 1
        lower, upper, joiner, has_bound = 1, 1, ",", False
        bound_end = self.text.find("$$", self.pos)
        if bound_end != -1:
            match = _BOUND.fullmatch(self.text, self.pos, bound_end)
            if match and (match.group(1) or match.group(3)):
                has_bound = True
                lo, dash, hi = match.groups()
                lower = int(lo) if lo else 1
                upper = int(hi) if hi else (lower if not dash else -1)
                if not dash:
                    upper = lower
                self.pos = bound_end + 2
                joiner_end = self.text.find("$$", self.pos)
                close = self.text.find("}", self.pos)
                if (
                    joiner_end != -1
                    and (close == -1 or joiner_end < close)
                    and "{" not in self.text[self.pos : joiner_end]
                ):
                    joiner = self.text[self.pos : joiner_end]
                    self.pos = joiner_end + 2
        options: list[Option] = []
        while True:
            options.append(self.option())
            if self.pos >= len(self.text):
                self.pos = len(self.text)
                self.problem(
                    start,
                    start + 1,
                    "'{' is never closed: add '}' to end the choice (Dynamic Prompts would fail with "
                    "'Expected end of text')",
                    "template-unclosed",
                )
                break
            if self.text[self.pos] == "|":
                self.pos += 1
                continue
            self.pos += 1  # "}"
            break
        if upper == -1:
            upper = len(options)
        node = Variant(self.span(start), options, lower, upper, joiner, sampler, has_bound)
        if has_bound:
            if lower > upper:
                self.problem(
                    start,
                    node.span.end - self.offset,
                    f"range {lower}-{upper} is empty: the lower bound is above the upper one",
                    "template-bound",
                )
            elif upper > len(options):
                self.problem(
                    start,
                    node.span.end - self.offset,
                    f"asks for {upper} of only {len(options)} options: every result uses all of them",
                    "template-bound",
                    "warning",
                )
        seen: dict[str, Option] = {}
        for option in options:
            key = self.text[option.span.start - self.offset : option.span.end - self.offset].strip()
            if key in seen and len(options) > 1:
                self.problems.append(
                    TemplateProblem(
                        option.span, f"option '{key}' is listed twice", "template-duplicate", "warning"
                    )
                )
            seen[key] = option
        if len(options) == 1 and not has_bound and self.pos - start > 2:
            body = self.text[options[0].span.start - self.offset : options[0].span.end - self.offset]
            if "," in body:
                self.problem(
                    start,
                    self.pos,
                    "a choice needs '|' between options: {a, b} is one option in Dynamic Prompts "
                    "(Midjourney's permutation syntax is not expanded here); write {a|b}",
                    "template-single-option",
                    "warning",
                )
        return node

    def option(self) -> Option:
        start = self.pos
        weight = None
        # allow whitespace before a weight, as dynamicprompts does
        ws = self.pos
        while ws < len(self.text) and self.text[ws] in " \t\r\n":
            ws += 1
        match = _NUMBER.match(self.text, ws)
        if match and self.text.startswith("::", match.end()):
            weight = float(match.group())
            self.pos = match.end() + 2
        body = self.sequence(in_option=True)
        return Option(self.span(start), weight, body)

    def wildcard(self) -> Node:
        start = self.pos
        self.pos += 2
        sampler = None
        if self.pos < len(self.text) and self.text[self.pos] in SAMPLERS:
            sampler = self.text[self.pos]
            self.pos += 1
        name_start = self.pos
        close = self.text.find("__", self.pos)
        line_end = self.text.find("\n", self.pos)
        if close == -1 or (line_end != -1 and line_end < close):
            end = line_end if line_end != -1 else len(self.text)
            word = re.match(r"[^\s,]*", self.text[self.pos : end])
            self.pos = self.pos + (word.end() if word else 0)
            self.problem(
                start,
                self.pos,
                f"wildcard '{self.text[start : self.pos]}' is not closed: write "
                f"'__{self.text[name_start : self.pos]}__' (a literal '__' is not allowed)",
                "template-unclosed-wildcard",
            )
            return Literal(self.span(start), self.text[start : self.pos])
        raw = self.text[name_start:close]
        params = None
        name = raw
        if "(" in raw and raw.endswith(")"):
            name, _, rest = raw.partition("(")
            params = rest[:-1]
        name_end = name_start + len(name.rstrip())
        self.pos = close + 2
        dynamic = "${" in name
        for bad in "{}#":
            if bad in name:
                self.problem(
                    name_start,
                    name_end,
                    f"wildcard names cannot contain '{bad}'",
                    "template-wildcard-name",
                )
                break
        if not name.strip():
            self.problem(
                start, self.pos, "empty wildcard '____': name a wildcard file", "template-wildcard-name"
            )
        return Wildcard(
            self.span(start), name.strip(), self.span(name_start, name_end), sampler, params, dynamic
        )

    def variable(self, allow_assign: bool) -> Node:
        start = self.pos
        self.pos += 2
        self.skip_ws()
        match = _NAME.match(self.text, self.pos)
        if not match:
            end = self.text.find("}", self.pos)
            self.pos = len(self.text) if end == -1 else end + 1
            self.problem(
                start,
                self.pos,
                "a variable needs a name: ${name}, ${name=value} or ${name:default}",
                "template-variable",
            )
            return Literal(self.span(start), self.text[start : self.pos])
        name = match.group()
        name_span = self.span(match.start(), match.end())
        self.pos = match.end()
        self.skip_ws()
        node: Node
        if self.at("=") or self.at("?="):
            if not allow_assign:
                self.problem(
                    start,
                    self.pos,
                    f"'${{{name}=…}}' cannot be set inside a choice; set it at the top of the entry",
                    "template-variable",
                )
            self.pos += 2 if self.at("?=") else 1
            immediate = self.at("!")
            if immediate:
                self.pos += 1
            value = self.option().body
            node = VariableSet(self.span(start), name, name_span, value, immediate)
        elif self.at(":"):
            self.pos += 1
            default = self.option().body
            node = VariableGet(self.span(start), name, name_span, default)
        else:
            node = VariableGet(self.span(start), name, name_span)
        if self.at("}"):
            self.pos += 1
            node.span = self.span(start)
        else:
            self.problem(
                start,
                start + 2,
                f"'${{{name}' is never closed: add '}}'",
                "template-unclosed",
            )
        return node

    def wrap(self) -> Node:
        start = self.pos
        self.pos += 2
        wrapper = self.sequence(in_option=True, stop=lambda: self.at("$$"))
        inner: list[Node] = []
        if self.at("$$"):
            self.pos += 2
            inner = self.sequence(in_option=True)
        else:
            self.problem(start, start + 2, "a wrap is written %{wrapper ... $$ text}", "template-wrap")
        if self.at("}"):
            self.pos += 1
        else:
            self.problem(start, start + 2, "'%{' is never closed: add '}'", "template-unclosed")
        return Wrap(self.span(start), wrapper, inner)


def scan(text: str, offset: int = 0) -> Template:
    """Scan ``text``, which starts at ``offset`` in its document."""
    if not has_template_syntax(text) and "}" not in text:
        return Template(text, offset, [Literal(Span(0, len(text)), text)] if text else [])
    scanner = _Scanner(text)
    nodes = scanner.sequence(in_option=False)
    template = Template(text, offset, nodes, scanner.problems)
    _check_variables(template)
    return template


def _check_variables(template: Template) -> None:
    defined: set[str] = set()
    for node in template.walk():
        if isinstance(node, VariableSet):
            defined.add(node.name)
        elif isinstance(node, VariableGet) and node.default is None and node.name not in defined:
            template.local_problems.append(
                TemplateProblem(
                    node.name_span,
                    f"variable '{node.name}' is used before it is set: add ${{{node.name}=…}} earlier "
                    f"or give a default, ${{{node.name}:value}}",
                    "template-undefined-variable",
                )
            )


# -- counting ----------------------------------------------------------------

WildcardCounter = Callable[[Wildcard], int | None]


def count_combinations(nodes: list[Node], wildcard_count: WildcardCounter | None = None) -> int | None:
    """How many prompts the combinatorial generator can produce, without producing them.

    ``None`` when it cannot be known (an unknown wildcard, a dynamic path).
    """
    variables: dict[str, list[Node]] = {}
    immediate: set[str] = set()

    def seq(body: list[Node]) -> int | None:
        total = 1
        for node in body:
            n = one(node)
            if n is None:
                return None
            total *= n
        return total

    def one(node: Node) -> int | None:
        if isinstance(node, Variant):
            counts = [seq(o.body) for o in node.options]
            if any(c is None for c in counts):
                return None
            known = [c for c in counts if c is not None]
            upper = min(node.upper, len(known))
            lower = min(node.lower, upper)
            total = 0
            for k in range(lower, upper + 1):
                total += math.factorial(k) * _elementary_symmetric(known, k)
            return total
        if isinstance(node, Wildcard):
            if wildcard_count is None or node.dynamic:
                return None
            return wildcard_count(node)
        if isinstance(node, VariableSet):
            variables[node.name] = node.value
            if node.immediate:
                immediate.add(node.name)
            return 1
        if isinstance(node, VariableGet):
            if node.name in variables:
                return 1 if node.name in immediate else seq(variables[node.name])
            return seq(node.default) if node.default is not None else 1
        if isinstance(node, Wrap):
            a, b = seq(node.wrapper), seq(node.inner)
            return None if a is None or b is None else a * b
        return 1

    return seq(nodes)


def _elementary_symmetric(values: list[int], k: int) -> int:
    """Sum over k-subsets of the product of their values."""
    e = [1] + [0] * k
    for v in values:
        for j in range(k, 0, -1):
            e[j] += e[j - 1] * v
    return e[k]
