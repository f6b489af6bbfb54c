"""A real editor nobody here wrote: Neovim (0.7+) drives the server headless, writes the file, we read it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
LIBRARY = """---
target: dalle
seed: 5
variations: 3
---
# Coast
## beach sunset
beach sunset

## fox
a fox in the snow
"""

pytestmark = pytest.mark.skipif(
    shutil.which("nvim") is None and not os.environ.get("CI"),
    reason="nvim is not installed (scripts/test.sh installs it; in CI this test must run)",
)


def run_nvim(tmp_path: Path, scenario: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    file = tmp_path / "library.prompt"
    file.write_text(LIBRARY, encoding="utf-8")
    env = {
        **os.environ,
        "PC_SERVER_CMD": json.dumps([sys.executable, "-m", "prompt_canvas", "serve"]),
        "PC_FILE": str(file),
        "PC_SCENARIO": scenario,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    proc = subprocess.run(
        ["nvim", "--headless", "-n", "-i", "NONE", "-u", str(HERE / "editors" / "nvim_e2e.lua")],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result, file.read_text(encoding="utf-8")


def test_neovim_expands_a_selected_phrase(tmp_path: Path) -> None:
    result, on_disk = run_nvim(tmp_path, "expand")
    assert result["applied"] is True
    assert f"## beach sunset\n{result['prompt']}\n" in on_disk
    assert len(result["prompt"].split()) >= 30 and "beach sunset" in result["prompt"]
    assert on_disk.startswith("---\ntarget: dalle\nseed: 5\n") and "a fox in the snow\n" in on_disk


def test_neovim_generates_variations(tmp_path: Path) -> None:
    result, on_disk = run_nvim(tmp_path, "vary")
    assert result["applied"] is True and len(result["variations"]) == 3
    for i, variation in enumerate(result["variations"], start=1):
        assert f"## fox · v{i}\n{variation}\n" in on_disk
    assert "## fox\na fox in the snow\n" in on_disk
