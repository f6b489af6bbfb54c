"""A small but honest editor model for language-server tests.

It keeps each open document's text and version like a real editor: edits the
server asks for with ``workspace/applyEdit`` are checked against the document
version (a stale edit is refused, as VS Code does), applied, and sent back to
the server as ``didChange``. Typing is sent as incremental changes.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from prompt_canvas.text import LineIndex, Position

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "prompt_canvas", "serve"])


def isolated_server(cache_dir: str) -> ClientServerConfig:
    """The server with no OPENAI_* / PROMPT_CANVAS_* from the caller's environment and its own cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PROMPT_CANVAS_"))}
    return ClientServerConfig(
        server_command=SERVER.server_command, server_env={**env, "PROMPT_CANVAS_CACHE_DIR": cache_dir}
    )


async def end_session(client: LanguageClient) -> None:
    """Shut the server down; kill it if the session failed before it could be told to exit."""
    await client.shutdown_session()  # a no-op if the test never initialized
    server = client._server
    if server is not None and server.returncode is None:
        server.kill()


def fix_code_action_structuring(client: LanguageClient) -> None:
    """pytest-lsp 1.0.1 quirk: a CodeAction carrying ``command`` is structured as a bare Command.

    Pick Command only when ``command`` is a string (VS Code does the same). Known
    workaround, client side only.
    """
    converter = client.protocol._converter
    union = types.Command | types.CodeAction

    def structure(obj: Any, _: Any) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(union, structure)
    converter.register_structure_hook(types.CodeAction | types.Command, structure)


@dataclass
class Document:
    text: str
    version: int = 1


@dataclass
class Editor:
    client: LanguageClient
    docs: dict[str, Document] = field(default_factory=dict)
    applied: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    message_choice: int | None = None  # which action showMessageRequest answers with
    message_requests: list[types.ShowMessageRequestParams] = field(default_factory=list)
    # Press the progress Cancel button instead of answering showMessageRequest.
    cancel_on_message: bool = False
    apply_delay: float = 0.0
    # Called (and awaited) when the server asks to create a progress token,
    # before answering: lets a test type into a document while a command runs.
    before_progress: Any = None
    # Called once before the next applyEdit is checked (a keystroke racing the edit).
    before_apply: Any = None
    progress_tokens: list[Any] = field(default_factory=list)
    shown: list[types.ShowDocumentParams] = field(default_factory=list)  # window/showDocument requests

    def install(self) -> None:
        fix_code_action_structuring(self.client)

        @self.client.feature(types.WORKSPACE_APPLY_EDIT)
        async def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            if self.apply_delay:
                await asyncio.sleep(self.apply_delay)
            return self.apply(params)

        # Replace pytest-lsp's default handler (keeping its bookkeeping below).
        self.client.protocol.fm.features.pop(types.WINDOW_WORK_DONE_PROGRESS_CREATE, None)

        @self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        async def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
            self.client.progress_reports.setdefault(params.token, [])
            self.progress_tokens.append(params.token)
            if self.before_progress is not None:
                hook, self.before_progress = self.before_progress, None
                result = hook(params.token)
                if asyncio.iscoroutine(result):
                    await result

        self.client.protocol.fm.features.pop(types.WINDOW_SHOW_DOCUMENT, None)  # pytest-lsp's own

        @self.client.feature(types.WINDOW_SHOW_DOCUMENT)
        def show_document(params: types.ShowDocumentParams) -> types.ShowDocumentResult:
            self.shown.append(params)
            return types.ShowDocumentResult(success=True)

        @self.client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def message_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.message_requests.append(params)
            if self.cancel_on_message:
                # Sent before our answer, so the server sees the cancel first.
                token = self.progress_tokens[-1]
                self.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
                return None
            if self.message_choice is None or not params.actions:
                return None
            return params.actions[self.message_choice]

    def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        if self.before_apply is not None:
            hook, self.before_apply = self.before_apply, None
            hook()
        changes = params.edit.document_changes or []
        for change in changes:
            assert isinstance(change, types.TextDocumentEdit), change
            doc = self.docs.get(change.text_document.uri)
            if doc is None:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="document not open")
            if change.text_document.version is not None and change.text_document.version != doc.version:
                self.refused.append(change.text_document.uri)
                return types.ApplyWorkspaceEditResult(
                    applied=False, failure_reason="document version mismatch"
                )
        for change in changes:
            assert isinstance(change, types.TextDocumentEdit)
            uri = change.text_document.uri
            index = LineIndex(self.docs[uri].text)
            spans = []
            for edit in change.edits:
                assert isinstance(edit, types.TextEdit)
                start = index.offset(Position(edit.range.start.line, edit.range.start.character))
                end = index.offset(Position(edit.range.end.line, edit.range.end.character))
                spans.append((start, end, edit.new_text))
            text = self.docs[uri].text
            for start, end, new in sorted(spans, reverse=True):
                text = text[:start] + new + text[end:]
            self._set(uri, text)
        self.applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    def _set(self, uri: str, text: str) -> None:
        doc = self.docs[uri]
        doc.text = text
        doc.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def open(self, uri: str, text: str) -> None:
        self.docs[uri] = Document(text)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="prompt", version=1, text=text)
            )
        )

    def type(self, uri: str, offset: int, text: str, delete: int = 0) -> None:
        """Type ``text`` at ``offset`` (replacing ``delete`` characters), as an incremental change."""
        doc = self.docs[uri]
        index = LineIndex(doc.text)
        start, end = index.position(offset), index.position(offset + delete)
        doc.text = doc.text[:offset] + text + doc.text[offset + delete :]
        doc.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            types.Position(start.line, start.character),
                            types.Position(end.line, end.character),
                        ),
                        text=text,
                    )
                ],
            )
        )

    def range_of(self, uri: str, needle: str) -> types.Range:
        text = self.docs[uri].text
        start = text.index(needle)
        index = LineIndex(text)
        a, b = index.position(start), index.position(start + len(needle))
        return types.Range(types.Position(a.line, a.character), types.Position(b.line, b.character))

    def position_of(self, uri: str, needle: str, delta: int = 0) -> types.Position:
        text = self.docs[uri].text
        p = LineIndex(text).position(text.index(needle) + delta)
        return types.Position(p.line, p.character)


async def start(client: LanguageClient, spec: str = "visual_studio_code", **init: Any) -> Editor:
    editor = Editor(client)
    editor.install()
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(spec),
            process_id=None,
            initialization_options=init.get("options", {"diagnosticsDelay": 0}),
            workspace_folders=init.get("folders"),
            root_uri=init.get("root_uri"),
            client_info=types.ClientInfo(name=init["client_name"]) if "client_name" in init else None,
        )
    )
    return editor
