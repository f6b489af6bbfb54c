// Bundle the extension (and vscode-languageclient) into dist/extension.js with esbuild.
import { build } from "esbuild";

await build({
  entryPoints: ["src/extension.ts"],
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node18",
  external: ["vscode"],
  outfile: "dist/extension.js",
  sourcemap: true,
  logLevel: "warning",
});
console.log("dist/extension.js built");
