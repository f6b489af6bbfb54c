import { describe, expect, it } from "vitest";
import { type Candidate, candidates, choose, parseProbe, type Probe } from "../../src/python";

const bundle = { pythons: ["3.11", "3.12", "3.13", "3.14"], platform: "linux-x64" };
const probe = (version: [number, number, number], own = false, executable = "/usr/bin/python3"): Probe => ({
  version,
  executable,
  hasOwnServer: own,
});
const cand = (command: string, source: Candidate["source"] = "path"): Candidate => ({ command: command.split(" "), source });

describe("candidates", () => {
  it("uses only the setting when it is set", () => {
    expect(candidates("/opt/py/bin/python", "/venv/bin/python", "linux")).toEqual([
      { command: ["/opt/py/bin/python"], source: "setting" },
    ]);
  });
  it("expands ~ in the setting", () => {
    process.env.HOME = "/home/me";
    expect(candidates("~/py/bin/python3", undefined, "linux")[0].command).toEqual(["/home/me/py/bin/python3"]);
  });
  it("falls back to the Python extension, then python3 and python on PATH", () => {
    expect(candidates("  ", "/venv/bin/python", "linux").map((c) => c.command.join(" "))).toEqual([
      "/venv/bin/python",
      "python3",
      "python",
    ]);
  });
  it("uses the py launcher on Windows", () => {
    expect(candidates("", undefined, "win32").map((c) => c.command.join(" "))).toEqual(["py -3", "python"]);
  });
});

describe("parseProbe", () => {
  it("reads the probe's JSON line", () => {
    expect(parseProbe('noise\n{"version": [3, 12, 1], "executable": "/x/python", "own": true}\n')).toEqual({
      version: [3, 12, 1],
      executable: "/x/python",
      hasOwnServer: true,
    });
  });
  it("rejects anything else", () => {
    expect(parseProbe("Python 3.12.1")).toBeUndefined();
    expect(parseProbe('{"version": "3.12"}')).toBeUndefined();
  });
});

describe("choose", () => {
  it("takes the first Python the bundle supports", () => {
    const got = choose(
      [
        { candidate: cand("/venv/bin/python", "python-extension"), probe: probe([3, 12, 0]) },
        { candidate: cand("python3"), probe: probe([3, 11, 0]) },
      ],
      bundle,
    );
    expect(got).toMatchObject({ kind: "bundled", python: ["/venv/bin/python"] });
  });
  it("skips interpreters that are too old or missing", () => {
    const got = choose(
      [
        { candidate: cand("/old/python", "python-extension"), probe: probe([3, 8, 10]) },
        { candidate: cand("python3"), probe: undefined, error: "not found" },
        { candidate: cand("python"), probe: probe([3, 13, 1]) },
      ],
      bundle,
    );
    expect(got).toMatchObject({ kind: "bundled", python: ["python"] });
  });
  it("runs a Python outside the bundle when it has prompt-canvas installed itself", () => {
    expect(choose([{ candidate: cand("python3"), probe: probe([3, 10, 4], true) }], bundle)).toMatchObject({
      kind: "installed",
    });
    expect(choose([{ candidate: cand("python3"), probe: probe([3, 12, 0], true) }], undefined)).toMatchObject({
      kind: "installed",
    });
  });
  it("says how to install the server into an unbundled Python", () => {
    const got = choose([{ candidate: cand("python3"), probe: probe([3, 10, 4], false, "/usr/bin/python3.10") }], bundle);
    expect(got.kind).toBe("error");
    if (got.kind === "error") {
      expect(got.fix).toBe("install");
      expect(got.message).toContain("python3 is Python 3.10");
      expect(got.message).toContain("runs on Python 3.11, 3.12, 3.13, 3.14");
      expect(got.message).toContain("/usr/bin/python3.10 -m pip install prompt-canvas");
    }
  });
  it("names every interpreter it tried when none will do", () => {
    const got = choose(
      [
        { candidate: cand("python3"), probe: probe([3, 9, 2]) },
        { candidate: cand("python"), probe: undefined, error: "not found" },
      ],
      bundle,
    );
    expect(got).toMatchObject({ kind: "error", fix: "setting" });
    if (got.kind === "error") {
      expect(got.message).toContain("needs Python 3.10 or newer");
      expect(got.message).toContain("python3 is Python 3.9.2; python (not found)");
      expect(got.message).toContain("set 'promptCanvas.python'");
    }
  });
  it("blames the setting when the setting points nowhere", () => {
    const got = choose([{ candidate: cand("/nope/python", "setting"), probe: undefined, error: "not found" }], bundle);
    expect(got.kind === "error" && got.message).toContain("Fix the path in the 'promptCanvas.python' setting");
  });
});
