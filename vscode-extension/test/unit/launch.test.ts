import { describe, expect, it } from "vitest";
import { launchCommand, RESTART_SETTINGS } from "../../src/launch";

const probe = { version: [3, 12, 0] as [number, number, number], executable: "/usr/bin/python3", hasOwnServer: false };
const base = {
  extensionPath: "/ext",
  baseEnv: { PATH: "/usr/bin", PYTHONPATH: "/mine", UNSET: undefined },
  proxy: "",
  caBundle: "",
  logLevel: "INFO" as const,
  platform: "linux",
};

describe("launchCommand", () => {
  it("runs the bundled server isolated from the user's site-packages", () => {
    const got = launchCommand({ ...base, choice: { kind: "bundled", python: ["python3"], probe } });
    expect(got.command).toBe("python3");
    expect(got.args).toEqual(["-s", "-m", "prompt_canvas", "serve", "--log-level", "INFO"]);
    expect(got.env.PYTHONPATH).toBe("/ext/bundled/libs:/mine");
    expect(got.env.PYTHONNOUSERSITE).toBe("1");
    expect(got.env.PYTHONUTF8).toBe("1");
    expect(got.env.PATH).toBe("/usr/bin");
    expect("UNSET" in got.env).toBe(false);
  });
  it("runs an installed server as it is", () => {
    const got = launchCommand({ ...base, choice: { kind: "installed", python: ["py", "-3"], probe }, platform: "win32" });
    expect(got.command).toBe("py");
    expect(got.args).toEqual(["-3", "-m", "prompt_canvas", "serve", "--log-level", "INFO"]);
    expect(got.env.PYTHONPATH).toBe("/mine");
    expect(got.env.PYTHONNOUSERSITE).toBeUndefined();
  });
  it("passes the proxy and the CA bundle to the server's environment", () => {
    const got = launchCommand({
      ...base,
      choice: { kind: "bundled", python: ["python3"], probe },
      proxy: " http://proxy.corp:3128 ",
      caBundle: "/etc/corp-ca.pem",
      logLevel: "DEBUG",
    });
    expect(got.env.HTTPS_PROXY).toBe("http://proxy.corp:3128");
    expect(got.env.HTTP_PROXY).toBe("http://proxy.corp:3128");
    expect(got.env.SSL_CERT_FILE).toBe("/etc/corp-ca.pem");
    expect(got.args.slice(-2)).toEqual(["--log-level", "DEBUG"]);
  });
  it("restarts for the settings a running server cannot pick up", () => {
    expect(RESTART_SETTINGS).toEqual(["promptCanvas.python", "promptCanvas.caBundle", "http.proxy"]);
  });
});
