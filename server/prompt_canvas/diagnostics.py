"""Problems found in a document, with ranges, severities and stable codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .text import Span


class Severity(IntEnum):
    """Same numbering as LSP's DiagnosticSeverity."""

    ERROR = 1
    WARNING = 2
    INFO = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        return {"error": cls.ERROR, "warning": cls.WARNING, "info": cls.INFO, "hint": cls.HINT}[value]


@dataclass(frozen=True)
class Related:
    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    span: Span
    message: str
    severity: Severity
    code: str
    related: tuple[Related, ...] = ()
    # Machine-readable facts for quick fixes (e.g. the wildcard name to create).
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def shift(self, delta: int) -> Diagnostic:
        if delta == 0:
            return self
        return Diagnostic(
            self.span.shift(delta),
            self.message,
            self.severity,
            self.code,
            tuple(Related(r.span.shift(delta), r.message) for r in self.related),
            self.data,
        )
