"""``prompt-canvas serve``: the language server.

A thin adapter: documents are parsed and checked by the core; features live
in one module each (:mod:`.diagnostics`, :mod:`.actions`, :mod:`.commands`,
:mod:`.completion`, :mod:`.hover`, :mod:`.navigation`, :mod:`.configuration`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from .. import __version__
from ..settings import settings_from_env
from .jobs import Jobs
from .store import Store

if TYPE_CHECKING:
    from ..engine import Engine

log = logging.getLogger("prompt_canvas.lsp")


class PromptCanvasProtocol(LanguageServerProtocol):
    """pygls' protocol with two changes.

    - ``$/cancelRequest`` reaches the job a request started (see :mod:`.jobs`).
    - Open documents live in our :class:`~.store.Store` (parsed, updated
      incrementally); pygls' own copy is not kept, as updating it re-splits the
      whole text on every keystroke.
    """

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Any:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Any:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        server = self._server
        if isinstance(server, PromptCanvasServer) and server.jobs.cancel_request(msg_id):
            return  # the job answers the request itself, with a RequestCancelled error
        super()._handle_cancel_notification(msg_id)


class PromptCanvasServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "prompt-canvas",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=PromptCanvasProtocol,
        )
        self.store = Store()
        self.settings = settings_from_env()
        # Given by the client at run time (promptCanvas/setApiKey); never logged or written.
        self.api_key: str | None = None
        self.engine: Engine | None = None  # made on first use: see commands.engine
        self.jobs = Jobs()
        self.diagnostics_delay = 0.15  # seconds after the last keystroke
        self.init_options: dict[str, Any] = {}
        self.client_name: str | None = None  # initialize's clientInfo.name
        # Strong references to fire-and-forget tasks (asyncio keeps only weak ones).
        self.background: set[asyncio.Future[Any]] = set()

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    @property
    def encoding(self) -> str:
        return self.store.encoding

    def message(self, text: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"Prompt Canvas: {text}"))

    def log(self, text: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=text))


def create_server() -> PromptCanvasServer:
    from . import actions, commands, completion, configuration, diagnostics, hover, navigation, rendering

    server = PromptCanvasServer()
    for module in (configuration, diagnostics, actions, commands, completion, hover, navigation, rendering):
        module.register(server)

    @server.feature(types.INITIALIZE)
    def on_initialize(ls: PromptCanvasServer, params: types.InitializeParams) -> None:
        ls.process_id = params.process_id
        ls.client_name = params.client_info.name if params.client_info else None
        root = None
        if params.workspace_folders:
            root = params.workspace_folders[0].uri
        elif params.root_uri:
            root = params.root_uri
        if root and root.startswith("file:"):
            path = to_fs_path(root)
            ls.store.workspace_root = Path(path) if path else None
        configuration.apply_initialization_options(ls, params.initialization_options)

    @server.feature(types.INITIALIZED)
    def on_initialized(ls: PromptCanvasServer, params: types.InitializedParams) -> None:
        ls.store.encoding = str(ls.server_capabilities.position_encoding or "utf-16")
        ls.spawn(_watch_parent(ls))
        configuration.pull_configuration(ls)

    return server


async def _watch_parent(server: PromptCanvasServer, interval: float = 2.0) -> None:
    """Exit when the editor that started us is gone (LSP's processId)."""
    while True:
        await asyncio.sleep(interval)
        pid = server.process_id
        if pid and not _alive(pid):
            log.info("client process %s is gone: exiting", pid)
            os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="prompt-canvas serve", description="Run the Prompt Canvas language server."
    )
    parser.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    parser.add_argument(
        "--tcp", metavar="HOST:PORT", help="listen on a TCP port instead, e.g. 127.0.0.1:2087"
    )
    parser.add_argument("--log-file", type=Path, help="write the server's own log here")
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    args = parser.parse_args(argv)
    logging.basicConfig(
        filename=args.log_file, level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    server = create_server()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        try:
            server.start_tcp(host or "127.0.0.1", int(port))
        except ValueError:
            parser.error(f"--tcp needs HOST:PORT, got {args.tcp!r}")
    else:
        with contextlib.suppress(KeyboardInterrupt):
            server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
