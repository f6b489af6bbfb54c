"""Wildcard files: where they are, what they hold, which names exist.

Names follow Dynamic Prompts: ``colours.txt`` is ``__colours__``,
``animals/birds.txt`` is ``__animals/birds__``, and keys inside YAML/JSON
files extend the name (``styles.yaml`` with key ``art`` is ``__styles/art__``).
Globs (``__animals/*__``) match several files.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WILDCARD_SUFFIXES = (".txt", ".yaml", ".json")
DEFAULT_FOLDER = "wildcards"


@dataclass(frozen=True)
class WildcardFile:
    name: str
    path: Path
    root: Path
    line: int = 0  # line of the key in a structured file, 0 for text files


@dataclass
class WildcardLibrary:
    """Every wildcard under a list of folders; the first folder wins a name clash."""

    folders: tuple[Path, ...]
    files: dict[str, WildcardFile] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    _values: dict[str, list[str]] = field(default_factory=dict)
    _signature: tuple[Any, ...] = ()
    _checked_at: float = 0.0

    @classmethod
    def load(cls, folders: Iterable[Path]) -> WildcardLibrary:
        unique = tuple(dict.fromkeys(Path(f).resolve() for f in folders))
        lib = cls(unique)
        lib.refresh(force=True)
        return lib

    # -- scanning -------------------------------------------------------------
    def _walk(self) -> list[tuple[Path, Path]]:
        found: list[tuple[Path, Path]] = []
        for root in self.folders:
            if not root.is_dir():
                continue
            for dirname, dirnames, filenames in os.walk(root, followlinks=True):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for filename in sorted(filenames):
                    if filename.endswith(WILDCARD_SUFFIXES):
                        found.append((root, Path(dirname) / filename))
        return found

    def _stat_signature(self, found: list[tuple[Path, Path]]) -> tuple[Any, ...]:
        sig: list[Any] = []
        for _, path in found:
            try:
                st = path.stat()
            except OSError:
                continue
            sig.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(sig)

    def refresh(self, force: bool = False, min_interval: float = 1.0) -> bool:
        """Re-read the folders if anything changed; returns True when it did."""
        now = time.monotonic()
        if not force and now - self._checked_at < min_interval:
            return False
        self._checked_at = now
        found = self._walk()
        signature = self._stat_signature(found)
        if not force and signature == self._signature:
            return False
        self._signature = signature
        self.files = {}
        self._values = {}
        self.problems = []
        for root, path in found:
            for name, line in self._names_in(root, path):
                self.files.setdefault(name, WildcardFile(name, path, root, line))
        return True

    def _names_in(self, root: Path, path: Path) -> list[tuple[str, int]]:
        rel = path.relative_to(root).with_suffix("").as_posix()
        if path.suffix == ".txt":
            return [(rel, 0)]
        prefix = path.parent.relative_to(root).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        try:
            from dynamicprompts.wildcards.collection.structured import parse_structured_file

            return [(prefix + name, 0) for name, _ in parse_structured_file(path)]
        except Exception as exc:  # a broken YAML/JSON file must not stop the rest
            self.problems.append(f"{path}: {exc}")
            return []

    @property
    def version(self) -> tuple[Any, ...]:
        return self._signature

    # -- queries --------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self.files)

    def match(self, pattern: str) -> list[str]:
        """Names a reference matches, as Dynamic Prompts resolves it."""
        if pattern in self.files:
            return [pattern]
        if any(ch in pattern for ch in "*?["):
            hits = [n for n in self.files if fnmatch.fnmatchcase(n, pattern)]
            if hits:
                return sorted(hits)
        # Dynamic Prompts retries a miss as '**/name'.
        return sorted(
            n for n in self.files if n.endswith("/" + pattern) or fnmatch.fnmatchcase(n, "*/" + pattern)
        )

    def exists(self, pattern: str) -> bool:
        return bool(self.match(pattern))

    def values(self, pattern: str) -> list[str]:
        if pattern not in self._values:
            values: list[str] = []
            for name in self.match(pattern):
                values.extend(self._read_values(self.files[name]))
            self._values[pattern] = list(dict.fromkeys(values))
        return self._values[pattern]

    def _read_values(self, wf: WildcardFile) -> list[str]:
        try:
            if wf.path.suffix == ".txt":
                text = wf.path.read_text(encoding="utf-8", errors="replace")
                return [
                    line.strip()
                    for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")
                ]
            from dynamicprompts.wildcards.collection.structured import parse_structured_file

            for name, collection in parse_structured_file(wf.path):
                prefix = wf.path.parent.relative_to(wf.root).as_posix()
                full = name if prefix == "." else f"{prefix}/{name}"
                if full == wf.name:
                    return [str(v) for v in collection.get_values()]
        except Exception as exc:
            self.problems.append(f"{wf.path}: {exc}")
        return []

    def suggest(self, name: str) -> str | None:
        close = difflib.get_close_matches(name, list(self.files), n=1, cutoff=0.6)
        return close[0] if close else None

    def path_for_new(self, name: str) -> Path | None:
        """Where ``__name__`` would live if created: a .txt in the first folder."""
        if not self.folders or any(ch in name for ch in "*?[") or name.startswith("/") or ".." in name:
            return None
        return self.folders[0] / (name + ".txt")

    def manager(self) -> Any:
        """A dynamicprompts WildcardManager over the same folders."""
        from dynamicprompts.wildcards import WildcardManager

        existing = [f for f in self.folders if f.is_dir()]
        if not existing:
            return WildcardManager()
        return WildcardManager(root_map={"": list(existing)})


def folders_for(
    document_path: Path | None,
    front_matter_value: Any = None,
    configured: Sequence[str | Path] = (),
    workspace_root: Path | None = None,
) -> list[Path]:
    """Wildcard folders for a document, in lookup order.

    Front-matter ``wildcards`` (relative to the file), then configured folders
    (relative to the workspace root), then the nearest ``wildcards/`` folder at
    or above the file's folder (up to the workspace root).
    """
    folders: list[Path] = []
    base = document_path.parent if document_path else (workspace_root or Path.cwd())
    declared: list[Any] = (
        [front_matter_value] if isinstance(front_matter_value, str) else list(front_matter_value or [])
    )
    for item in declared:
        if isinstance(item, str) and item.strip():
            folders.append((base / os.path.expanduser(item.strip())).resolve())
    root = workspace_root or base
    for item in configured:
        path = Path(os.path.expanduser(str(item)))
        folders.append((path if path.is_absolute() else root / path).resolve())
    here = base.resolve()
    stop = workspace_root.resolve() if workspace_root else None
    while True:
        candidate = here / DEFAULT_FOLDER
        if candidate.is_dir():
            folders.append(candidate)
            break
        if here == stop or here.parent == here:
            break
        here = here.parent
    return list(dict.fromkeys(folders))
