"""Rendering an entry into an image file kept beside the library, with provenance.

Pure core: what to send (:func:`plan_render`), where the files go, the
sidecar JSON, reuse of an earlier render with the same hash, and the latest
render of an entry (for hovers). The API call itself is
:mod:`.image_backend`, imported only when an image is really generated.

Layout (default): ``<library folder>/renders/<library stem>/<entry>-<hash>.png``
and ``<entry>-<hash>.json`` beside it. ``hash`` covers everything that shapes
the image: prompt, negative, model, size, quality, count, seed and server, so
the same request is never paid for twice. Files are written to a temporary
name and renamed; the sidecar is written last, so a crash leaves no
half-written image and no sidecar that points at missing files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .document import Document, Entry
from .errors import UserError
from .settings import RENDER_QUALITIES, Settings
from .targets import TARGETS
from .template import scan
from .variations import template_error
from .wildcards import WildcardLibrary

if TYPE_CHECKING:
    from .backends import BackendChoice

SIDECAR_FORMAT = 1
_SIZE = re.compile(r"^(auto|\d{2,5}x\d{2,5})$")
_SLUG = re.compile(r"[^a-z0-9]+")
_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}

Progress = Callable[[str], None]


class RenderError(UserError):
    """A render that cannot be done; the message says why and how to fix it."""


@dataclass(frozen=True)
class RenderOptions:
    model: str = "gpt-image-1"
    size: str = "1024x1024"
    quality: str = "auto"
    count: int = 1
    folder: str = "renders"


@dataclass(frozen=True)
class RenderJob:
    """Everything that decides one render (and so its hash)."""

    entry: str  # display name of the entry
    prompt: str
    negative: str | None
    target: str
    seed: int
    options: RenderOptions
    base_url: str

    @property
    def slug(self) -> str:
        return slugify(self.entry)

    @property
    def key(self) -> str:
        payload = {
            "prompt": self.prompt,
            "negative": self.negative,
            "model": self.options.model,
            "size": self.options.size,
            "quality": self.options.quality,
            "count": self.options.count,
            "seed": self.seed,
            "base_url": self.base_url,
        }
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:10]

    @property
    def stem(self) -> str:
        return f"{self.slug}-{self.key}"


@dataclass
class Rendered:
    """Image files on disk and their sidecar."""

    sidecar: Path
    images: list[Path]
    info: dict[str, Any] = field(default_factory=dict)
    reused: bool = False

    @property
    def revised_prompts(self) -> list[str | None]:
        revised = self.info.get("revised_prompt")
        return list(revised) if isinstance(revised, list) else []


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    revised_prompt: str | None = None


def slugify(name: str, limit: int = 48) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = _SLUG.sub("-", text).strip("-")[:limit].rstrip("-")
    return slug or "entry"


def image_kind(data: bytes) -> str | None:
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


# -- options -----------------------------------------------------------------------------


def render_options(
    document: Document, settings: Settings, overrides: Mapping[str, Any] | None = None
) -> RenderOptions:
    """Settings < front matter (image_model, size, quality, images, renders) < overrides."""
    raw: dict[str, Any] = {
        "model": settings.render_model,
        "size": settings.render_size,
        "quality": settings.render_quality,
        "count": settings.render_count,
        "folder": settings.render_folder,
    }
    for key, name in (
        ("image_model", "model"),
        ("size", "size"),
        ("quality", "quality"),
        ("images", "count"),
        ("renders", "folder"),
    ):
        value = document.setting(key)
        if value is not None:
            raw[name] = value
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = value
    model, size, quality, count, folder = (
        raw["model"],
        raw["size"],
        raw["quality"],
        raw["count"],
        raw["folder"],
    )
    if not isinstance(model, str) or not model.strip():
        raise RenderError(f"the image model must be a name such as gpt-image-1 or dall-e-3, not {model!r}")
    size = str(size).strip().lower()
    if not _SIZE.match(size):
        raise RenderError(f"the image size must look like 1024x1024 (or auto), not {raw['size']!r}")
    quality = str(quality).strip().lower()
    if quality not in RENDER_QUALITIES:
        raise RenderError(
            f"the image quality must be one of {', '.join(RENDER_QUALITIES)}, not {raw['quality']!r}"
        )
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10:
        raise RenderError(f"the number of images must be a whole number from 1 to 10, not {count!r}")
    if not isinstance(folder, str) or not folder.strip():
        raise RenderError(f"the renders folder must be a folder path, not {folder!r}")
    return RenderOptions(model.strip(), size, quality, count, folder.strip())


# -- what to send ----------------------------------------------------------------------------


def resolve_prompt(text: str, seed: int, wildcards: WildcardLibrary | None) -> str:
    """The entry's template made into one prompt with its seed (a plain prompt as it is)."""
    template = scan(text)
    error = template_error(template)
    if error:
        raise RenderError(f"the template cannot be used: {error}")
    if template.is_plain:
        return " ".join(text.split())
    from dynamicprompts.generators import RandomPromptGenerator

    manager = wildcards.manager() if wildcards is not None else None
    try:
        (prompt,) = RandomPromptGenerator(manager, seed=seed).generate(text, 1)
    except (ValueError, KeyError, RecursionError) as exc:
        raise RenderError(f"Dynamic Prompts could not expand the template: {exc}") from exc
    return " ".join(str(prompt).split())


