// How the language server process is started: command, arguments and environment.
// Pure: every input is a parameter, so tests pin it.
import * as path from "path";
import type { Choice } from "./python";

export interface LaunchInputs {
  choice: Extract<Choice, { kind: "bundled" | "installed" }>;
  extensionPath: string;
  baseEnv: Record<string, string | undefined>;
  proxy: string; // VS Code's `http.proxy`
  caBundle: string; // `promptCanvas.caBundle`
  logLevel: "DEBUG" | "INFO" | "WARNING" | "ERROR";
  platform: string;
}

export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export function bundledLibs(extensionPath: string): string {
  return path.join(extensionPath, "bundled", "libs");
}

export function launchCommand(inputs: LaunchInputs): Launch {
  const { choice } = inputs;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(inputs.baseEnv)) {
    if (v !== undefined) env[k] = v;
  }
  const sep = inputs.platform === "win32" ? ";" : ":";
  if (choice.kind === "bundled") {
    // Our libraries first; the user's own site-packages stay out of the way (-s, PYTHONNOUSERSITE).
    const libs = bundledLibs(inputs.extensionPath);
    env.PYTHONPATH = env.PYTHONPATH ? `${libs}${sep}${env.PYTHONPATH}` : libs;
    env.PYTHONNOUSERSITE = "1";
  }
  env.PYTHONUTF8 = "1";
  env.PYTHONUNBUFFERED = "1";
  const proxy = inputs.proxy.trim();
  if (proxy) {
    env.HTTPS_PROXY = proxy;
    env.HTTP_PROXY = proxy;
  }
  const ca = inputs.caBundle.trim();
  if (ca) {
    env.SSL_CERT_FILE = ca;
  }
  const [command, ...lead] = choice.python;
  const args = [...lead];
  if (choice.kind === "bundled") args.push("-s");
  args.push("-m", "prompt_canvas", "serve", "--log-level", inputs.logLevel);
  return { command, args, env };
}

/** Settings whose change needs a new server process (the rest reach it via workspace/configuration). */
export const RESTART_SETTINGS = ["promptCanvas.python", "promptCanvas.caBundle", "http.proxy"];
