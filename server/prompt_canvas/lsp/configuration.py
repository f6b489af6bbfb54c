"""Settings from initializationOptions, workspace/configuration and didChangeConfiguration.

Invalid values fall back to their defaults and the user is told which ones.
Keys are read from the ``promptCanvas`` section (camelCase, as editors send them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..settings import Settings, parse_settings, settings_from_env

if TYPE_CHECKING:
    from .server import PromptCanvasServer

SECTION = "promptCanvas"
SET_API_KEY = "promptCanvas/setApiKey"


def _section(raw: Any) -> Any:
    if isinstance(raw, Mapping) and isinstance(raw.get(SECTION), Mapping):
        return raw[SECTION]
    return raw


def update_settings(ls: PromptCanvasServer, raw: Any, base: Settings | None = None) -> None:
    raw = _section(raw)
    settings, problems = parse_settings(raw, base or settings_from_env())
    if isinstance(raw, Mapping) and "diagnosticsDelay" in raw:
        delay = raw["diagnosticsDelay"]
        if isinstance(delay, (int, float)) and not isinstance(delay, bool) and 0 <= delay <= 5000:
            ls.diagnostics_delay = delay / 1000
        else:
            problems.append(f"setting 'diagnosticsDelay': {delay!r} is not 0-5000 ms; using 150")
    changed = settings != ls.settings
    ls.settings = settings
    if problems:
        ls.message(
            "invalid settings, defaults used instead: " + "; ".join(problems), types.MessageType.Warning
        )
    if changed:
        from . import diagnostics

        diagnostics.refresh_all(ls)


def apply_initialization_options(ls: PromptCanvasServer, options: Any) -> None:
    if options is not None:
        ls.init_options = dict(options) if isinstance(options, Mapping) else {}
        update_settings(ls, options)


def _supports_configuration(ls: PromptCanvasServer) -> bool:
    workspace = ls.client_capabilities.workspace
    return bool(workspace and workspace.configuration)


def pull_configuration(ls: PromptCanvasServer) -> None:
    """Ask the client for the ``promptCanvas`` section (if it can answer)."""
    if _supports_configuration(ls):
        ls.spawn(_pull(ls))


async def _pull(ls: PromptCanvasServer) -> None:
    try:
        result = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
        )
    except Exception as exc:  # a client that fails here keeps the current settings
        ls.log(f"workspace/configuration failed: {exc}")
        return
    if result and isinstance(result[0], Mapping):
        # Client settings win over initializationOptions, key by key.
        merged = {**ls.init_options, **{k: v for k, v in result[0].items() if v is not None}}
        update_settings(ls, merged)


def register(server: PromptCanvasServer) -> None:
    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: PromptCanvasServer, params: types.DidChangeConfigurationParams) -> None:
        if _supports_configuration(ls):
            pull_configuration(ls)
        elif params.settings is not None:
            update_settings(ls, {**ls.init_options, **(_section(params.settings) or {})})

    @server.feature(SET_API_KEY)
    def set_api_key(ls: PromptCanvasServer, params: Any) -> None:
        """``{"apiKey": "sk-..."}`` sets the key for this session; null or "" clears it."""
        key = params.get("apiKey") if isinstance(params, Mapping) else getattr(params, "apiKey", None)
        ls.api_key = key.strip() if isinstance(key, str) and key.strip() else None
        ls.log("API key " + ("set for this session" if ls.api_key else "cleared"), types.MessageType.Info)
