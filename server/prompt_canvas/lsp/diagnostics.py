"""Diagnostics: published on open and, debounced, after changes."""

from __future__ import annotations

import asyncio
import gc
from typing import TYPE_CHECKING

from lsprotocol import types

from ..checks import check_document
from .convert import to_lsp_diagnostic
from .store import OpenDocument

if TYPE_CHECKING:
    from .server import PromptCanvasServer

_pending: dict[str, asyncio.TimerHandle] = {}


def publish(ls: PromptCanvasServer, doc: OpenDocument) -> None:
    context = ls.store.context_for(doc, ls.settings)
    found = check_document(doc.document, context)
    index = doc.document.index
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(
            uri=doc.uri,
            version=doc.version,
            diagnostics=[to_lsp_diagnostic(index, d, doc.uri, ls.encoding) for d in found],
        )
    )


def schedule(ls: PromptCanvasServer, uri: str, delay: float) -> None:
    handle = _pending.pop(uri, None)
    if handle is not None:
        handle.cancel()

    def run() -> None:
        _pending.pop(uri, None)
        doc = ls.store.find(uri)
        if doc is not None:
            publish(ls, doc)

    if delay <= 0:
        run()
    else:
        _pending[uri] = asyncio.get_running_loop().call_later(delay, run)


def refresh_all(ls: PromptCanvasServer) -> None:
    for uri in list(ls.store.documents):
        schedule(ls, uri, 0)


def register(server: PromptCanvasServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PromptCanvasServer, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        doc = ls.store.open(item.uri, item.version, item.text)
        publish(ls, doc)
        # The parsed blocks live as long as the document: keep them out of the cyclic GC's scans.
        gc.freeze()

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PromptCanvasServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if ls.store.find(uri) is None:
            return
        ls.store.change(uri, params.text_document.version, list(params.content_changes))
        schedule(ls, uri, ls.diagnostics_delay)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PromptCanvasServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.store.close(uri)
        handle = _pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: PromptCanvasServer, params: types.DidSaveTextDocumentParams) -> None:
        doc = ls.store.find(params.text_document.uri)
        if doc is not None:
            publish(ls, doc)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files(ls: PromptCanvasServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.store.refresh_wildcards()
        refresh_all(ls)
