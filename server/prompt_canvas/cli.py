"""``prompt-canvas``: expand, vary and check prompts from the command line.

A contract other tools rely on:

- ``expand``: one expansion per phrase, in order; with no PHRASE, phrases come
  from stdin one per line and each line gets exactly one output line (a blank
  line for a blank line). ``--format json`` prints one object per line.
- ``vary``: N variations per prompt (or per entry of each ``.prompt`` file).
- ``check``: ``path:line:col: severity: message [code]``, exit 1 on any error.

Everything is computed before anything is printed, so an error never leaves
half an answer behind. Errors go to stderr with a non-zero exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .backends import BackendChoice, choose_backend
from .cache import ResultCache
from .checks import CheckContext, check_document, document_target
from .concurrency import bounded_gather
from .diagnostics import Diagnostic, Severity
from .document import Document, parse_document
from .engine import Engine
from .expanders.base import ExpandError, ExpandRequest, Expansion
from .expanders.offline import OfflineExpander
from .library import find_prompt_files, read_source
from .settings import BACKENDS, settings_from_env
from .targets import DEFAULT_TARGET, TARGETS, resolve_target
from .variations import MAX_VARIATIONS, VaryError
from .wildcards import WildcardLibrary, folders_for

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A problem the user can fix; printed as 'prompt-canvas: error: ...'."""


def _target(value: str) -> str:
    target = resolve_target(value)
    if target is None:
        raise argparse.ArgumentTypeError(f"unknown target '{value}' (choose from {', '.join(TARGETS)})")
    return target.name


def _count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if not 1 <= n <= MAX_VARIATIONS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_VARIATIONS}")
    return n


