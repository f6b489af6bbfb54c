"""A content-addressed, on-disk cache of LLM answers.

The key is the SHA-256 of everything that shapes an answer (model, base URL,
target, phrase, seed, file context, system-prompt version, ...) as canonical
JSON. The API key is never part of it and never written. Entries are small
JSON files written atomically (temp file, then rename), so a crash or two
processes at once never leave half an entry; an unreadable entry is a miss.

Location: ``$PROMPT_CANVAS_CACHE_DIR``, else ``$XDG_CACHE_HOME/prompt-canvas``,
else ``~/.cache/prompt-canvas`` (``%LOCALAPPDATA%`` on Windows).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1


def default_cache_dir() -> Path:
    explicit = os.environ.get("PROMPT_CANVAS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "prompt-canvas" / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "prompt-canvas"


def cache_key(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps({"format": FORMAT, **payload}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheInfo:
    folder: Path
    entries: int
    bytes: int


class ResultCache:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = (folder or default_cache_dir()) / "llm"

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        try:
            with self._path(key).open(encoding="utf-8") as f:
                entry = json.load(f)
        except (OSError, ValueError):
            return None
        return entry.get("value") if isinstance(entry, dict) and entry.get("key") == key else None

    def put(self, key: str, value: Any) -> bool:
        """Store ``value``; False (and nothing half-written) if the disk refuses."""
        path = self._path(key)
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"key": key, "value": value}, f, ensure_ascii=False)
            os.replace(tmp, path)
            return True
        except OSError:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return False

    def info(self) -> CacheInfo:
        entries = size = 0
        if self.folder.is_dir():
            for file in self.folder.glob("*/*.json"):
                entries += 1
                with contextlib.suppress(OSError):
                    size += file.stat().st_size
        return CacheInfo(self.folder, entries, size)

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        count = self.info().entries
        if self.folder.is_dir():
            shutil.rmtree(self.folder, ignore_errors=True)
        return count
