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

export interface BackendLabel {
  text: string;
  tooltip: string;
}

/** The status bar's words: backend and model, and what is running. */
export function statusLabel(settings: ServerSettings, busy: string | undefined, running: boolean): BackendLabel {
  const backend = settings.backend === "openai" ? "openai" : "offline";
  const model = typeof settings.model === "string" && settings.model ? settings.model : "gpt-4o-mini";
  const name = backend === "openai" ? `openai · ${model}` : "offline";
  const where =
    backend === "openai"
      ? `OpenAI-compatible server ${typeof settings.baseUrl === "string" && settings.baseUrl ? settings.baseUrl : "https://api.openai.com/v1"}, model ${model}`
      : "the built-in offline expander (no network, no key)";
  const icon = busy ? "$(loading~spin)" : running ? "$(sparkle)" : "$(warning)";
  return {
    text: `${icon} ${name}${busy ? ` · ${busy}` : ""}`,
    tooltip:
      `Prompt Canvas expands with ${where}.` +
      (running ? "" : " The language server is not running: see Prompt Canvas: Show Logs.") +
      " A file's front matter (backend:, model:) wins over this. Click to switch backend.",
  };
}
