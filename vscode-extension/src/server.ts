// Starting, stopping and restarting the language server, with one clear message on failure.
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  type ErrorHandler,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
  Trace,
} from "vscode-languageclient/node";
import { bundledLibs, launchCommand } from "./launch";
import { type Bundle, type Candidate, type Choice, candidates, choose, PROBE_SCRIPT, parseProbe } from "./python";
import { serverSettings } from "./settings";
import * as api from "./vscodeapi";

export const LANGUAGE_ID = "promptcanvas";
export const SECTION = "promptCanvas";
const SET_API_KEY = "promptCanvas/setApiKey";
export const SECRET_KEY = "promptCanvas.apiKey";

export interface Hooks {
  wrapCodeActions(actions: (vscode.Command | vscode.CodeAction)[]): (vscode.Command | vscode.CodeAction)[];
  busy<T>(label: string, work: () => Thenable<T>): Thenable<T>;
  stateChanged(running: boolean): void;
}

const BUSY_TITLES: Record<string, string> = {
  "promptCanvas.expand": "expanding",
  "promptCanvas.vary": "making variations",
  "promptCanvas.pickVariation": "making variations",
  "promptCanvas.render": "rendering",
};

const IMAGE = /\.(png|jpe?g|webp)$/i;

export class ServerController implements vscode.Disposable {
  client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private startedAt = 0;
  private reported = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
    private readonly hooks: Hooks,
  ) {}

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.reported = false;
    await this.start();
  }

  /** Start the server unless it runs (or is starting) already; after a failure, try again. */
  start(): Promise<void> {
    if (this.client && !this.starting) return Promise.resolve();
    if (!this.starting) {
      this.starting = this.doStart().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (err) {
        this.log.warn(`stopping the server: ${String(err)}`);
      }
      await client.dispose();
    }
    this.hooks.stateChanged(false);
  }

  async dispose(): Promise<void> {
    await this.stop();
  }

  /** Tell the server to re-read its settings (workspace/configuration). */
  settingsChanged(): void {
    if (this.running) {
      void this.client?.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    }
  }

  /**
   * Hand the key to the server. The LSP trace (Output: Trace level) would print the
   * notification's params, so tracing is off while it is sent: the key never reaches a log.
   */
  async sendApiKey(key: string | undefined): Promise<void> {
    const client = this.client;
    if (!client || !this.running) return;
    await client.setTrace(Trace.Off);
    try {
      await client.sendNotification(SET_API_KEY, { apiKey: key ?? null });
    } finally {
      this.applyTrace();
    }
  }

  private async pickPython(): Promise<Choice> {
    const setting = String(api.getConfiguration(SECTION).get("python") ?? "");
    const list = candidates(setting, setting.trim() ? undefined : await pythonExtensionInterpreter(this.log), process.platform);
    // Probe one at a time and stop at the first that will do (each probe is a Python start-up).
    const bundle = readBundle(this.context.extensionPath);
    const probes: Array<{ candidate: Candidate; probe: ReturnType<typeof parseProbe>; error?: string }> = [];
    for (const candidate of list) {
      const result = await probe(candidate.command);
      probes.push({ candidate, ...result });
      const found = result.probe;
      this.log.info(
        `python candidate ${candidate.command.join(" ")} (${candidate.source}): ` +
          (found ? `Python ${found.version.join(".")} at ${found.executable}` : result.error),
      );
      const choice = choose(probes, bundle);
      if (choice.kind !== "error") return choice;
    }
    return choose(probes, bundle);
  }

  private async doStart(): Promise<void> {
    const choice = await this.pickPython();
    if (choice.kind === "error") {
      this.log.error(choice.message);
      this.fail(choice.message, "Open Settings");
      return;
    }
    this.log.info(`starting the server with ${choice.python.join(" ")} (${choice.kind === "bundled" ? "bundled libraries" : "its own prompt-canvas"})`);
    const http = api.getConfiguration("http");
    const launch = launchCommand({
      choice,
      extensionPath: this.context.extensionPath,
      baseEnv: process.env,
      proxy: String(http.get("proxy") ?? ""),
      caBundle: String(api.getConfiguration(SECTION).get("caBundle") ?? ""),
      // The server's own log (stderr) is noisy below WARNING; its messages to the user come over LSP.
      logLevel: this.log.logLevel === vscode.LogLevel.Trace || this.log.logLevel === vscode.LogLevel.Debug ? "DEBUG" : "WARNING",
      platform: process.platform,
    });
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      options: { env: launch.env },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: LANGUAGE_ID },
        { scheme: "untitled", language: LANGUAGE_ID },
      ],
      outputChannel: this.log,
      traceOutputChannel: this.log,
      revealOutputChannelOn: 4 /* Never: we show one notification ourselves */,
      initializationOptions: serverSettings((k) => api.getConfiguration(SECTION).get(k)),
      errorHandler: this.errorHandler(),
      middleware: {
        workspace: {
          configuration: (params, token, next) => {
            return params.items.map((item) => {
              if (item.section === SECTION) {
                const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
                return serverSettings((k) => api.getConfiguration(SECTION, scope).get(k));
              }
              const single = next({ items: [item] }, token);
              return Array.isArray(single) ? single[0] : null;
            });
          },
        },
        window: {
          // A render asks to show its image "externally"; in VS Code, open it in the image preview beside the editor.
          showDocument: async (params, next) => {
            if (!IMAGE.test(params.uri)) {
              const answer = await next(params, new vscode.CancellationTokenSource().token);
              return "success" in answer ? answer : { success: false };
            }
            await api.executeCommand("vscode.open", vscode.Uri.parse(params.uri), {
              viewColumn: vscode.ViewColumn.Beside,
              preserveFocus: !params.takeFocus,
            });
            return { success: true };
          },
        },
        provideCodeActions: async (document, range, context, token, next) => {
          const actions = await next(document, range, context, token);
          return actions ? this.hooks.wrapCodeActions(actions) : actions;
        },
        executeCommand: (command, args, next) => {
          const label = BUSY_TITLES[command];
          return label ? this.hooks.busy(label, () => Promise.resolve(next(command, args))) : next(command, args);
        },
      },
    };
    const client = new LanguageClient("promptCanvas", "Prompt Canvas", serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => this.hooks.stateChanged(e.newState === State.Running));
    this.startedAt = Date.now();
    try {
      await client.start();
    } catch (err) {
      const message = `Prompt Canvas: the language server did not start (${launch.command} ${launch.args.join(" ")}): ${errorText(err)}`;
      this.log.error(message);
      this.fail(message, "Show Logs");
      this.client = undefined;
      try {
        await client.dispose();
      } catch {
        // already gone
      }
      return;
    }
    this.applyTrace();
    const key = await this.context.secrets.get(SECRET_KEY);
    if (key) await this.sendApiKey(key);
  }

  applyTrace(): void {
    const level = this.log.logLevel;
    void this.client?.setTrace(level === vscode.LogLevel.Trace ? Trace.Verbose : level === vscode.LogLevel.Debug ? Trace.Messages : Trace.Off);
  }

  private errorHandler(): ErrorHandler {
    let restarts = 0;
    return {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        // One restart if it had been running a while; never a restart loop.
        const upFor = Date.now() - this.startedAt;
        if (upFor > 60_000 && restarts < 1) {
          restarts += 1;
          this.startedAt = Date.now();
          this.log.warn("the language server stopped; restarting it once");
          return { action: CloseAction.Restart };
        }
        const message =
          "Prompt Canvas: the language server stopped" +
          (upFor <= 60_000 ? " right after starting" : " again") +
          ". The log says why; fix it, then run 'Prompt Canvas: Restart Server'.";
        this.fail(message, "Show Logs");
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
  }

  /** One notification per failure, with a button to what fixes it. */
  private fail(message: string, button: "Open Settings" | "Show Logs"): void {
    if (this.reported) return;
    this.reported = true;
    this.hooks.stateChanged(false);
    const buttons = button === "Open Settings" ? ["Open Settings", "Show Logs"] : ["Show Logs", "Open Settings"];
    void api.showErrorMessage(message, ...buttons).then((picked) => {
      if (picked === "Show Logs") this.log.show();
      if (picked === "Open Settings") void api.executeCommand("workbench.action.openSettings", "promptCanvas.python");
    });
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export function readBundle(extensionPath: string): Bundle | undefined {
  try {
    const raw = fs.readFileSync(path.join(bundledLibs(extensionPath), "prompt_canvas_bundle.json"), "utf8");
    const data = JSON.parse(raw) as Partial<Bundle>;
    if (Array.isArray(data.pythons)) return { pythons: data.pythons.map(String), platform: String(data.platform ?? "") };
  } catch {
    // no bundle: a development checkout, or a broken install
  }
  return undefined;
}

function probe(command: string[]): Promise<{ probe: ReturnType<typeof parseProbe>; error?: string }> {
  return new Promise((resolve) => {
    const [exe, ...lead] = command;
    execFile(exe, [...lead, "-c", PROBE_SCRIPT], { timeout: 15_000, windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({ probe: undefined, error: code === "ENOENT" ? "not found" : (stderr || err.message).trim().split("\n").pop() });
        return;
      }
      const parsed = parseProbe(stdout);
      resolve(parsed ? { probe: parsed } : { probe: undefined, error: `unexpected answer: ${stdout.slice(0, 80)}` });
    });
  });
}

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(env: { path: string } | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
}

/** The Python extension's active interpreter, if that extension is installed (never installs or forces it). */
async function pythonExtensionInterpreter(log: vscode.LogOutputChannel): Promise<string | undefined> {
  const ext = api.getExtension<PythonExtensionApi>("ms-python.python");
  if (!ext) return undefined;
  try {
    const exports = ext.isActive ? ext.exports : await ext.activate();
    const envs = exports?.environments;
    const active = envs?.getActiveEnvironmentPath(vscode.window.activeTextEditor?.document.uri);
    if (!envs || !active) return undefined;
    const resolved = await envs.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath ?? active.path;
  } catch (err) {
    log.warn(`could not ask the Python extension for its interpreter: ${errorText(err)}`);
    return undefined;
  }
}
