from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


def cli_command() -> list[str]:
    """The installed CLI, run as a real subprocess through this interpreter."""
    return [sys.executable, "-m", "prompt_canvas"]
