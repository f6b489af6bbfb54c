// Prompt Canvas for VS Code: a thin client of the `prompt-canvas serve` language server.
import * as vscode from "vscode";
import { ExecuteCommandRequest } from "vscode-languageclient/node";
import { RESTART_SETTINGS } from "./launch";
import { LANGUAGE_ID, SECRET_KEY, SECTION, ServerController } from "./server";
import { fileBackend, serverSettings, statusLabel } from "./settings";
import * as api from "./vscodeapi";

const SERVER_EXPAND = "promptCanvas.expand";
const SERVER_VARY = "promptCanvas.vary";
const SERVER_PICK = "promptCanvas.pickVariation";
const SERVER_CLEAR_CACHE = "promptCanvas.clearCache";
const SERVER_RENDER = "promptCanvas.render";

let controller: ServerController | undefined;

interface CommandResult {
  applied?: boolean;
  error?: string;
  variations?: string[];
  cancelled?: boolean;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel("Prompt Canvas", { log: true });
  const status = vscode.window.createStatusBarItem("promptCanvas.status", vscode.StatusBarAlignment.Right, 100);
  status.name = "Prompt Canvas";
  status.command = "promptCanvas.selectBackend";
  let busy: string | undefined;
  let running = false;
  const refreshStatus = (): void => {
    const active = vscode.window.activeTextEditor?.document;
    const file = active?.languageId === LANGUAGE_ID ? fileBackend(active.getText(new vscode.Range(0, 0, 200, 0))) : {};
    const label = statusLabel(serverSettings((k) => api.getConfiguration(SECTION).get(k)), busy, running, file);
    status.text = label.text;
    status.tooltip = label.tooltip;
    if (vscode.window.activeTextEditor?.document.languageId === LANGUAGE_ID) status.show();
    else status.hide();
  };

  const server = new ServerController(context, log, {
    wrapCodeActions: (actions) => actions.map(toQuickPickAction),
    busy: async (label, work) => {
      busy = label;
      refreshStatus();
      try {
        return await work();
      } finally {
        busy = undefined;
        refreshStatus();
      }
    },
    stateChanged: (isRunning) => {
      running = isRunning;
      refreshStatus();
    },
  });
  controller = server;

