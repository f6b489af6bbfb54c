"""Open documents as parsed models, kept in step with the editor's edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from ..checks import CheckContext, document_target
from ..document import Document, parse_document
from ..settings import Settings
from ..targets import Target
from ..wildcards import WildcardLibrary, folders_for
from .convert import to_span


@dataclass
class OpenDocument:
    uri: str
    version: int
    document: Document
    path: Path | None

    @property
    def text(self) -> str:
        return self.document.text


class UnknownDocument(LookupError):
    def __init__(self, uri: str) -> None:
        super().__init__(f"{uri} is not open in the editor (open it first)")
        self.uri = uri


@dataclass
class Store:
    """Every open document, plus the wildcard libraries their folders share."""

    documents: dict[str, OpenDocument] = field(default_factory=dict)
    libraries: dict[tuple[Path, ...], WildcardLibrary] = field(default_factory=dict)
    workspace_root: Path | None = None
    encoding: str = "utf-16"

    def open(self, uri: str, version: int, text: str) -> OpenDocument:
        path_str = to_fs_path(uri) if uri.startswith("file:") else None
        doc = OpenDocument(uri, version, parse_document(text), Path(path_str) if path_str else None)
        self.documents[uri] = doc
        return doc

    def change(
        self, uri: str, version: int, changes: list[types.TextDocumentContentChangeEvent]
    ) -> OpenDocument:
        doc = self.get(uri)
        document = doc.document
        for change in changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                span = to_span(document.index, change.range, self.encoding)
                document = document.apply_change(span.start, span.end, change.text)
            else:
                document = parse_document(change.text)
        doc.document = document
        doc.version = version
        return doc

    def close(self, uri: str) -> None:
        self.documents.pop(uri, None)

    def get(self, uri: str) -> OpenDocument:
        doc = self.documents.get(uri)
        if doc is None:
            raise UnknownDocument(uri)
        return doc

    def find(self, uri: str) -> OpenDocument | None:
        return self.documents.get(uri)

    # -- check context --------------------------------------------------------------
    def wildcards_for(self, doc: OpenDocument, settings: Settings) -> WildcardLibrary:
        folders = tuple(
            folders_for(doc.path, doc.document.setting("wildcards"), settings.wildcards, self.workspace_root)
        )
        library = self.libraries.get(folders)
        if library is None:
            library = WildcardLibrary.load(folders)
            self.libraries[folders] = library
        else:
            library.refresh(min_interval=2.0)
        return library

    def target_for(self, doc: OpenDocument, settings: Settings) -> Target:
        return document_target(doc.document, settings.target)

    def context_for(self, doc: OpenDocument, settings: Settings) -> CheckContext:
        return CheckContext(self.target_for(doc, settings), self.wildcards_for(doc, settings))

    def refresh_wildcards(self) -> None:
        for library in self.libraries.values():
            library.refresh(force=True)
