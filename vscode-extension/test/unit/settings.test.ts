import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SERVER_KEYS, fileBackend, serverSettings, statusLabel } from "../../src/settings";

const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
const properties: Record<string, { default: unknown }> = manifest.contributes.configuration.properties;

describe("serverSettings", () => {
  it("maps VS Code settings to the server's keys, leaving empty text to the server's default", () => {
    const values: Record<string, unknown> = {
      backend: "openai",
      target: "sdxl",
      model: " llama3.2 ",
      baseUrl: "",
      organization: "",
      variations: 6,
      seed: 3,
      fallbackToOffline: true,
      cache: false,
      wildcardFolders: ["/w", "", 7],
      python: "/usr/bin/python3",
    };
    expect(serverSettings((k) => values[k])).toEqual({
      backend: "openai",
      target: "sdxl",
      model: "llama3.2",
      variations: 6,
      seed: 3,
      fallbackToOffline: true,
      cache: false,
      wildcardFolders: ["/w"],
    });
  });
  it("passes numbers through for the server to validate", () => {
    expect(serverSettings((k) => (k === "variations" ? "lots" : undefined))).toEqual({ variations: "lots" });
  });
  it("covers every server setting the manifest declares, with the manifest's defaults", () => {
    const declared = Object.keys(properties).map((k) => k.replace("promptCanvas.", ""));
    const clientOnly = ["python", "caBundle"];
    expect(declared.filter((k) => !clientOnly.includes(k)).sort()).toEqual([...SERVER_KEYS].sort());
    const defaults = serverSettings((k) => properties[`promptCanvas.${k}`]?.default);
    expect(defaults).toMatchObject({ backend: "offline", target: "dalle", model: "gpt-4o-mini", variations: 4 });
    expect(defaults.baseUrl).toBeUndefined();
  });
});

describe("statusLabel", () => {
  it("shows the backend and model, and what is running", () => {
    expect(statusLabel({ backend: "offline" }, undefined, true).text).toBe("$(sparkle) offline");
    expect(statusLabel({ backend: "openai", model: "llama3.2" }, "expanding", true).text).toBe(
      "$(loading~spin) openai · llama3.2 · expanding",
    );
    const stopped = statusLabel({ backend: "openai", baseUrl: "http://localhost:11434/v1" }, undefined, false);
    expect(stopped.text).toBe("$(warning) openai · gpt-4o-mini");
    expect(stopped.tooltip).toContain("http://localhost:11434/v1");
    expect(stopped.tooltip).toContain("not running");
  });
});

describe("fileBackend", () => {
  it("reads backend and model from the front matter only", () => {
    const text = ["---", "title: x", "backend: openai  # the LLM", 'model: "llama3.2"', "---", "backend: offline", ""].join("\n");
    expect(fileBackend(text)).toEqual({ backend: "openai", model: "llama3.2" });
    expect(fileBackend("\ufeff---\r\nbackend: offline\r\n...\r\n")).toEqual({ backend: "offline" });
  });
  it("ignores files without closed front matter and unknown backends", () => {
    expect(fileBackend("## entry\nbackend: openai\n")).toEqual({});
    expect(fileBackend("---\nbackend: openai\n")).toEqual({});
    expect(fileBackend("---\nbackend: claude\nmodel:\n---\n")).toEqual({});
  });
  it("wins over the settings in the status bar", () => {
    const label = statusLabel({ backend: "offline", model: "gpt-4o" }, undefined, true, { backend: "openai", model: "test-model" });
    expect(label.text).toBe("$(sparkle) openai · test-model");
    expect(label.tooltip).toContain("This file's front matter");
    expect(statusLabel({ backend: "openai", model: "gpt-4o" }, undefined, true, { model: "m2" }).text).toBe("$(sparkle) openai · m2");
    expect(statusLabel({ backend: "offline" }, undefined, true, { model: "m2" }).text).toBe("$(sparkle) offline");
  });
});
