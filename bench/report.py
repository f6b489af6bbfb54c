"""The benches' output: a table of (measure, value, goal) rows, then the figures as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def print_report(title: str, rows: Iterable[tuple[str, str, str]], figures: dict[str, Any]) -> None:
    rows = list(rows)
    width = max([len("measure"), *(len(name) for name, _, _ in rows)]) + 2
    print(title)
    print(f"{'measure':<{width}}{'value':>12}  goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}{value:>12}  {goal}")
    print(json.dumps(figures, indent=2))
