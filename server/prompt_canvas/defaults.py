"""Fallback details for the offline expander (``data/defaults.yaml``), loaded once."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def defaults() -> dict[str, Any]:
    import yaml

    data = (resources.files("prompt_canvas") / "data" / "defaults.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(data)
    return loaded