def plan_render(
    document: Document,
    entry: Entry,
    target: str,
    seed: int,
    options: RenderOptions,
    base_url: str,
    wildcards: WildcardLibrary | None,
) -> RenderJob:
    shape = TARGETS[target]
    prompt = resolve_prompt(entry.prompt_source, seed, wildcards)
    if shape.params:  # Midjourney parameters mean nothing to an images API
        from .expanders.openai_backend import split_params

        prompt, _ = split_params(prompt)
    if not prompt:
        raise RenderError("nothing to render: the entry's prompt is empty")
    negative = None
    if shape.negative:
        source = entry.negative_source if entry.negative_source is not None else document.setting("negative")
        if isinstance(source, str) and source.strip():
            negative = resolve_prompt(source, seed, wildcards)
    return RenderJob(entry.display_name, prompt, negative, target, seed, options, base_url)


# -- files ---------------------------------------------------------------------------------


def output_folder(library: Path, options: RenderOptions) -> Path:
    base = Path(options.folder).expanduser()
    if not base.is_absolute():
        base = library.parent / base
    return base / slugify(library.stem)


def existing_render(job: RenderJob, folder: Path) -> Rendered | None:
    """The earlier render with the same hash, if its sidecar and every image are there."""
    sidecar = folder / f"{job.stem}.json"
    info = _read_sidecar(sidecar)
    if info is None:
        return None
    names = info.get("images")
    if not isinstance(names, list) or not names:
        return None
    images = [folder / str(name) for name in names]
    if not all(p.is_file() for p in images):
        return None
    return Rendered(sidecar, images, info, reused=True)


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_render(
    job: RenderJob, folder: Path, images: list[GeneratedImage], library: Path | None = None
) -> Rendered:
    if not images:
        raise RenderError("the image server returned no image")
    kinds = [image_kind(image.data) for image in images]
    if any(kind is None for kind in kinds):
        raise RenderError(
            "the image server's answer is not a PNG, JPEG or WebP image; nothing was written. "
            "Is the base URL an OpenAI-compatible images endpoint?"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"cannot create the renders folder {folder}: {exc.strerror or exc}") from exc
    names = [f"{job.stem}.{kind}" if i == 0 else f"{job.stem}-{i + 1}.{kind}" for i, kind in enumerate(kinds)]
    paths = [folder / name for name in names]
    info: dict[str, Any] = {
        "format": SIDECAR_FORMAT,
        "entry": job.entry,
        "file": library.name if library else None,
        "prompt": job.prompt,
        "negative": job.negative,
        "target": job.target,
        "model": job.options.model,
        "size": job.options.size,
        "quality": job.options.quality,
        "count": job.options.count,
        "seed": job.seed,
        "base_url": job.base_url,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "revised_prompt": [image.revised_prompt for image in images],
        "images": names,
        "hash": job.key,
    }
    try:
        for path, image in zip(paths, images, strict=True):
            _write_atomically(path, image.data)
        _write_atomically(
            folder / f"{job.stem}.json",
            (json.dumps(info, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        )
    except OSError as exc:
        raise RenderError(f"cannot write the render into {folder}: {exc.strerror or exc}") from exc
    return Rendered(folder / f"{job.stem}.json", paths, info)


def latest_render(folder: Path, entry: str) -> Rendered | None:
    """The newest complete render of ``entry`` in ``folder`` (by the sidecar's date)."""
    prefix = f"{slugify(entry)}-"
    best: tuple[str, Rendered] | None = None
    try:
        candidates = [p for p in folder.iterdir() if p.suffix == ".json" and p.name.startswith(prefix)]
    except OSError:
        return None
    for sidecar in candidates:
        stem = sidecar.stem[len(prefix) :]
        if not re.fullmatch(r"[0-9a-f]{10}", stem):
            continue  # another entry whose slug starts like this one's
        info = _read_sidecar(sidecar)
        if info is None or not isinstance(info.get("images"), list):
            continue
        images = [folder / str(name) for name in info["images"]]
        if not images or not all(p.is_file() for p in images):
            continue
        date = str(info.get("date") or "")
        if best is None or date > best[0]:
            best = (date, Rendered(sidecar, images, info, reused=True))
    return best[1] if best else None


# -- the whole flow --------------------------------------------------------------------------


OFFLINE_HELP = (
    "Rendering needs an image server, and the backend is offline. Set the backend to 'openai' "
    "(settings, or 'backend: openai' in the front matter) with an API key for OpenAI, or a 'baseUrl' "
    "of a local server with an OpenAI-compatible /v1/images/generations endpoint; the image model is "
    "'renderModel' (or 'image_model:' in the front matter)."
)


async def render(
    job: RenderJob,
    folder: Path,
    choice: BackendChoice,
    progress: Progress | None = None,
    force: bool = False,
    library: Path | None = None,
) -> Rendered:
    """Reuse the render with the same hash, or generate the image and write it with its sidecar."""
    if choice.llm is None:
        raise RenderError(OFFLINE_HELP)
    if not force:
        found = existing_render(job, folder)
        if found is not None:
            return found
    from .image_backend import ImageClient

    client = ImageClient(choice.llm)
    try:
        images = await client.generate(job, progress)
    finally:
        await client.aclose()
    return write_render(job, folder, images, library)
