// VS Code settings (`promptCanvas.*`) -> the language server's settings object.
// The server reads the same camelCase keys from initializationOptions and from
// workspace/configuration; empty text means "the server's default".

export type Get = (key: string) => unknown;

export interface ServerSettings {
  [key: string]: unknown;
}

const TEXT_KEYS = [
  "backend",
  "target",
  "model",
  "baseUrl",
  "organization",
  "project",
  "renderModel",
  "renderSize",
  "renderQuality",
  "renderFolder",
] as const;
const NUMBER_KEYS = [
  "variations",
  "seed",
  "temperature",
  "timeout",
  "maxRetries",
  "diagnosticsDelay",
  "renderCount",
] as const;
const FLAG_KEYS = ["fallbackToOffline", "cache"] as const;
const LIST_KEYS = ["wildcardFolders", "knowledgeFolders"] as const;

export const SERVER_KEYS: readonly string[] = [...TEXT_KEYS, ...NUMBER_KEYS, ...FLAG_KEYS, ...LIST_KEYS];

export function serverSettings(get: Get): ServerSettings {
  const out: ServerSettings = {};
  for (const key of TEXT_KEYS) {
    const value = get(key);
    if (typeof value === "string" && value.trim()) out[key] = value.trim();
  }
  for (const key of NUMBER_KEYS) {
    const value = get(key);
    if (value !== undefined && value !== null) out[key] = value; // the server validates and says what is wrong
  }
  for (const key of FLAG_KEYS) {
    const value = get(key);
    if (value !== undefined && value !== null) out[key] = value;
  }
  for (const key of LIST_KEYS) {
    const value = get(key);
    if (Array.isArray(value)) out[key] = value.filter((v) => typeof v === "string" && v.trim());
  }
  return out;
}

export interface FileBackend {
  backend?: string;
  model?: string;
}

const FM_CLOSE = /^(?:---|\.\.\.)[ \t]*$/;
const FM_KEY = /^(backend|model)[ \t]*:[ \t]*(.*?)[ \t]*$/;

/**
 * The `backend:` and `model:` of a file's front matter (they win over the settings), read the way
 * the server reads them closely enough for the status bar: the first line is `---`, the block ends
 * at `---` or `...`.
 */
export function fileBackend(text: string): FileBackend {
  const lines = text.replace(/^\ufeff/, "").split(/\r?\n/, 200);
  if (!/^---[ \t]*$/.test(lines[0] ?? "")) return {};
  const out: FileBackend = {};
  for (const line of lines.slice(1)) {
    if (FM_CLOSE.test(line)) return out;
    const m = FM_KEY.exec(line);
    if (!m) continue;
    let value = m[2].replace(/[ \t]+#.*$/, "");
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2];
    value = value.trim();
    if (!value) continue;
    if (m[1] === "backend") {
      if (value === "offline" || value === "openai") out.backend = value;
    } else out.model = value;
  }
  return {}; // never closed: the server ignores it too
}

export interface BackendLabel {
  text: string;
  tooltip: string;
}

/** The status bar's words: backend and model (the active file's front matter wins), and what is running. */
export function statusLabel(
  settings: ServerSettings,
  busy: string | undefined,
  running: boolean,
  file: FileBackend = {},
): BackendLabel {
  const backend = (file.backend ?? settings.backend) === "openai" ? "openai" : "offline";
  const model = file.model ?? (typeof settings.model === "string" && settings.model ? settings.model : "gpt-4o-mini");
  const name = backend === "openai" ? `openai · ${model}` : "offline";
  const where =
    backend === "openai"
      ? `OpenAI-compatible server ${typeof settings.baseUrl === "string" && settings.baseUrl ? settings.baseUrl : "https://api.openai.com/v1"}, model ${model}`
      : "the built-in offline expander (no network, no key)";
  const fromFile = file.backend !== undefined || (backend === "openai" && file.model !== undefined);
  const icon = busy ? "$(loading~spin)" : running ? "$(sparkle)" : "$(warning)";
  return {
    text: `${icon} ${name}${busy ? ` · ${busy}` : ""}`,
    tooltip:
      `Prompt Canvas expands with ${where}.` +
      (fromFile ? " This file's front matter (backend:, model:) chooses it." : " A file's front matter (backend:, model:) wins over this.") +
      (running ? "" : " The language server is not running: see Prompt Canvas: Show Logs.") +
      " Click to switch backend.",
  };
}