def _seed(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return n


def _temperature(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number") from None
    if not 0.0 <= number <= 2.0:
        raise argparse.ArgumentTypeError("must be from 0 to 2")
    return number


def _timeout(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number of seconds") from None
    if not 1.0 <= number <= 3600.0:
        raise argparse.ArgumentTypeError("must be from 1 to 3600 seconds")
    return number


def _retries(value: str) -> int:
    if not value.isdigit() or int(value) > 10:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number from 0 to 10")
    return int(value)


def _jobs(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if not 1 <= number <= 64:
        raise argparse.ArgumentTypeError("must be from 1 to 64")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prompt-canvas",
        description="Turn short ideas into full image prompts, vary them, and lint .prompt libraries.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--target",
        "-t",
        type=_target,
        default=None,
        help=f"generator to shape for: {', '.join(TARGETS)} (default: {DEFAULT_TARGET})",
    )
    common.add_argument(
        "--seed", "-s", type=_seed, default=None, help="seed: same seed, same result (default 0)"
    )
    common.add_argument("--format", "-f", choices=("text", "json"), default="text", help="output format")
    common.add_argument(
        "--knowledge",
        "-k",
        type=Path,
        action="append",
        default=[],
        help="extra knowledge-base folder (YAML concepts); repeatable",
    )

    llm = argparse.ArgumentParser(add_help=False)
    group = llm.add_argument_group("backend (default: offline; see the README for OpenAI, Ollama, LM Studio)")
    group.add_argument(
        "--backend",
        "-b",
        choices=BACKENDS,
        default=None,
        help="offline (default) or openai (any compatible server)",
    )
    group.add_argument("--model", help="model name for --backend openai (default gpt-4o-mini)")
    group.add_argument(
        "--base-url", help="OpenAI-compatible base URL, e.g. http://localhost:11434/v1 (Ollama)"
    )
    group.add_argument("--temperature", type=_temperature, default=None, help="sampling temperature, 0-2")
    group.add_argument("--timeout", type=_timeout, default=None, help="seconds to wait for an answer")
    group.add_argument(
        "--max-retries", type=_retries, default=None, help="retries after 429/5xx/dropped connections (0-10)"
    )
    group.add_argument("--no-cache", action="store_true", help="ask the server even if the answer is cached")
    group.add_argument(
        "--fallback-offline",
        action="store_true",
        default=None,
        help="if the server cannot be reached, use the offline expander (and say so)",
    )
    group.add_argument(
        "--jobs", "-j", type=_jobs, default=8, help="requests in flight at once with an LLM (default 8)"
    )

    expand = sub.add_parser(
        "expand",
        parents=[common, llm],
        help="expand short phrases into full prompts",
        description="Expand each PHRASE (or each stdin line) into a full image prompt.",
    )
    expand.add_argument("--style", help="style to weave in (like front-matter 'style')")
    expand.add_argument("--negative", help="negative prompt (Stable Diffusion; Midjourney gets --no)")
    expand.add_argument("--params", help="Midjourney parameters, e.g. '--ar 16:9 --v 7'")
    expand.add_argument("phrases", nargs="*", metavar="PHRASE", help="phrases; quote multi-word ones")

    vary_p = sub.add_parser(
        "vary",
        parents=[common, llm],
        help="generate variations of prompts or .prompt files",
        description="N variations of each PROMPT, stdin line, or entry of a .prompt file.",
    )
    vary_p.add_argument("-n", "--count", type=_count, default=None, help="variations per prompt (default 4)")
    vary_p.add_argument(
        "--mode",
        "-m",
        choices=("auto", "template", "semantic"),
        default="auto",
        help="template: sample {a|b} and __wildcards__; semantic: new treatments; auto: pick",
    )
    vary_p.add_argument("--wildcards", "-w", action="append", default=[], help="wildcard folder; repeatable")
    vary_p.add_argument("prompts", nargs="*", metavar="PROMPT", help="prompt text or a .prompt file")

    check = sub.add_parser(
        "check", help="lint .prompt files and folders", description="Lint .prompt files; exit 1 on any error."
    )
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: .)")
    check.add_argument("--format", "-f", choices=("text", "json"), default="text")
    check.add_argument(
        "--target", "-t", type=_target, default=None, help="target for files whose front matter names none"
    )
    check.add_argument("--wildcards", "-w", action="append", default=[], help="wildcard folder; repeatable")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    render_p = sub.add_parser(
        "render",
        help="render entries into images beside the library (OpenAI-compatible images API)",
        description=(
            "Render each entry of PATH (a .prompt file or a folder) with an OpenAI-compatible images "
            "endpoint (needs --backend openai or 'backend: openai'). Images go to renders/<file>/ beside "
            "the library, each with a JSON sidecar; the same prompt and settings are never rendered twice."
        ),
    )
    render_p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=".prompt files or folders")
    render_p.add_argument("--entry", "-e", action="append", default=[], help="only this entry (repeatable)")
    render_p.add_argument(
        "--backend", "-b", choices=BACKENDS, default=None, help="openai (offline cannot render)"
    )
    render_p.add_argument("--base-url", help="OpenAI-compatible base URL (default: OpenAI)")
    render_p.add_argument("--image-model", help="image model (default gpt-image-1; front matter image_model)")
    render_p.add_argument("--size", help="e.g. 1024x1024, 1536x1024, auto (front matter size)")
    render_p.add_argument("--quality", help="auto, low, medium, high; dall-e-3: standard, hd")
    render_p.add_argument("--count", "-n", type=int, default=None, help="images per entry, 1-10")
    render_p.add_argument(
        "--out", type=Path, default=None, help="renders folder (default: renders beside the file)"
    )
    render_p.add_argument(
        "--seed", "-s", type=_seed, default=None, help="seed for templates (default: front matter)"
    )
    render_p.add_argument("--timeout", type=_timeout, default=None, help="seconds to wait for an image")
    render_p.add_argument("--max-retries", type=_retries, default=None, help="retries after 429/5xx (0-10)")
    render_p.add_argument("--force", action="store_true", help="render again even if the same render exists")
    render_p.add_argument(
        "--wildcards", "-w", action="append", default=[], help="wildcard folder; repeatable"
    )
    render_p.add_argument("--format", "-f", choices=("text", "json"), default="text")
    render_p.add_argument("--jobs", "-j", type=_jobs, default=2, help="renders in flight at once (default 2)")

    cache = sub.add_parser(
        "cache",
        help="show or clear the cache of LLM answers",
        description="The LLM answer cache: 'info' shows where it is and its size, 'clear' empties it.",
    )
    cache.add_argument("action", choices=("info", "clear"), help="info or clear")
    sub.add_parser("serve", help="run the language server (stdio; --tcp HOST:PORT)", add_help=False)
    return parser


def _read_stdin_lines(stdin: TextIO) -> list[str]:
    return [line.rstrip("\r\n") for line in stdin]


def _expander(knowledge: list[Path]) -> OfflineExpander:
    for folder in knowledge:
        if not folder.is_dir():
            raise CliError(f"knowledge folder not found: {folder}")
    if not knowledge:
        return OfflineExpander()
    expander, problems = OfflineExpander.with_workspace(knowledge)
    if problems:
        raise CliError("knowledge base problems:\n  " + "\n  ".join(problems))
    return expander


def _choice(args: argparse.Namespace, front_matter: dict[str, Any] | None = None) -> BackendChoice:
    overrides = {
        "backend": args.backend,
        "model": args.model,
        "base_url": args.base_url,
        "temperature": args.temperature,
        "timeout": args.timeout,
        "max_retries": args.max_retries,
        "fallback_to_offline": args.fallback_offline,
        "cache": False if args.no_cache else None,
    }
    return choose_backend(settings_from_env(), None, front_matter, overrides)


def cmd_expand(args: argparse.Namespace, stdin: TextIO, out: list[str], err: list[str]) -> int:
    phrases: list[str] = list(args.phrases) if args.phrases else _read_stdin_lines(stdin)
    if not phrases:
        raise CliError("no phrase given: pass PHRASE arguments or pipe phrases on stdin, one per line")
    knowledge = args.knowledge
    engine = Engine(offline=lambda: _expander(knowledge))
    choice = _choice(args)
    target = args.target or DEFAULT_TARGET
    seed = args.seed if args.seed is not None else 0

    async def one(phrase: str) -> Expansion | None:
        if not phrase.strip():
            return None
        request = ExpandRequest(phrase, target, seed, args.style, args.negative, args.params)
        try:
            return await engine.expand(request, choice)
        except ExpandError as exc:
            raise CliError(f"cannot expand {phrase!r}: {exc}") from exc

    async def run() -> list[Expansion | None]:
        try:
            return await bounded_gather([one(p) for p in phrases], args.jobs)
        finally:
            await engine.aclose()

    for expansion in asyncio.run(run()):
        if expansion is None:
            out.append("{}" if args.format == "json" else "")
            continue
        if expansion.note:
            err.append(f"prompt-canvas: note: {expansion.phrase!r}: {expansion.note}")
        if args.format == "json":
            out.append(json.dumps(expansion.to_json(), ensure_ascii=False))
        else:
            out.append(expansion.prompt)
    return EXIT_OK


@dataclass
class _VaryJob:
    prompt: str
    count: int
    seed: int
    target: str
    wildcards: WildcardLibrary
    choice: BackendChoice
    row: dict[str, Any]


def cmd_vary(args: argparse.Namespace, stdin: TextIO, out: list[str], err: list[str]) -> int:
    items: list[str] = (
        list(args.prompts) if args.prompts else [ln for ln in _read_stdin_lines(stdin) if ln.strip()]
    )
    if not items:
        raise CliError("no prompt given: pass PROMPT arguments, .prompt files, or pipe prompts on stdin")
    knowledge = args.knowledge
    engine = Engine(offline=lambda: _expander(knowledge))
    jobs: list[_VaryJob] = []
    for item in items:
        path = Path(item)
        if item.endswith(".prompt") or path.is_dir():
            if not path.exists():
                raise CliError(f"file not found: {item}")
            for file in find_prompt_files([path]):
                jobs.extend(_file_jobs(file, args))
            continue
        jobs.append(
            _VaryJob(
                item,
                args.count or 4,
                args.seed if args.seed is not None else 0,
                args.target or DEFAULT_TARGET,
                WildcardLibrary.load(folders_for(None, None, args.wildcards, Path.cwd())),
                _choice(args),
                {"prompt": item},
            )
        )

    async def one(job: _VaryJob) -> dict[str, Any]:
        try:
            made = await engine.vary(
                job.prompt, job.count, job.seed, args.mode, job.target, job.wildcards, job.choice
            )
        except (VaryError, ExpandError) as exc:
            where = f"{job.row['path']}:{job.row['line']}" if "path" in job.row else repr(job.prompt)
            raise CliError(f"cannot vary {where}: {exc}") from exc
        if made.note:
            err.append(f"prompt-canvas: note: {job.prompt[:60]!r}: {made.note}")
        return {**job.row, "variations": made.prompts, "mode": made.mode, "combinations": made.total}

    async def run() -> list[dict[str, Any]]:
        try:
            return await bounded_gather([one(job) for job in jobs], args.jobs)
        finally:
            await engine.aclose()

    results = asyncio.run(run())
    for i, row in enumerate(results):
        if args.format == "json":
            out.append(json.dumps(row, ensure_ascii=False))
            continue
        if i and (len(results) > 1):
            out.append("")
        if "path" in row:
            total = row["combinations"]
            info = f"{row['mode']}, {total} combinations" if total else row["mode"]
            out.append(f"# {row['path']}:{row['line']} {row['entry']} ({info})")
        out.extend(row["variations"])
    return EXIT_OK


def _file_jobs(file: Path, args: argparse.Namespace) -> list[_VaryJob]:
    source = read_source(file)
    if source.problems:
        raise CliError(f"{file}: {source.problems[0].message}")
    document = parse_document(source.text)
    wildcards = WildcardLibrary.load(
        folders_for(file, document.setting("wildcards"), args.wildcards, Path.cwd())
    )
    target = args.target or document_target(document).name
    seed = args.seed if args.seed is not None else _int_setting(document.setting("seed"), 0)
    count = args.count or _int_setting(document.setting("variations"), 4)
    choice = _choice(args, {key: document.setting(key) for key in ("backend", "model")})
    jobs = []
    for entry in document.entries:
        line = document.index.line_of(entry.span.start) + 1
        row = {"path": str(file), "line": line, "entry": entry.display_name, "prompt": entry.prompt}
        jobs.append(_VaryJob(entry.prompt_source, count, seed, target, wildcards, choice, row))
    return jobs


def cmd_cache(args: argparse.Namespace, out: list[str]) -> int:
    cache = ResultCache()
    if args.action == "clear":
        removed = cache.clear()
        out.append(f"removed {removed} cached answer{'s' if removed != 1 else ''} from {cache.folder}")
    else:
        info = cache.info()
        out.append(f"{info.folder}: {info.entries} cached answers, {info.bytes / 1024:.1f} KiB")
    return EXIT_OK


def cmd_render(args: argparse.Namespace, out: list[str], err: list[str]) -> int:
    from .render import RenderError, output_folder, plan_render, render_options

    files = list(find_prompt_files(args.paths))
    if not files:
        raise CliError("no .prompt files found in " + ", ".join(str(p) for p in args.paths))
    wanted = {name.strip().lower() for name in args.entry}
    overrides = {
        "model": args.image_model,
        "size": args.size,
        "quality": args.quality,
        "count": args.count,
        "folder": str(args.out) if args.out is not None else None,
    }
    settings = settings_from_env()
    jobs: list[tuple[Path, int, Any, Any, BackendChoice]] = []
    for file in files:
        source = read_source(file)
        if source.problems:
            raise CliError(f"{file}: {source.problems[0].message}")
        document = parse_document(source.text)
        front = {key: document.setting(key) for key in ("backend", "model")}
        choice = choose_backend(
            settings,
            None,
            front,
            {
                "backend": args.backend,
                "base_url": args.base_url,
                "timeout": args.timeout,
                "max_retries": args.max_retries,
            },
        )
        if choice.llm is None:
            from .render import OFFLINE_HELP

            raise CliError(
                f"{file}: {OFFLINE_HELP} From the command line: --backend openai [--base-url URL]."
            )
        try:
            options = render_options(document, settings, overrides)
        except RenderError as exc:
            raise CliError(f"{file}: {exc}") from exc
        wildcards = WildcardLibrary.load(
            folders_for(file, document.setting("wildcards"), args.wildcards, Path.cwd())
        )
        target = document_target(document).name
        seed = args.seed if args.seed is not None else _int_setting(document.setting("seed"), 0)
        for entry in document.entries:
            if wanted and entry.display_name.strip().lower() not in wanted:
                continue
            line = document.index.line_of(entry.span.start) + 1
            try:
                job = plan_render(document, entry, target, seed, options, choice.llm.base_url, wildcards)
            except RenderError as exc:
                raise CliError(f"{file}:{line}: {entry.display_name}: {exc}") from exc
            jobs.append((file, line, job, output_folder(file, options), choice))
    if wanted and not jobs:
        raise CliError("no entry named " + ", ".join(repr(n) for n in args.entry))

    rows, failures, skipped = asyncio.run(_render_all(jobs, args.jobs, args.force))
    for row in rows:
        if args.format == "json":
            out.append(json.dumps(row, ensure_ascii=False))
        else:
            note = " (already rendered)" if row["reused"] else ""
            out.append(f"{row['path']}:{row['line']}: {row['entry']} -> {', '.join(row['images'])}{note}")
    err.extend(f"prompt-canvas: error: {failure}" for failure in failures)
    made_count = sum(not r["reused"] for r in rows)
    summary = f"{made_count} rendered, {len(rows) - made_count} already there"
    if failures:
        summary += f", {len(failures)} failed"
    if skipped:
        summary += f", {skipped} not tried after the error above"
    err.append(summary)
    return EXIT_PROBLEMS if failures else EXIT_OK


# An error about one entry's prompt or answer; any other (key, model, size, quota, a server that is
# down or slow) would fail every entry the same way, so the batch stops there.
_ENTRY_ERRORS = ("refused", "malformed", "empty")


async def _render_all(
    jobs: list[tuple[Path, int, Any, Path, BackendChoice]], limit: int, force: bool
) -> tuple[list[dict[str, Any]], list[str], int]:
    """Render every job, ``limit`` at a time; (rows in order, failure messages, jobs not started)."""
    from .expanders.openai_backend import LLMError
    from .render import RenderError, render

    stopped = False
    failures: list[str] = []
    skipped = 0

    async def one(
        file: Path, line: int, job: Any, folder: Path, choice: BackendChoice
    ) -> dict[str, Any] | None:
        nonlocal stopped, skipped
        if stopped:  # bounded_gather starts a job only when a slot is free
            skipped += 1
            return None
        try:
            made = await render(job, folder, choice, force=force, library=file)
        except (RenderError, ExpandError) as exc:
            if isinstance(exc, LLMError) and exc.kind not in _ENTRY_ERRORS:
                stopped = True
            failures.append(f"{file}:{line}: {job.entry}: {exc}")
            return None
        return {
            "path": str(file),
            "line": line,
            "entry": job.entry,
            "images": [str(p) for p in made.images],
            "sidecar": str(made.sidecar),
            "reused": made.reused,
            "prompt": job.prompt,
            "revised_prompt": made.revised_prompts,
        }

    results = await bounded_gather([one(*job) for job in jobs], limit)
    return [row for row in results if row is not None], failures, skipped


def _int_setting(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def check_file(
    path: Path, target: str | None, wildcard_folders: Sequence[str], root: Path | None = None
) -> tuple[Document, list[Diagnostic]]:
    source = read_source(path)
    document = parse_document(source.text)
    library = WildcardLibrary.load(folders_for(path, document.setting("wildcards"), wildcard_folders, root))
    context = CheckContext(document_target(document, target or DEFAULT_TARGET), library)
    return document, source.problems + check_document(document, context)


def cmd_check(args: argparse.Namespace, stdin: TextIO, out: list[str], err: list[str]) -> int:
    paths = args.paths or [Path(".")]
    for path in paths:
        if not path.exists():
            raise CliError(f"no such file or folder: {path}")
    files = list(find_prompt_files(paths))
    counts = {s: 0 for s in Severity}
    for file in files:
        try:
            document, diagnostics = check_file(file, args.target, args.wildcards, Path.cwd())
        except OSError as exc:
            raise CliError(f"cannot read {file}: {exc.strerror or exc}") from exc
        for d in diagnostics:
            counts[d.severity] += 1
            line = document.index.line_of(d.span.start)
            col = d.span.start - document.index.line_starts[line]
            if args.format == "json":
                out.append(
                    json.dumps(
                        {
                            "path": str(file),
                            "line": line + 1,
                            "column": col + 1,
                            "end_line": document.index.line_of(d.span.end) + 1,
                            "end_column": d.span.end
                            - document.index.line_starts[document.index.line_of(d.span.end)]
                            + 1,
                            "severity": d.severity.label,
                            "code": d.code,
                            "message": d.message,
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                out.append(f"{file}:{line + 1}:{col + 1}: {d.severity.label}: {d.message} [{d.code}]")
    summary = (
        f"{len(files)} file{'s' if len(files) != 1 else ''} checked: {counts[Severity.ERROR]} errors, "
        f"{counts[Severity.WARNING]} warnings, {counts[Severity.INFO] + counts[Severity.HINT]} notes"
    )
    err.append(summary)
    failed = counts[Severity.ERROR] or (args.strict and counts[Severity.WARNING])
    return EXIT_PROBLEMS if failed else EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == [
        "serve"
    ]:  # the language server has its own options; keep its imports out of the CLI's path
        from .lsp.server import main as serve

        return serve(raw[1:])
    parser = build_parser()
    args = parser.parse_args(raw)
    if args.command is None:
        parser.print_help(stderr)
        return EXIT_USAGE
    out: list[str] = []
    err: list[str] = []
    try:
        if args.command == "expand":
            code = cmd_expand(args, stdin, out, err)
        elif args.command == "vary":
            code = cmd_vary(args, stdin, out, err)
        elif args.command == "cache":
            code = cmd_cache(args, out)
        elif args.command == "render":
            code = cmd_render(args, out, err)
        else:
            code = cmd_check(args, stdin, out, err)
    except CliError as exc:
        stderr.write(f"prompt-canvas: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        stderr.write("prompt-canvas: interrupted\n")
        return 130
    if out:
        stdout.write("\n".join(out) + "\n")
    stdout.flush()
    if err:
        stderr.write("\n".join(err) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
