"""The CLI contract, exercised through real subprocesses."""

import json
import subprocess
from pathlib import Path

from conftest import ROOT, cli_command


def run(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_command(), *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_expand_stdin_one_line_per_phrase() -> None:
    phrases = ["beach sunset", "", "fox in the snow", "a quokka juggling teacups"]
    result = run("expand", "--target", "dalle", "--seed", "1", stdin="\n".join(phrases) + "\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")[:-1]
    assert len(lines) == len(phrases)
    assert lines[1] == ""
    for phrase, line in zip(phrases, lines, strict=True):
        assert phrase in line


def test_expand_json_fields() -> None:
    result = run("expand", "--format", "json", "--target", "sdxl", "--seed", "4", "beach sunset", "fox")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["phrase"] for r in rows] == ["beach sunset", "fox"]
    for row in rows:
        assert set(row) == {"phrase", "prompt", "negative", "target", "backend", "seed", "note"}
        assert row["target"] == "sdxl" and row["backend"] == "offline" and row["seed"] == 4
        assert row["negative"]


def test_expand_is_deterministic_across_processes() -> None:
    a = run("expand", "--seed", "9", "lighthouse in a storm").stdout
    b = run("expand", "--seed", "9", "lighthouse in a storm").stdout
    assert a == b and a.strip()


def test_bad_input_is_a_clear_error_and_no_output() -> None:
    result = run("expand", "--target", "dalle-9", "fox")
    assert result.returncode == 2 and result.stdout == ""
    assert "unknown target 'dalle-9'" in result.stderr
    result = run("expand", stdin="")
    assert result.returncode == 2 and result.stdout == "" and "no phrase" in result.stderr
    result = run("vary", "-n", "0", "x")
    assert result.returncode == 2 and "between 1 and" in result.stderr
    result = run("vary", "a {b|c")
    assert result.returncode == 2 and result.stdout == "" and "never closed" in result.stderr
    result = run("check", "does-not-exist")
    assert result.returncode == 2 and "no such file" in result.stderr


def test_vary_text_and_json() -> None:
    result = run("vary", "-n", "3", "--seed", "2", "a {red|blue|green|white} {cat|dog}")
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 3
    result = run("vary", "--format", "json", "-n", "2", "fox in the snow")
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["mode"] == "semantic" and len(row["variations"]) == 2


def test_vary_prompt_files(examples: Path) -> None:
    result = run("vary", "--format", "json", str(examples / "landscapes.prompt"))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    coast = next(r for r in rows if r["entry"] == "rocky coastline")
    assert coast["mode"] == "template" and coast["combinations"] == 6 and len(coast["variations"]) == 4
    sunset = next(r for r in rows if r["entry"] == "beach sunset")
    assert sunset["mode"] == "semantic" and len(set(sunset["variations"])) == 4


def test_check_output_and_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "wildcards").mkdir()
    (tmp_path / "wildcards" / "colour.txt").write_text("red\n")
    (tmp_path / "good.prompt").write_text("## fox\na fox in a __colour__ coat\n")
    result = run("check", str(tmp_path))
    assert result.returncode == 0 and result.stdout == ""
    assert "1 file checked: 0 errors" in result.stderr

    (tmp_path / "bad.prompt").write_text("---\ntargte: sdxl\n---\n## 😀 fox\nsee 😀 {a|b __colour__\n")
    result = run("check", str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    bad = str(tmp_path / "bad.prompt")
    assert f"{bad}:2:1: warning: unknown front-matter key 'targte': did you mean 'target'?" in lines[0]
    assert lines[0].endswith("[front-matter-unknown-key]")
    assert lines[1].startswith(f"{bad}:5:7: error: '{{' is never closed")
    json_rows = [json.loads(x) for x in run("check", "--format", "json", bad).stdout.splitlines()]
    assert (
        json_rows[1]["line"] == 5
        and json_rows[1]["column"] == 7
        and json_rows[1]["code"] == "template-unclosed"
    )


def test_check_strict_fails_on_warnings(tmp_path: Path) -> None:
    (tmp_path / "w.prompt").write_text("---\ncolour: red\n---\nx\n")
    assert run("check", str(tmp_path)).returncode == 0
    assert run("check", "--strict", str(tmp_path)).returncode == 1


def test_check_reports_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / "latin1.prompt").write_bytes(b"caf\xe9 au lait\n")
    result = run("check", str(tmp_path))
    assert result.returncode == 1 and "[invalid-utf8]" in result.stdout and ":1:4:" in result.stdout


def test_pre_commit_hook_is_declared() -> None:
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["entry"] == "prompt-canvas check" and hook["files"] == r"\.prompt$"