  const run = async (command: string, args: unknown[], label: string): Promise<CommandResult | undefined> => {
    await server.start();
    const client = server.client;
    if (!client || !server.running) {
      void api.showErrorMessage("Prompt Canvas: the language server is not running.", "Show Logs").then((b) => {
        if (b) log.show();
      });
      return undefined;
    }
    busy = label;
    refreshStatus();
    try {
      return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args })) as CommandResult;
    } catch (err) {
      // Cancelled or failed: the server has already said why; nothing was changed.
      log.info(`${command}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    } finally {
      busy = undefined;
      refreshStatus();
    }
  };

  const editorTarget = (uri?: unknown, range?: unknown): { uri: string; range: unknown } | undefined => {
    if (typeof uri === "string" && range) return { uri, range };
    const editor = api.activeTextEditor();
    if (!editor || editor.document.languageId !== LANGUAGE_ID) {
      void api.showWarningMessage("Prompt Canvas: open a .prompt file first.");
      return undefined;
    }
    const sel = editor.selection;
    return {
      uri: editor.document.uri.toString(),
      range: { start: { line: sel.start.line, character: sel.start.character }, end: { line: sel.end.line, character: sel.end.character } },
    };
  };

  context.subscriptions.push(
    log,
    status,
    server,
    api.registerCommand("promptCanvas.expandSelection", async () => {
      const target = editorTarget();
      if (target) await run(SERVER_EXPAND, [target.uri, target.range, {}], "expanding");
    }),
    api.registerCommand("promptCanvas.generateVariations", async () => {
      const target = editorTarget();
      if (target) await run(SERVER_VARY, [target.uri, target.range, {}], "making variations");
    }),
    api.registerCommand("promptCanvas.chooseVariation", async (uri?: unknown, range?: unknown, options?: unknown) => {
      const target = editorTarget(uri, range);
      if (target) await chooseVariation(target.uri, target.range, options, run);
    }),
    api.registerCommand("promptCanvas.renderEntry", async () => {
      // The server renders the entry under the cursor and opens the image beside the editor.
      const target = editorTarget();
      if (target) await run(SERVER_RENDER, [target.uri, target.range, {}], "rendering");
    }),
    api.registerCommand("promptCanvas.setApiKey", async () => {
      const key = await vscode.window.showInputBox({
        title: "Prompt Canvas: API key for the OpenAI-compatible server",
        prompt: "Kept in VS Code's secret storage and handed to the language server; never written to settings or logs.",
        password: true,
        ignoreFocusOut: true,
        placeHolder: "sk-…",
      });
      if (key === undefined) return;
      if (!key.trim()) {
        void api.showWarningMessage("Prompt Canvas: an empty key was not saved. Use 'Clear API Key' to remove one.");
        return;
      }
      await context.secrets.store(SECRET_KEY, key.trim());
      await server.sendApiKey(key.trim());
      void api.showInformationMessage("Prompt Canvas: API key saved in secret storage.");
    }),
    api.registerCommand("promptCanvas.clearApiKey", async () => {
      await context.secrets.delete(SECRET_KEY);
      await server.sendApiKey(undefined);
      void api.showInformationMessage("Prompt Canvas: API key removed.");
    }),
    api.registerCommand("promptCanvas.selectBackend", () => selectBackend()),
    api.registerCommand("promptCanvas.clearLlmCache", async () => {
      await run(SERVER_CLEAR_CACHE, [], "clearing the cache");
    }),
    api.registerCommand("promptCanvas.restartServer", async () => {
      log.info("restarting the language server");
      await server.restart();
    }),
    api.registerCommand("promptCanvas.showLogs", () => log.show()),
    log.onDidChangeLogLevel(() => server.applyTrace()),
    vscode.window.onDidChangeActiveTextEditor(() => refreshStatus()),
    vscode.workspace.onDidChangeTextDocument((e) => {
      // Front matter edits (backend:, model:) change what the status bar names.
      if (e.document === vscode.window.activeTextEditor?.document && e.contentChanges.some((c) => c.range.start.line < 200))
        refreshStatus();
    }),
    api.onDidChangeConfiguration(async (e) => {
      if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        log.info("a setting that needs a new server process changed: restarting");
        await server.restart();
      } else if (e.affectsConfiguration(SECTION)) {
        server.settingsChanged();
      }
      refreshStatus();
    }),
  );
  refreshStatus();
  await server.start();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}

/** The server's "Replace with a variation…" asks with a message box; in VS Code we use a QuickPick instead. */
function toQuickPickAction(action: vscode.Command | vscode.CodeAction): vscode.Command | vscode.CodeAction {
  const command = action instanceof vscode.CodeAction ? action.command : (action as vscode.Command);
  if (command && command.command === SERVER_PICK) {
    const replaced = { ...command, command: "promptCanvas.chooseVariation" };
    if (action instanceof vscode.CodeAction) {
      action.command = replaced;
      return action;
    }
    return replaced;
  }
  return action;
}

type Run = (command: string, args: unknown[], label: string) => Promise<CommandResult | undefined>;

/** List the variations in a QuickPick, preview the highlighted one in the editor, replace on Enter. */
async function chooseVariation(uri: string, range: unknown, options: unknown, run: Run): Promise<void> {
  const extra = options && typeof options === "object" ? (options as Record<string, unknown>) : {};
  const listed = await run(SERVER_PICK, [uri, range, { ...extra, apply: false }], "making variations");
  const variations = listed?.variations;
  if (!variations || variations.length === 0) return;
  const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri);
  const preview = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor("editorCodeLens.foreground"), fontStyle: "italic", margin: "0 0 0 1em" },
    backgroundColor: new vscode.ThemeColor("editor.wordHighlightBackground"),
  });
  const r = range as { start: { line: number; character: number }; end: { line: number; character: number } };
  const where = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
  const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { text: string }>();
  pick.title = "Prompt Canvas: replace the prompt with a variation";
  pick.placeholder = "↑↓ previews in the editor, Enter replaces, Escape keeps the prompt as it is";
  pick.matchOnDetail = true;
  pick.items = variations.map((text, i) => ({ label: `${i + 1}. ${short(text, 90)}`, detail: text, text }));
  const show = (item: { text: string } | undefined): void => {
    if (!editor || !item) return;
    const line = editor.document.lineAt(Math.min(where.end.line, editor.document.lineCount - 1));
    editor.setDecorations(preview, [
      { range: where.isEmpty ? line.range : where, renderOptions: {} },
      { range: new vscode.Range(line.range.end, line.range.end), renderOptions: { after: { contentText: `→ ${short(item.text, 160)}` } } },
    ]);
  };
  const chosen = await new Promise<string | undefined>((resolve) => {
    pick.onDidChangeActive((items) => show(items[0]));
    pick.onDidAccept(() => {
      resolve(pick.selectedItems[0]?.text ?? pick.activeItems[0]?.text);
      pick.hide();
    });
    pick.onDidHide(() => resolve(undefined));
    pick.show();
  });
  preview.dispose();
  pick.dispose();
  if (chosen) await run(SERVER_PICK, [uri, range, { variation: chosen }], "replacing");
}

function short(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1).trimEnd()}…`;
}

async function selectBackend(): Promise<void> {
  const config = api.getConfiguration(SECTION);
  const current = String(config.get("backend") ?? "offline");
  const items: Array<vscode.QuickPickItem & { value: string }> = [
    { label: "$(circuit-board) Offline", description: current === "offline" ? "current" : "", detail: "The built-in expander: no network, no key.", value: "offline" },
    {
      label: "$(cloud) OpenAI-compatible server",
      description: current === "openai" ? "current" : "",
      detail: `Model ${String(config.get("model") || "gpt-4o-mini")} at ${String(config.get("baseUrl") || "https://api.openai.com/v1")} (set promptCanvas.model and promptCanvas.baseUrl).`,
      value: "openai",
    },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: "Prompt Canvas: backend" });
  if (!picked || picked.value === current) return;
  const inspect = config.inspect("backend");
  const scope = inspect?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update("backend", picked.value, scope);
}
