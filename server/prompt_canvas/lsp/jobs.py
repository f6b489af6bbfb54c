"""Long-running work (expansions, variations): cancellable, with progress.

pygls answers ``$/cancelRequest`` for ``workspace/executeCommand`` but keeps
running the command's coroutine. Every command body here runs as its own
task, keyed by the request id that started it, so a ``$/cancelRequest`` and
the Cancel button of its work-done progress both really stop it — wherever it
is: waiting for the progress token, working, or waiting for the edit.
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
    """The user cancelled the job; nothing was changed.

    ``by_request`` is True when the client cancelled the request itself
    (``$/cancelRequest``), False for the progress Cancel button.
    """

    def __init__(self, message: str, by_request: bool) -> None:
        super().__init__(message)
        self.by_request = by_request


class Jobs:
    def __init__(self) -> None:
        self.by_request: dict[Any, asyncio.Task[Any]] = {}
        self.cancelled_requests: set[Any] = set()

    def cancel_request(self, msg_id: Any) -> bool:
        task = self.by_request.get(msg_id)
        if task is not None and not task.done():
            self.cancelled_requests.add(msg_id)
            task.cancel()
            return True
        return False

    @property
    def running(self) -> int:
        return sum(1 for t in self.by_request.values() if not t.done())

    async def command(self, ls: PromptCanvasServer, body: Awaitable[T]) -> T:
        """Run a command body as a task that ``$/cancelRequest`` can cancel."""
        msg_id = ls.protocol.msg_id
        task: asyncio.Task[T] = asyncio.ensure_future(body)
        if msg_id is not None:
            self.by_request[msg_id] = task
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled():
                by_request = msg_id in self.cancelled_requests
                raise JobCancelled("cancelled, nothing was changed", by_request) from None
            raise
        finally:
            if msg_id is not None:
                self.by_request.pop(msg_id, None)
                self.cancelled_requests.discard(msg_id)

    async def progress(
        self,
        ls: PromptCanvasServer,
        title: str,
        work: Callable[[Callable[[str], None]], Awaitable[T]],
    ) -> T:
        """Run ``work(report)`` inside the current command with cancellable work-done progress.

        ``report(message)`` updates the progress message. The Cancel button
        cancels the whole command task.
        """
        me = asyncio.current_task()
        token: str | None = None
        window = ls.client_capabilities.window
        if window is not None and window.work_done_progress:
            token = str(uuid.uuid4())
            try:
                await asyncio.wait_for(ls.work_done_progress.create_async(token), timeout=10)
            except Exception:  # a client that refuses progress (or times out) still gets the work done
                token = None
        if token is not None:
            ls.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title=title, cancellable=True, message="working…")
            )
            future = ls.work_done_progress.tokens.get(token)
            if future is not None and me is not None:
                future.add_done_callback(lambda f: me.cancel() if f.cancelled() else None)

        def report(message: str) -> None:
            if token is not None:
                ls.work_done_progress.report(token, types.WorkDoneProgressReport(message=message[:200]))

        outcome = "done"
        try:
            return await work(report)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception:
            outcome = "failed"
            raise
        finally:
            if token is not None:
                with contextlib.suppress(Exception):
                    ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=outcome))
                ls.work_done_progress.tokens.pop(token, None)
