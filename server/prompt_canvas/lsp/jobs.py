"""Long-running work (expansions, variations): cancellable, with progress.

pygls answers ``$/cancelRequest`` for ``workspace/executeCommand`` but keeps
running the command's coroutine. Every job here runs as its own task, keyed by
the request id that started it, so both a ``$/cancelRequest`` and the Cancel
button of its work-done progress really stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types

if TYPE_CHECKING:
    from .server import PromptCanvasServer

T = TypeVar("T")


class JobCancelled(Exception):
    """The user cancelled the job; nothing was changed."""


class Jobs:
    def __init__(self) -> None:
        self.by_request: dict[Any, asyncio.Task[Any]] = {}

    def cancel_request(self, msg_id: Any) -> bool:
        task = self.by_request.get(msg_id)
        if task is not None and not task.done():
            task.cancel()
            return True
        return False

    async def run(
        self,
        ls: PromptCanvasServer,
        title: str,
        work: Callable[[Callable[[str], None]], Awaitable[T]],
    ) -> T:
        """Run ``work(report)`` as a task with cancellable work-done progress.

        ``report(message)`` updates the progress message. Raises
        :class:`JobCancelled` when the user cancels (progress button or
        ``$/cancelRequest``).
        """
        msg_id = ls.protocol.msg_id
        token: str | None = None
        window = ls.client_capabilities.window
        if window is not None and window.work_done_progress:
            token = str(uuid.uuid4())
            try:
                await asyncio.wait_for(ls.work_done_progress.create_async(token), timeout=5)
                ls.work_done_progress.begin(
                    token, types.WorkDoneProgressBegin(title=title, cancellable=True, message="starting…")
                )
            except Exception:  # a client that refuses progress still gets the work done
                token = None

        def report(message: str) -> None:
            if token is not None:
                ls.work_done_progress.report(token, types.WorkDoneProgressReport(message=message[:200]))

        task: asyncio.Task[T] = asyncio.ensure_future(work(report))
        if msg_id is not None:
            self.by_request[msg_id] = task
        if token is not None:
            future = ls.work_done_progress.tokens.get(token)
            if future is not None:
                future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        outcome = "done"
        try:
            return await task
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise JobCancelled(f"{title}: cancelled, nothing was changed") from None
        except Exception:
            outcome = "failed"
            raise
        finally:
            if msg_id is not None:
                self.by_request.pop(msg_id, None)
            if token is not None:
                with contextlib.suppress(Exception):
                    ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=outcome))
