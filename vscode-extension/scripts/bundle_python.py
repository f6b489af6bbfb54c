"""Bundle the language server and its dependencies into ``bundled/libs`` for the VSIX.

As in Microsoft's vscode-python-tools-extension-template: dependencies come
pinned with hashes from ``requirements.txt`` and are installed with
``pip install --target``. Some of them carry compiled modules (pydantic-core,
jiter, regex, pyyaml), whose file names carry the Python version
(``_pydantic_core.cpython-311-x86_64-linux-gnu.so``), so wheels for every
supported Python are installed side by side in one folder; the extension
checks the user's interpreter against ``prompt_canvas_bundle.json``. The
third-party part is cached per ``requirements.txt`` in
``$PROMPT_CANVAS_CACHE`` (default ``~/.cache/prompt-canvas``).

Usage: python scripts/bundle_python.py [--platform linux-x64] [--pythons 3.11,3.12,3.13,3.14]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform as host_platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # vscode-extension/
ROOT = HERE.parent  # the repository: the prompt-canvas package itself
LIBS = HERE / "bundled" / "libs"
PYTHONS = ("3.11", "3.12", "3.13", "3.14")

# VS Code platform -> pip platform tags (newest first; pip takes any listed).
PIP_PLATFORMS = {
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"],
    "linux-arm64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    "darwin-x64": ["macosx_10_12_x86_64", "macosx_10_9_x86_64", "macosx_11_0_x86_64"],
    "darwin-arm64": ["macosx_11_0_arm64"],
    "win32-x64": ["win_amd64"],
    "win32-arm64": ["win_arm64"],
}


def host_target() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    machine = host_platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{system}-{arch}"


def pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    subprocess.run(command, check=True)


def cache_folder(key: str) -> Path:
    base = os.environ.get("PROMPT_CANVAS_CACHE") or str(Path.home() / ".cache" / "prompt-canvas")
    return Path(base) / f"bundled-libs-{key}"


def third_party(pythons: list[str], platform: str, tmp: Path) -> Path:
    """The pinned dependencies for every Python, installed once per requirements.txt (cached)."""
    requirements = HERE / "requirements.txt"
    key = hashlib.sha256(
        requirements.read_bytes() + json.dumps([pythons, platform]).encode()
    ).hexdigest()[:16]
    cached = cache_folder(key)
    if (cached / ".complete").exists():
        return cached
    merged = tmp / "merged"
    for version in pythons:
        target = tmp / version
        platform_args = [arg for tag in PIP_PLATFORMS[platform] for arg in ("--platform", tag)]
        pip(
            "install",
            "--target",
            str(target),
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            version,
            *platform_args,
            "-r",
            str(requirements),
        )
        # Same pure-Python files in every version; compiled modules differ by file name.
        shutil.copytree(target, merged, dirs_exist_ok=True)
    for junk in merged.glob("bin"):
        shutil.rmtree(junk)
    for pycache in merged.rglob("__pycache__"):
        shutil.rmtree(pycache, ignore_errors=True)
    try:
        if cached.exists():
            shutil.rmtree(cached)
        shutil.copytree(merged, cached)
        (cached / ".complete").write_text("ok\n")
        return cached
    except OSError:
        return merged  # no cache (read-only home): still a good bundle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default=host_target(), choices=sorted(PIP_PLATFORMS))
    parser.add_argument("--pythons", default=",".join(PYTHONS))
    args = parser.parse_args()
    pythons = [p.strip() for p in args.pythons.split(",") if p.strip()]

    if LIBS.exists():
        shutil.rmtree(LIBS)
    LIBS.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="prompt-canvas-bundle-") as tmp:
        libs = third_party(pythons, args.platform, Path(tmp))
        shutil.copytree(libs, LIBS, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete"))
        # The server itself (pure Python), built from this checkout.
        wheels = Path(tmp) / "wheel"
        pip("wheel", "--no-deps", "-w", str(wheels), str(ROOT))
        (wheel,) = wheels.glob("prompt_canvas-*.whl")
        pip("install", "--target", str(LIBS), "--no-deps", "--no-compile", str(wheel))
    for junk in LIBS.glob("bin"):
        shutil.rmtree(junk)
    (LIBS / "prompt_canvas_bundle.json").write_text(
        json.dumps({"pythons": pythons, "platform": args.platform}, indent=2) + "\n", encoding="utf-8"
    )
    size = sum(f.stat().st_size for f in LIBS.rglob("*") if f.is_file())
    print(f"bundled/libs: {len(list(LIBS.iterdir()))} entries, {size / 1e6:.1f} MB, Python {', '.join(pythons)}, {args.platform}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
