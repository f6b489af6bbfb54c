"""Prompt files on disk: reading them safely and finding them in folders."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic, Severity
from .text import Span

PROMPT_SUFFIX = ".prompt"
SKIP_DIRS = {"node_modules", ".git", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", ".ruff_cache"}


@dataclass
class SourceFile:
    path: Path
    text: str
    problems: list[Diagnostic]


def decode(data: bytes) -> tuple[str, list[Diagnostic]]:
    """UTF-8 text from bytes; invalid bytes become U+FFFD and one error saying where."""
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        prefix = data[: exc.start].decode("utf-8", errors="replace")
        at = len(prefix)
        return text, [
            Diagnostic(
                Span(at, min(at + 1, len(text))),
                f"this file is not valid UTF-8 (byte {exc.start}: 0x{data[exc.start]:02x}); "
                "save it as UTF-8 — the bad bytes are shown as '\ufffd'",
                Severity.ERROR,
                "invalid-utf8",
            )
        ]


def read_source(path: Path) -> SourceFile:
    data = path.read_bytes()
    text, problems = decode(data)
    return SourceFile(path, text, problems)


def find_prompt_files(paths: Iterable[Path]) -> Iterator[Path]:
    """``*.prompt`` files under each path (files are taken as given), sorted, no duplicates."""
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found: list[Path] = []
            for dirname, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
                found.extend(Path(dirname) / f for f in filenames if f.endswith(PROMPT_SUFFIX))
            candidates = sorted(found)
        else:
            candidates = [path]
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                yield candidate
