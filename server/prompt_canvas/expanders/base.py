"""What every expander takes and returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

from ..errors import UserError
from ..targets import DEFAULT_TARGET


@dataclass(frozen=True)
class ExpandRequest:
    phrase: str
    target: str = DEFAULT_TARGET
    seed: int = 0
    style: str | None = None  # file-level style (front matter)
    negative: str | None = None  # file- or entry-level negative prompt
    params: str | None = None  # Midjourney parameters


@dataclass(frozen=True)
class Expansion:
    phrase: str
    prompt: str
    negative: str | None
    target: str
    backend: str
    seed: int
    note: str | None = None  # something the user should know (a fallback, a kept phrase)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ExpandError(UserError):
    """An expansion that could not be made; the message is meant for the user."""


class Expander(Protocol):
    name: str

    async def expand(self, request: ExpandRequest) -> Expansion: ...
