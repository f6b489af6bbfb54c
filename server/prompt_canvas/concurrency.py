"""Running several awaitables at once, bounded, where one failure stops the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def bounded_gather(jobs: Sequence[Awaitable[T]], limit: int) -> list[T]:
    """Run ``jobs`` with at most ``limit`` in flight; results in order.

    The first error (or cancelling the caller) cancels the rest, and waits for
    them, so no request is left running behind an answer that will not come.
    """
    gate = asyncio.Semaphore(max(1, limit))

    async def one(job: Awaitable[T]) -> T:
        async with gate:
            return await job

    tasks = [asyncio.ensure_future(one(job)) for job in jobs]
    try:
        return await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
