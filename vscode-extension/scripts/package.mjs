// npm run package: build the extension, bundle the Python server, and make dist/prompt-canvas.vsix.
// Offline apart from the package registries (PyPI for the bundled wheels). The VSIX is
// platform-specific (compiled Python modules): --target defaults to this machine's platform.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = process.argv.find((a) => a.startsWith("--target="))?.slice(9) ?? `${platform()}-${arch()}`;
const python = process.env.PYTHON ?? (platform() === "win32" ? "python" : "python3");
const run = (cmd, args) => execFileSync(cmd, args, { cwd: here, stdio: "inherit" });

run(process.execPath, [join(here, "scripts", "build.mjs")]);
if (!process.argv.includes("--skip-python")) {
  run(python, [join(here, "scripts", "bundle_python.py"), "--platform", target]);
} else if (!existsSync(join(here, "bundled", "libs", "prompt_canvas_bundle.json"))) {
  throw new Error("--skip-python needs an earlier bundle in bundled/libs");
}
copyFileSync(join(here, "..", "LICENSE"), join(here, "LICENSE"));
mkdirSync(join(here, "dist"), { recursive: true });
// vsce scans every packaged file for secrets; on the ~2,900 files of the pinned, hash-checked
// third-party wheels that takes minutes. Scan our own files here, and let vsce skip the rest.
const secretlint = join(here, "node_modules", "secretlint", "bin", "secretlint.js");
run(process.execPath, [secretlint, "dist/extension.js", "package.json", "README.md", "language-configuration.json", "syntaxes/**", "bundled/libs/prompt_canvas/**"]);
const vsce = join(here, "node_modules", "@vscode", "vsce", "vsce");
run(process.execPath, [
  vsce, "package", "--target", target, "--no-dependencies", "--allow-package-all-secrets",
  "--out", join(here, "dist", "prompt-canvas.vsix"),
]);
