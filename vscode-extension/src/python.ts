// Which Python runs the language server, and whether it can.
//
// Order (as in vscode-python-tools-extension-template): the `promptCanvas.python`
// setting, else the Python extension's active environment, else `python3` on PATH
// (`py -3` / `python` on Windows). It must be Python >= 3.10. The bundled libraries
// (bundled/libs) carry compiled modules for the Python versions listed in
// bundled/libs/prompt_canvas_bundle.json; an interpreter outside that list can still
// run the server if it has `prompt-canvas` installed itself.

export const MIN_PYTHON: readonly [number, number] = [3, 10];

export interface Candidate {
  command: string[]; // executable and leading arguments, e.g. ["py", "-3"]
  source: "setting" | "python-extension" | "path";
}

export interface Probe {
  version: [number, number, number];
  executable: string;
  hasOwnServer: boolean; // `import prompt_canvas` works without our bundle
}

export interface Bundle {
  pythons: string[]; // "3.10", "3.11", ...
  platform: string; // e.g. "linux-x64"
}

export type Choice =
  | { kind: "bundled"; python: string[]; probe: Probe }
  | { kind: "installed"; python: string[]; probe: Probe }
  | { kind: "error"; message: string; fix: "setting" | "install" };

/** The interpreters to try, best first, without duplicates. */
export function candidates(setting: string, fromPythonExtension: string | undefined, platform: string): Candidate[] {
  const out: Candidate[] = [];
  const add = (command: string[], source: Candidate["source"]): void => {
    if (command[0] && !out.some((c) => c.command.join(" ") === command.join(" "))) {
      out.push({ command, source });
    }
  };
  const trimmed = setting.trim();
  if (trimmed) {
    add([expandHome(trimmed)], "setting");
    return out; // an explicit setting is the only choice: never silently use another Python
  }
  if (fromPythonExtension) add([fromPythonExtension], "python-extension");
  if (platform === "win32") {
    add(["py", "-3"], "path");
    add(["python"], "path");
  } else {
    add(["python3"], "path");
    add(["python"], "path");
  }
  return out;
}

function expandHome(path: string): string {
  const home = process.env.HOME ?? process.env.USERPROFILE;
  return home && (path === "~" || path.startsWith("~/")) ? home + path.slice(1) : path;
}

/** The one-line Python program whose JSON output `parseProbe` reads. */
export const PROBE_SCRIPT =
  "import json, sys, importlib.util as u; " +
  "print(json.dumps({'version': list(sys.version_info[:3]), 'executable': sys.executable, " +
  "'own': u.find_spec('prompt_canvas') is not None}))";

export function parseProbe(stdout: string): Probe | undefined {
  const line = stdout.trim().split(/\r?\n/).pop() ?? "";
  try {
    const data = JSON.parse(line) as { version?: unknown; executable?: unknown; own?: unknown };
    const v = data.version;
    if (!Array.isArray(v) || v.length < 2 || !v.every((n) => typeof n === "number")) return undefined;
    return {
      version: [v[0], v[1], v[2] ?? 0] as [number, number, number],
      executable: typeof data.executable === "string" ? data.executable : "",
      hasOwnServer: data.own === true,
    };
  } catch {
    return undefined;
  }
}

export function versionText(v: readonly number[]): string {
  return v.join(".");
}

/**
 * Decide how to run the server with the first candidate that answered.
 * `probes` pairs each candidate with its probe (undefined: it could not be run).
 */
export function choose(
  probes: Array<{ candidate: Candidate; probe: Probe | undefined; error?: string }>,
  bundle: Bundle | undefined,
): Choice {
  const tried: string[] = [];
  let unbundled: { name: string; probe: Probe } | undefined;
  for (const { candidate, probe, error } of probes) {
    const name = candidate.command.join(" ");
    if (!probe) {
      tried.push(`${name} (${error ?? "could not be run"})`);
      continue;
    }
    const [major, minor] = probe.version;
    if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
      tried.push(`${name} is Python ${versionText(probe.version)}`);
      continue;
    }
    if (bundle && bundle.pythons.includes(`${major}.${minor}`)) {
      return { kind: "bundled", python: candidate.command, probe };
    }
    if (probe.hasOwnServer) {
      return { kind: "installed", python: candidate.command, probe };
    }
    unbundled ??= { name, probe };
  }
  if (unbundled) {
    const { name, probe } = unbundled;
    const supported = bundle ? bundle.pythons.join(", ") : "none (this build has no bundled libraries)";
    return {
      kind: "error",
      fix: "install",
      message:
        `Prompt Canvas: ${name} is Python ${probe.version[0]}.${probe.version[1]}, and the server bundled with this ` +
        `extension runs on Python ${supported}. Choose one of those in the 'promptCanvas.python' setting, ` +
        `or install the server into this Python: ${probe.executable || name} -m pip install prompt-canvas`,
    };
  }
  const settingUsed = probes.some((p) => p.candidate.source === "setting");
  return {
    kind: "error",
    fix: "setting",
    message:
      `Prompt Canvas needs Python ${MIN_PYTHON.join(".")} or newer to run its language server, and none was found` +
      (tried.length ? ` (tried: ${tried.join("; ")})` : "") +
      (settingUsed
        ? ". Fix the path in the 'promptCanvas.python' setting."
        : ". Install Python 3.10+, or set 'promptCanvas.python' to its path."),
  };
}
