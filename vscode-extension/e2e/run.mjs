#!/usr/bin/env node
// End-to-end test of the Prompt Canvas extension in a real VS Code (code-server + headless
// Chromium driven by playwright-core). See e2e/README.md.
//
//   node e2e/run.mjs                 (or: npm run test:e2e)
//
// Environment:
//   E2E_VSIX      the extension to test (default: dist/prompt-canvas.vsix)
//   CODE_SERVER   code-server executable (default: scripts/install-code-server.sh's last line)
//   CHROMIUM      browser executable (default: /usr/bin/chromium)
//   E2E_SHOTS     screenshot folder (default: docs/screenshots in the repository)
//   E2E_TIMEOUT   overall timeout in seconds (default: 360)
//   E2E_KEEP=1    keep the temporary folder (it is always kept on failure)
//   E2E_FLOWS     comma-separated subset of flows to run: expand,variations,pick,hover,problems,apikey,render
//   E2E_PYTHON    Python that runs e2e/llm_server.py for apikey and render (default: the repository's
//                 .venv/bin/python, else python3)
//   E2E_LOG       code-server/VS Code log level (default info; debug/trace also turns on the
//                 extension's LSP tracing and the server's DEBUG log)
//
// Prints one JSON line (prefix "E2E_SUMMARY ") with each flow's result and timing; exits 0 only
// when every required flow passed.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const extRoot = path.resolve(here, '..');
const repo = path.resolve(extRoot, '..');

const VSIX = process.env.E2E_VSIX || path.join(extRoot, 'dist', 'prompt-canvas.vsix');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.E2E_SHOTS || path.join(repo, 'docs', 'screenshots');
const TIMEOUT_S = Number(process.env.E2E_TIMEOUT || 360);
const KEEP = process.env.E2E_KEEP === '1';
// Run in this order. apikey switches the workspace to the openai backend and back and leaves the
// key in secret storage; render uses that key (or sets it itself when apikey did not run).
const ALL_FLOWS = ['expand', 'variations', 'hover', 'problems', 'apikey', 'render', 'pick'];
const REQUIRED_FLOWS = ['expand', 'variations', 'pick', 'problems', 'apikey', 'render']; // hover is reported only
const FLOWS = (process.env.E2E_FLOWS || ALL_FLOWS.join(',')).split(',').map((s) => s.trim());
for (const f of FLOWS) if (!ALL_FLOWS.includes(f)) throw new Error(`unknown flow "${f}" in E2E_FLOWS (known: ${ALL_FLOWS.join(',')})`);
const PROMPT_FILE = 'landscapes.prompt';
// The apikey flow's file: front matter picks the openai backend and the fake server's model, so it
// never reaches the offline expander whatever the moment the settings change lands.
const LLM_FILE = 'llm-backend.prompt';
const LLM_PHRASE = 'harbor at night';
// The render flow's file: an openai-backend library whose entries render with the fake server's
// dall-e-3 (which answers with a revised prompt).
const RENDER_FILE = 'renders-demo.prompt';
const RENDER_ENTRY = 'lighthouse at dawn';
const RENDER_PROMPT = 'a {red|white} lighthouse on a rocky cape at dawn, soft mist, gulls';
const RENDER_SIZE = '1792x1024';
const API_KEY = 'sk-e2e-test-key'; // the fake server's key; must never reach settings or logs
const PYTHON =
  process.env.E2E_PYTHON ||
  (fs.existsSync(path.join(repo, '.venv', 'bin', 'python')) ? path.join(repo, '.venv', 'bin', 'python') : 'python3');
// VS Code's log level; the extension derives the server's --log-level and LSP tracing from it.
const LOG_LEVEL = process.env.E2E_LOG || 'info';

const t0 = Date.now();
const secs = (since) => Math.round((Date.now() - since) / 100) / 10;
const log = (...a) => console.error(`[e2e ${secs(t0).toFixed(1).padStart(5)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ cleanup, no matter what
let serverProc = null;
let llmProc = null; // e2e/llm_server.py (apikey and render flows)
let browser = null;
let tmp = null;
let cleanedUp = false;
const summary = { ok: false, vsix: VSIX, codeServer: null, flows: {}, timings: {} };

function killServerGroup(signal = 'SIGTERM') {
  if (!serverProc) return; // even when the launcher has exited: its helpers may still run
  try {
    process.kill(-serverProc.pid, signal); // the whole process group (spawned detached)
  } catch {
    /* already gone */
  }
}

async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  if (browser) {
    await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
  }
  if (serverProc) {
    killServerGroup('SIGTERM');
    const gone = new Promise((r) => serverProc.once('exit', r));
    await Promise.race([gone, sleep(3000)]);
    killServerGroup('SIGKILL');
  }
  if (llmProc && llmProc.exitCode === null && llmProc.signalCode === null) {
    const gone = new Promise((r) => llmProc.once('exit', r));
    try {
      llmProc.kill('SIGTERM');
    } catch {
      /* gone */
    }
    await Promise.race([gone, sleep(3000)]);
    try {
      llmProc.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

// Last resort: synchronous kill when the process exits for any reason.
process.on('exit', () => {
  if (llmProc) {
    try {
      llmProc.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (serverProc) {
    try {
      process.kill(-serverProc.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    log(`got ${sig}: cleaning up`);
    await cleanup();
    process.exit(130);
  });
}

const overall = setTimeout(async () => {
  log(`OVERALL TIMEOUT after ${TIMEOUT_S}s: killing everything`);
  summary.error = `overall timeout (${TIMEOUT_S}s)`;
  await finish(2);
}, TIMEOUT_S * 1000);

// ------------------------------------------------------------------ helpers
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch (e) {
    return `(cannot read ${file}: ${e.message})`;
  }
}

function walk(dir, out = []) {
  let entries = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function resolveCodeServer() {
  if (process.env.CODE_SERVER) return process.env.CODE_SERVER;
  const script = path.join(repo, 'scripts', 'install-code-server.sh');
  log(`installing/locating code-server with ${path.relative(repo, script)}`);
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const last = out.trim().split('\n').pop();
  if (!last || !fs.existsSync(last)) throw new Error(`install-code-server.sh printed no executable: ${out}`);
  return last;
}

async function waitForHttp(url, ms) {
  const end = Date.now() + ms;
  let lastErr = null;
  while (Date.now() < end) {
    if (serverProc && serverProc.exitCode !== null) throw new Error(`code-server exited (${serverProc.exitCode})`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      lastErr = new Error(`HTTP ${res.status}`);
    } catch (e) {
      lastErr = e;
    }
    await sleep(250);
  }
  throw new Error(`code-server did not answer ${url}: ${lastErr && lastErr.message}`);
}

async function waitFor(fn, ms, what, every = 250) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out after ${ms / 1000}s waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

const words = (s) => s.split(/[\s,]+/).filter(Boolean);

// ------------------------------------------------------------------ workspace
function makeWorkspace(root) {
  const ws = path.join(root, 'workspace');
  fs.mkdirSync(ws, { recursive: true });
  const examples = path.join(repo, 'examples');
  const src = path.join(examples, PROMPT_FILE);
  if (fs.existsSync(src)) {
    fs.copyFileSync(src, path.join(ws, PROMPT_FILE));
  } else {
    fs.writeFileSync(
      path.join(ws, PROMPT_FILE),
      [
        '---',
        'title: Landscapes',
        'target: dalle',
        'seed: 3',
        'variations: 4',
        '---',
        '# Coast',
        '',
        '## beach sunset',
        'beach sunset',
        '',
        '## lighthouse in a storm',
        'a lighthouse in a storm, waves breaking over the rocks, __time-of-day__',
        '',
      ].join('\n'),
    );
  }
  const wsWild = path.join(ws, 'wildcards');
  fs.mkdirSync(wsWild, { recursive: true });
  const exWild = path.join(examples, 'wildcards');
  if (fs.existsSync(exWild)) {
    fs.cpSync(exWild, wsWild, { recursive: true });
  }
  if (!fs.existsSync(path.join(wsWild, 'time-of-day.txt'))) {
    fs.writeFileSync(path.join(wsWild, 'time-of-day.txt'), 'at dawn\nat golden hour\nat dusk\nat night\n');
  }
  // The LLM files: front matter picks the openai backend and the fake server's chat model.
  const llmLibrary = (name, extra, group, entry, prompt) =>
    fs.writeFileSync(
      path.join(ws, name),
      ['---', 'target: dalle', 'backend: openai', 'model: test-model', ...extra, '---', `# ${group}`, '', `## ${entry}`, prompt, ''].join('\n'),
    );
  if (FLOWS.includes('apikey')) llmLibrary(LLM_FILE, ['title: Through an OpenAI-compatible server'], 'Harbor', LLM_PHRASE, LLM_PHRASE);
  if (FLOWS.includes('render')) {
    llmLibrary(RENDER_FILE, ['title: Renders', 'image_model: dall-e-3', `size: ${RENDER_SIZE}`, 'seed: 7'], 'Coast', RENDER_ENTRY, RENDER_PROMPT);
  }
  return ws;
}

/** The workspace's .vscode/settings.json (read back by the apikey flow, which changes it mid-run). */
function writeWorkspaceSettings(ws, settings) {
  const dir = path.join(ws, '.vscode');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
}

/**
 * Start e2e/llm_server.py (the project's fake OpenAI-compatible server, key API_KEY); resolves to
 * { url, requestsFile }. It serves until its stdin closes or it gets SIGTERM (see cleanup()).
 */
async function startLlmServer(root) {
  const requestsFile = path.join(root, 'llm-requests.jsonl');
  const errFile = path.join(root, 'llm-server.log');
  const errFd = fs.openSync(errFile, 'a');
  llmProc = spawn(PYTHON, [path.join(here, 'llm_server.py'), requestsFile, API_KEY], {
    stdio: ['pipe', 'pipe', errFd],
  });
  fs.closeSync(errFd);
  llmProc.on('exit', (c, sg) => log(`llm_server.py exited (${c ?? sg})`));
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`llm_server.py printed no URL in 20 s: ${tail(errFile, 10)}`)), 20000);
    llmProc.stdout.on('data', (d) => {
      buf += d;
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/v1)\s*$/m.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    llmProc.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`llm_server.py exited (${c}) before printing its URL: ${tail(errFile, 10)}`));
    });
  });
  llmProc.stdout.resume();
  return { url, requestsFile };
}

function llmRequests(file) {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

function writeUserSettings(userDataDir) {
  const settings = {
    'telemetry.telemetryLevel': 'off',
    'workbench.startupEditor': 'none',
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'workbench.editor.enablePreview': false,
    'workbench.colorTheme': 'Default Light Modern',
    'chat.commandCenter.enabled': false,
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'security.workspace.trust.enabled': false,
    'git.enabled': false,
    'git.openRepositoryInParentFolders': 'never',
    'files.autoSave': 'off',
    'files.hotExit': 'off',
    'window.restoreWindows': 'none',
    'editor.minimap.enabled': false,
    'editor.unicodeHighlight.ambiguousCharacters': false,
    'editor.wordWrap': 'on',
    'editor.hover.delay': 200,
    'editor.hover.sticky': true,
    'editor.lightbulb.enabled': 'on',
    // Typing must type: no completion popups eating Enter, no auto-closing pairs.
    'editor.quickSuggestions': { other: false, comments: false, strings: false },
    'editor.suggestOnTriggerCharacters': false,
    'editor.acceptSuggestionOnEnter': 'off',
    'editor.wordBasedSuggestions': 'off',
    'editor.inlineSuggest.enabled': false,
    'editor.parameterHints.enabled': false,
    'editor.autoClosingBrackets': 'never',
    'editor.autoClosingQuotes': 'never',
    'editor.autoSurround': 'never',
    'editor.autoIndent': 'none',
    'editor.formatOnType': false,
    'editor.formatOnSave': false,
    'editor.codeActionsOnSave': {},
    'files.insertFinalNewline': false,
    'files.trimTrailingWhitespace': false,
    'problems.autoReveal': true,
  };
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

// ------------------------------------------------------------------ VS Code UI driving
// Screenshots are taken into <tmp>/shots and copied to SHOTS only when every required flow
// passed, so a failing run never leaves a half-refreshed set behind.
let stagedShots = null;
async function shot(page, name, dir = stagedShots || SHOTS) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  await page.screenshot({ path: file });
  log(`screenshot ${file}`);
}

async function focusEditor(page) {
  // Command palette-free way back to the editor: Escape closes widgets; Ctrl+1 focuses group 1.
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+1');
  await sleep(150);
}

async function goto(page, line, col) {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await page.keyboard.type(col ? `${line}:${col}` : `${line}`);
  await sleep(150);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10000 });
  await sleep(150);
}

/** Open the code-action menu (Ctrl+.) and return the titles it shows (null: nothing / "No code actions"). */
async function openCodeActions(page) {
  await page.keyboard.press('Control+.');
  const widget = page.locator('.action-widget');
  // Either the menu or the "No code actions available" message appears.
  const message = page.locator('.monaco-editor-overlaymessage');
  try {
    await widget.or(message).first().waitFor({ state: 'visible', timeout: 8000 });
  } catch {
    return null;
  }
  if (!(await widget.first().isVisible())) {
    const text = (await message.first().innerText().catch(() => '')).trim();
    return text ? [`(message) ${text}`] : null;
  }
  await sleep(300);
  const rows = page.locator('.action-widget .monaco-list-row');
  const texts = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  return texts;
}

/** Choose the menu entry whose title starts with `prefix` with the arrow keys + Enter. */
async function chooseAction(page, prefix) {
  for (let i = 0; i < 30; i++) {
    const focused = page.locator('.action-widget .monaco-list-row.focused');
    const text = (await focused.count()) ? (await focused.first().innerText()).replace(/\s+/g, ' ').trim() : '';
    if (text.startsWith(prefix)) {
      await page.keyboard.press('Enter');
      return text;
    }
    await page.keyboard.press('ArrowDown');
    await sleep(80);
  }
  throw new Error(`no focusable code action starting with "${prefix}"`);
}

/**
 * Retry until the code-action menu shows an action starting with `prefix` (the language server
 * starts lazily, so the first requests can come back empty). `select` re-establishes the
 * cursor/selection before each try.
 */
async function codeActionWith(page, prefix, select, ms = 90000) {
  const end = Date.now() + ms;
  let tries = 0;
  let last = null;
  while (Date.now() < end) {
    tries++;
    await focusEditor(page);
    await select();
    last = await openCodeActions(page);
    if (last && last.some((t) => t.startsWith(prefix))) {
      log(`code actions (try ${tries}): ${JSON.stringify(last)}`);
      return last;
    }
    log(`try ${tries}: no "${prefix}" yet (${last ? JSON.stringify(last) : 'no menu'}); retrying`);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await sleep(2000);
  }
  throw new Error(`no code action "${prefix}…" after ${tries} tries; last menu: ${JSON.stringify(last)}`);
}

/** Press Ctrl+S until the file on disk differs from `before` and passes `accept` (the edit is async). */
async function saveUntil(page, file, before, accept, ms = 90000) {
  const end = Date.now() + ms;
  let text = before;
  while (Date.now() < end) {
    await sleep(1000);
    await page.keyboard.press('Control+S');
    await sleep(600);
    text = fs.readFileSync(file, 'utf8');
    if (text !== before && accept(text)) return text;
  }
  return text;
}

function lineIndex(text, predicate) {
  const lines = text.split('\n');
  const i = lines.findIndex(predicate);
  if (i < 0) throw new Error('line not found in the test file');
  return i; // 0-based
}

/** The text of our status bar entry (promptCanvas.status), or null when it is not shown. */
async function statusText(page) {
  // VS Code gives an extension's entry the DOM id "<extension id>.<item id>".
  const item = page.locator('.statusbar-item[id$=".promptCanvas.status"]');
  if (!(await item.count())) return null;
  if (!(await item.first().isVisible())) return null;
  return (await item.first().innerText()).replace(/\s+/g, ' ').trim();
}

/** Wait until the status bar entry's text matches `re`; returns the text. */
async function expectStatus(page, re, ms = 30000) {
  let last = null;
  try {
    return await waitFor(
      async () => {
        last = await statusText(page);
        return last && re.test(last) ? last : false;
      },
      ms,
      `the status bar entry promptCanvas.status to match ${re}`,
    );
  } catch (e) {
    throw new Error(`${e.message} (it shows ${JSON.stringify(last)})`);
  }
}

/** F1, type the command's title, Enter on the row whose label is exactly `title`. */
async function runCommand(page, title) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await page.keyboard.type(title, { delay: 5 });
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 10000 });
  await waitFor(
    async () => {
      const focused = page.locator('.quick-input-widget .monaco-list-row.focused');
      return (await focused.count()) && (await focused.first().innerText()).includes(title);
    },
    5000,
    `"${title}" focused in the command palette`,
    100,
  );
  await page.keyboard.press('Enter');
}

/** The texts of the notification toasts now shown. */
async function notifications(page) {
  const items = page.locator('.notifications-toasts .notification-list-item-message');
  return (await items.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

async function clearNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications').catch((e) => log(`clearing notifications: ${e.message}`));
  await sleep(300);
  await page.keyboard.press('Escape');
}

/** The variations QuickPick (its placeholder says so), or null when it is not open. */
const PICK_PLACEHOLDER = '↑↓ previews in the editor';
async function variationPickOpen(page) {
  const input = page.locator('.quick-input-widget input.input');
  if (!(await input.count()) || !(await input.first().isVisible())) return false;
  const ph = (await input.first().getAttribute('placeholder')) || '';
  return ph.startsWith(PICK_PLACEHOLDER);
}

/**
 * Open "Pick a Variation…": via 'keys' = Ctrl+Alt+P (its keybinding), every other try F1 + its
 * title; via 'codeAction' = Ctrl+. and "Replace with a variation…" (which the extension redirects
 * to the QuickPick). Retried while the server starts.
 */
async function openVariationPick(page, select, via = 'keys', ms = 90000) {
  const end = Date.now() + ms;
  let tries = 0;
  let how = via;
  while (Date.now() < end) {
    tries++;
    if (via === 'codeAction') {
      await codeActionWith(page, 'Replace with a variation', select, Math.max(5000, end - Date.now()));
      await chooseAction(page, 'Replace with a variation');
    } else {
      await focusEditor(page);
      await select();
      how = tries % 2 === 1 ? 'Ctrl+Alt+P' : 'F1';
      if (how === 'Ctrl+Alt+P') await page.keyboard.press('Control+Alt+P');
      else await runCommand(page, 'Prompt Canvas: Pick a Variation…');
    }
    try {
      await waitFor(() => variationPickOpen(page), 20000, 'the variations QuickPick', 200);
      await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ state: 'visible', timeout: 10000 });
      log(`variations QuickPick open (try ${tries}, ${how})`);
      return `${how}, try ${tries}`;
    } catch (e) {
      // The extension reports a dead or unstartable server with a notification: no use retrying.
      const said = (await notifications(page).catch(() => [])).filter((t) => /Prompt Canvas/.test(t));
      const fatal = said.find((t) => /language server (is not running|did not start|stopped)/.test(t));
      if (fatal) throw new Error(`the variations QuickPick did not open (${how}): the extension says ${JSON.stringify(fatal)}`);
      log(`try ${tries}: ${e.message}${said.length ? `; notifications: ${JSON.stringify(said)}` : ''}; retrying`);
      await page.keyboard.press('Escape');
      await sleep(1500);
    }
  }
  throw new Error(`the variations QuickPick did not open after ${tries} tries`);
}

/** The focused QuickPick row: its label and detail (the full variation text). */
async function focusedPickRow(page) {
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row.focused').first();
  await row.waitFor({ state: 'visible', timeout: 5000 });
  const label = ((await row.locator('.quick-input-list-label .label-name, .monaco-icon-label .label-name').first().innerText().catch(() => '')) || '').trim();
  const detail = ((await row.locator('.quick-input-list-detail, .quick-input-list-label-meta').first().innerText().catch(() => '')) || '').trim();
  const all = (await row.innerText()).trim();
  const index = Number(await row.getAttribute('data-index'));
  return { label, detail, all, index };
}

/** Texts of the editor's ::after decorations (how the QuickPick previews a variation). */
async function afterDecorations(page) {
  return page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('.editor-instance .monaco-editor .view-lines span')) {
      const c = getComputedStyle(el, '::after').content;
      if (c && c !== 'none' && c !== 'normal' && c !== '""') out.push(c);
    }
    return out;
  });
}

// ------------------------------------------------------------------ flows
async function flowExpand(page, file) {
  const before = fs.readFileSync(file, 'utf8');
  const lines = before.split('\n');
  const head = lineIndex(before, (l) => /^##\s+beach sunset\s*$/.test(l));
  const li = lines.findIndex((l, i) => i > head && l.trim() === 'beach sunset');
  if (li < 0) throw new Error('no "beach sunset" prompt line in the test file');
  const phrase = lines[li];
  const select = async () => {
    await goto(page, li + 1);
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await sleep(200);
  };
  const prefix = 'Expand selection into a full image prompt';
  await codeActionWith(page, prefix, select);
  await shot(page, 'code-action-menu.png');
  const chosen = await chooseAction(page, prefix);
  log(`chose "${chosen}"`);
  const pre = lines.slice(0, li).join('\n') + '\n';
  const post = '\n' + lines.slice(li + 1).join('\n');
  const accept = (t) => t.startsWith(pre) && t.endsWith(post) && t.length > before.length + 40;
  const after = await saveUntil(page, file, before, accept);
  const middle = after.startsWith(pre) && after.endsWith(post) ? after.slice(pre.length, after.length - post.length) : null;
  const problems = [];
  if (after === before) problems.push('file on disk unchanged');
  else if (middle === null) problems.push('the rest of the file changed');
  else {
    const w = words(middle.toLowerCase());
    if (!w.some((x) => x.includes('beach')) || !w.some((x) => x.includes('sunset')))
      problems.push(`expansion lost the phrase words: ${JSON.stringify(middle)}`);
    if (w.length < words(phrase).length + 10) problems.push(`expansion too short (${w.length} words): ${JSON.stringify(middle)}`);
  }
  await goto(page, li + 1);
  await sleep(500);
  await shot(page, 'expanded.png');
  if (problems.length) throw new Error(problems.join('; '));
  const status = await expectStatus(page, /\boffline\b/);
  return { status, words: words(middle).length, expansion: middle.length > 300 ? middle.slice(0, 300) + '…' : middle };
}

async function flowVariations(page, file) {
  const before = fs.readFileSync(file, 'utf8');
  const lines = before.split('\n');
  const head = lineIndex(before, (l) => /^##\s+lighthouse in a storm\s*$/.test(l));
  const li = lines.findIndex((l, i) => i > head && l.trim() !== '' && !l.trim().startsWith('//'));
  if (li < 0) throw new Error('no "lighthouse in a storm" prompt line in the test file');
  const select = async () => {
    await goto(page, li + 1, 5); // cursor inside the entry, no selection
  };
  await codeActionWith(page, 'Generate', select);
  const chosen = await chooseAction(page, 'Generate');
  log(`chose "${chosen}"`);
  const m = /Generate (\d+) variations/.exec(chosen);
  const expected = m ? Number(m[1]) : 1;
  const blockRe = /^##\s+lighthouse in a storm\s+·\s+v(\d+)\s*$/gm;
  const count = (t) => [...t.matchAll(blockRe)].length;
  const accept = (t) => count(t) >= expected;
  const after = await saveUntil(page, file, before, accept);
  const problems = [];
  const n = count(after);
  if (after === before) problems.push('file on disk unchanged');
  if (n < 1) problems.push('no "## lighthouse in a storm · v1" block on disk');
  else if (n < expected) problems.push(`only ${n} of ${expected} variation blocks`);
  // Every original line is still there, in order (the blocks are insertions).
  const newLines = after.split('\n');
  let j = 0;
  for (const l of newLines) if (j < lines.length && l === lines[j]) j++;
  if (j < lines.length) problems.push(`original line ${j + 1} (${JSON.stringify(lines[j])}) missing or changed`);
  // Each block has a non-empty prompt line after its heading.
  const bodies = [];
  newLines.forEach((l, i) => {
    if (/^##\s+lighthouse in a storm\s+·\s+v\d+\s*$/.test(l)) bodies.push(newLines[i + 1] || '');
  });
  if (bodies.some((b) => !b.trim() || b.startsWith('#'))) problems.push(`an empty variation block: ${JSON.stringify(bodies)}`);
  const v1 = newLines.findIndex((l) => /·\s+v1\s*$/.test(l));
  if (v1 >= 0) await goto(page, v1 + 1);
  await sleep(500);
  await shot(page, 'variations.png');
  if (problems.length) throw new Error(problems.join('; '));
  const status = await expectStatus(page, /\boffline\b/);
  return { status, blocks: n, expected, first: bodies[0] };
}

async function flowPick(page, file) {
  const status = await expectStatus(page, /\boffline\b/);
  const before = fs.readFileSync(file, 'utf8');
  const lines = before.split('\n');
  const head = lineIndex(before, (l) => /^##\s+desert canyon\s*$/.test(l));
  const li = lines.findIndex((l, i) => i > head && l.trim() === 'desert canyon');
  if (li < 0) throw new Error('no "desert canyon" prompt line in the test file');
  const select = async () => {
    await goto(page, li + 1, 4); // cursor inside the entry, no selection
  };

  // --- accept the second item
  const tries = await openVariationPick(page, select);
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  const count = await rows.count();
  if (count < 2) throw new Error(`the QuickPick lists ${count} item(s), need 2`);
  const first = await focusedPickRow(page);
  await page.keyboard.press('ArrowDown');
  let second = null;
  await waitFor(
    async () => {
      second = await focusedPickRow(page);
      return second.label.startsWith('2.');
    },
    5000,
    'the second QuickPick item to be focused',
    100,
  );
  const chosenText = second.detail;
  if (!chosenText) throw new Error(`the second item has no detail line: ${JSON.stringify(second)}`);
  if (!second.label.startsWith('2. ')) throw new Error(`unexpected label ${JSON.stringify(second.label)}`);
  // The label is "2. " + the text, shortened with "…" past 90 characters.
  const labelText = second.label.slice(3).replace(/…$/, '');
  if (!chosenText.startsWith(labelText)) throw new Error(`label ${JSON.stringify(second.label)} does not match detail ${JSON.stringify(chosenText)}`);
  let preview = [];
  await waitFor(
    async () => {
      preview = await afterDecorations(page);
      return preview.some((c) => c.includes('→'));
    },
    5000,
    'the preview decoration (→ …) in the editor',
    150,
  ).catch((e) => {
    throw new Error(`${e.message}; ::after contents seen: ${JSON.stringify(preview.slice(0, 5))}`);
  });
  const previewText = preview.find((c) => c.includes('→'));
  await shot(page, 'pick-variation.png');
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10000 });
  const expected = [...lines.slice(0, li), chosenText, ...lines.slice(li + 1)].join('\n');
  const after = await saveUntil(page, file, before, (t) => t === expected, 60000);
  const problems = [];
  if (after === before) problems.push('file on disk unchanged after Enter');
  else if (after !== expected) {
    const a = after.split('\n');
    const diff = [];
    for (let i = 0; i < Math.max(a.length, lines.length + 1); i++) {
      const want = i < li ? lines[i] : i === li ? chosenText : lines[i];
      if (a[i] !== want) diff.push(`line ${i + 1}: ${JSON.stringify(a[i])} (want ${JSON.stringify(want)})`);
    }
    problems.push(`the file on disk is not the original with line ${li + 1} replaced: ${diff.slice(0, 4).join('; ')}`);
  }
  if (problems.length) throw new Error(problems.join('; '));

  // --- dismiss (opened from the code-action menu this time): Escape keeps the file as it is
  await sleep(500);
  const dismissOpened = await openVariationPick(page, select, 'codeAction');
  await page.keyboard.press('ArrowDown');
  await sleep(400);
  await page.keyboard.press('Escape');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10000 });
  await sleep(1500);
  await focusEditor(page);
  await page.keyboard.press('Control+S');
  await sleep(1500);
  const dirty = await page.locator('.tabs-container .tab.dirty', { hasText: PROMPT_FILE }).count();
  const afterEscape = fs.readFileSync(file, 'utf8');
  if (afterEscape !== after) throw new Error('Escape changed the file on disk');
  if (dirty) throw new Error('Escape left the editor dirty');
  const leftover = (await afterDecorations(page)).filter((c) => c.includes('→'));
  if (leftover.length) throw new Error(`the preview decoration stayed after Escape: ${JSON.stringify(leftover)}`);
  return {
    status,
    items: count,
    opened: tries,
    dismissOpened,
    first: first.detail,
    chosen: chosenText,
    preview: previewText && previewText.length > 120 ? previewText.slice(0, 120) + '…' : previewText,
  };
}

/** Put the cursor at line:col (1-based) and open the hover with the keyboard (Ctrl+K Ctrl+I). */
async function showHoverAt(page, line, col) {
  await focusEditor(page);
  await goto(page, line, col);
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  await sleep(1200);
}

async function flowHover(page, file) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const li = lines.findIndex((l) => l.includes('__time-of-day__') && !l.startsWith('##'));
  if (li < 0) throw new Error('no __time-of-day__ in the test file');
  const col = lines[li].indexOf('__time-of-day__') + 4; // 1-based column inside the name
  const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content, .monaco-hover:not(.hidden) .hover-contents');
  let content = '';
  await waitFor(
    async () => {
      await showHoverAt(page, li + 1, col);
      if (!(await hover.count())) return false;
      content = (await hover.first().innerText()).trim();
      return content && !/^Loading/.test(content) && /time-of-day|dawn|dusk|wildcard/i.test(content);
    },
    60000,
    'the server hover on __time-of-day__',
    500,
  );
  await shot(page, 'hover.png');
  await page.keyboard.press('Escape');
  return { hover: content.length > 200 ? content.slice(0, 200) + '…' : content };
}

async function flowProblems(page, file) {
  const expectedMessage = 'no wildcard file for __nosuchwildcard__';
  await focusEditor(page);
  const endsWithNewline = fs.readFileSync(file, 'utf8').endsWith('\n');
  await page.keyboard.press('Control+End');
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  if (!endsWithNewline) await page.keyboard.press('Enter');
  await page.keyboard.type('## broken wildcard', { delay: 10 });
  await page.keyboard.press('Enter');
  await page.keyboard.type('a lamp glowing under __nosuchwildcard__', { delay: 10 });
  await page.keyboard.press('Escape');
  await sleep(500);
  await page.keyboard.press('Control+S');
  await page.keyboard.press('Control+Shift+M');
  const panel = page.locator('.markers-panel');
  await panel.first().waitFor({ state: 'visible', timeout: 15000 });
  let shown = '';
  await waitFor(
    async () => {
      shown = (await panel.first().innerText()).replace(/\s+/g, ' ');
      return shown.includes(expectedMessage);
    },
    45000,
    `"${expectedMessage}" in the Problems panel`,
  );
  // Show the offending line (with its squiggle) above the open panel.
  const onDiskNow = fs.readFileSync(file, 'utf8').split('\n');
  const bad = onDiskNow.findIndex((l) => l.includes('__nosuchwildcard__'));
  await page.keyboard.press('Control+1');
  await sleep(200);
  if (bad >= 0) {
    await goto(page, bad + 1, onDiskNow[bad].indexOf('__nosuchwildcard__') + 3);
  }
  await sleep(700);
  await shot(page, 'problems.png');
  const onDisk = fs.readFileSync(file, 'utf8');
  if (!onDisk.includes('__nosuchwildcard__')) log('note: the typed line did not reach the disk (save failed?)');
  return { problems: shown.length > 300 ? shown.slice(0, 300) + '…' : shown };
}

/** Quick-open a workspace file (Ctrl+P), retried; waits for its tab and its text. */
async function openFile(page, name) {
  await waitFor(
    async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await page.keyboard.type(name);
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first();
      await row.waitFor({ state: 'visible', timeout: 10000 });
      await page.keyboard.press('Enter');
      await page.locator('.tabs-container .tab.active', { hasText: name }).first().waitFor({ state: 'visible', timeout: 10000 });
      return true;
    },
    60000,
    `quick open of ${name}`,
    1000,
  );
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: 30000 });
}

/** Run the code action "Expand selection…" on line li (0-based) of the active editor. */
async function expandLine(page, li) {
  const select = async () => {
    await goto(page, li + 1);
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await sleep(200);
  };
  const prefix = 'Expand selection into a full image prompt';
  await codeActionWith(page, prefix, select);
  return chooseAction(page, prefix);
}

/** F1 "Prompt Canvas: Set API Key", type the fake server's key into the password box. */
async function setApiKey(page) {
  await focusEditor(page);
  await runCommand(page, 'Prompt Canvas: Set API Key');
  const pw = page.locator('.quick-input-widget input[type="password"]');
  await pw.waitFor({ state: 'visible', timeout: 15000 });
  await page.keyboard.type(API_KEY, { delay: 5 });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10000 });
  await waitFor(
    async () => (await notifications(page)).some((t) => /API key saved/.test(t)),
    15000,
    'the "API key saved" notification',
    200,
  );
  await clearNotifications(page);
}

async function flowApiKey(page, file, ctx) {
  const { ws } = ctx;
  const wsSettingsFile = path.join(ws, '.vscode', 'settings.json');
  const original = fs.readFileSync(wsSettingsFile, 'utf8');
  try {
    return await apiKeySteps(page, ctx);
  } finally {
    // Back to the offline backend for the flows after this one.
    fs.writeFileSync(wsSettingsFile, original);
    await focusEditor(page).catch(() => {});
    await page.keyboard.press('Control+W').catch(() => {}); // close llm-backend.prompt (saved)
    await openFile(page, path.basename(file)).catch((e) => log(`reopening ${path.basename(file)}: ${e.message}`));
    await expectStatus(page, /\boffline\b/).catch((e) => log(`after apikey: ${e.message}`));
  }
}

async function apiKeySteps(page, ctx) {
  const { ws, userDataDir, llm } = ctx;
  const file = path.join(ws, LLM_FILE);
  const wsSettingsFile = path.join(ws, '.vscode', 'settings.json');
  const userSettingsFile = path.join(userDataDir, 'User', 'settings.json');
  const detail = {};
  // The backend for this flow only: the workspace settings change now (the extension re-reads them).
  const wsSettings = JSON.parse(fs.readFileSync(wsSettingsFile, 'utf8'));
  Object.assign(wsSettings, { 'promptCanvas.backend': 'openai', 'promptCanvas.model': 'test-model' });
  writeWorkspaceSettings(ws, wsSettings);
  await openFile(page, LLM_FILE);
  detail.status = await expectStatus(page, /openai · test-model/, 45000);

  const before = fs.readFileSync(file, 'utf8');
  const lines = before.split('\n');
  const li = lines.findIndex((l, i) => i > 0 && l === LLM_PHRASE);
  if (li < 0) throw new Error(`no "${LLM_PHRASE}" line in ${LLM_FILE}`);

  // --- 1. no key yet: the server answers 401, one error notification, no edit
  const needKey = 'no API key is set and this server needs one';
  let shown = [];
  await expandLine(page, li);
  await waitFor(
    async () => {
      shown = await notifications(page);
      return shown.some((t) => t.includes(needKey));
    },
    60000,
    `a notification "${needKey}"`,
    300,
  ).catch((e) => {
    throw new Error(`${e.message}; notifications: ${JSON.stringify(shown)}`);
  });
  detail.noKeyNotification = shown.find((t) => t.includes(needKey));
  await sleep(500);
  await focusEditor(page);
  await page.keyboard.press('Control+S');
  await sleep(1000);
  if (fs.readFileSync(file, 'utf8') !== before) throw new Error('the file changed on disk although the server answered 401');
  const first = llmRequests(llm.requestsFile).filter((r) => r.path.endsWith('/chat/completions'));
  if (!first.length) throw new Error('the fake server got no chat request');
  if (first.some((r) => r.auth === 'match')) throw new Error(`a request carried the key before it was set: ${JSON.stringify(first)}`);
  await clearNotifications(page);

  // --- 2. Prompt Canvas: Set API Key (a password input box)
  await setApiKey(page);
  ctx.keySet = true;

  // --- 3. expand again: the fake server's expansion lands on disk, sent with the right key
  const nBefore = llmRequests(llm.requestsFile).length;
  await focusEditor(page);
  await expandLine(page, li);
  const pre = lines.slice(0, li).join('\n') + '\n';
  const post = '\n' + lines.slice(li + 1).join('\n');
  const accept = (t) => t.startsWith(pre) && t.endsWith(post) && t.length > before.length + 40;
  const after = await saveUntil(page, file, before, accept, 60000);
  const middle = after.startsWith(pre) && after.endsWith(post) ? after.slice(pre.length, after.length - post.length) : null;
  if (after === before) throw new Error(`file on disk unchanged after setting the key; notifications: ${JSON.stringify(await notifications(page))}`);
  if (middle === null) throw new Error('the rest of the file changed');
  if (!middle.startsWith(`A detailed image of ${LLM_PHRASE}`)) throw new Error(`not the fake server's expansion: ${JSON.stringify(middle)}`);
  detail.expansion = middle.length > 120 ? middle.slice(0, 120) + '…' : middle;
  const later = llmRequests(llm.requestsFile).slice(nBefore).filter((r) => r.path.endsWith('/chat/completions'));
  if (!later.length) throw new Error('the fake server logged no chat request for the second expansion');
  if (!later.every((r) => r.auth === 'match')) throw new Error(`the second expansion's requests did not carry the right key: ${JSON.stringify(later)}`);
  detail.requests = llmRequests(llm.requestsFile).map((r) => `${r.method} ${r.path} auth=${r.auth}`);

  // --- 4. the key is in none of: workspace settings, user settings, the Prompt Canvas log
  await runCommand(page, 'Prompt Canvas: Show Logs');
  const output = page.locator('.part.panel .output-view, .part.panel .editor-instance, .output-view');
  await output.first().waitFor({ state: 'visible', timeout: 15000 }).catch(() => {});
  await sleep(1000);
  // Monaco renders spaces as U+00A0.
  const channelText = ((await output.first().innerText().catch(() => '')) || '').replace(/\u00a0/g, ' ');
  const logFiles = walk(path.join(userDataDir, 'logs')).filter((f) => path.basename(f) === 'Prompt Canvas.log');
  const leaks = [];
  const check = (what, text) => {
    if (text.includes(API_KEY)) leaks.push(what);
  };
  check('workspace settings.json', fs.readFileSync(wsSettingsFile, 'utf8'));
  check('user settings.json', fs.readFileSync(userSettingsFile, 'utf8'));
  check('the Prompt Canvas output channel (DOM)', channelText);
  for (const f of logFiles) check(path.relative(userDataDir, f), fs.readFileSync(f, 'utf8'));
  // Everything else under user-data (reported, not decisive: secret storage may live there).
  detail.keyElsewhere = walk(userDataDir)
    .filter((f) => !logFiles.includes(f) && f !== userSettingsFile)
    .filter((f) => {
      try {
        return fs.statSync(f).size < 20e6 && fs.readFileSync(f).includes(API_KEY);
      } catch {
        return false;
      }
    })
    .map((f) => path.relative(userDataDir, f));
  detail.logFiles = logFiles.map((f) => path.relative(userDataDir, f));
  detail.outputChannelChars = channelText.length;
  if (!logFiles.length) leaks.push('(no "Prompt Canvas.log" under user-data/logs to check)');
  if (!/starting the server|python candidate|\[(info|debug|trace|warning|error)\]/.test(channelText))
    leaks.push(`(the panel does not show the Prompt Canvas channel: ${JSON.stringify(channelText.slice(0, 200))})`);
  if (leaks.length) throw new Error(`the API key (or the means to check for it) failed: ${leaks.join(', ')}`);

  // --- 5. the status bar names the backend and model
  if (await page.locator('.part.panel').first().isVisible().catch(() => false)) await page.keyboard.press('Control+J'); // close the panel
  await focusEditor(page);
  await goto(page, li + 1);
  detail.statusAfter = await expectStatus(page, /openai · test-model/);
  await sleep(500);
  await shot(page, 'status-bar-openai.png');
  return detail;
}

/** The renders folder of RENDER_FILE: its .png/.json files and any leftover temporary files. */
function renderFiles(ws) {
  const dir = path.join(ws, 'renders', path.basename(RENDER_FILE, '.prompt'));
  const all = walk(dir).map((f) => path.relative(dir, f));
  return { dir, all, png: all.filter((f) => f.endsWith('.png')), json: all.filter((f) => f.endsWith('.json')) };
}

/** Click the code lens titled `title` (the first one), retried while the server starts. */
async function clickCodeLens(page, title, ms = 60000) {
  const lens = page.locator('.editor-instance .monaco-editor .codelens-decoration a', { hasText: title }).first();
  await waitFor(async () => (await lens.count()) && (await lens.isVisible()), ms, `the "${title}" code lens`, 500);
  await lens.click();
}

async function flowRender(page, file, ctx) {
  const { ws, llm } = ctx;
  const detail = {};
  if (!ctx.keySet) {
    await setApiKey(page);
    ctx.keySet = true;
  }
  const images = () => llmRequests(llm.requestsFile).filter((r) => r.path.endsWith('/images/generations'));
  const nImages = images().length;
  const libFile = path.join(ws, RENDER_FILE);
  const before = fs.readFileSync(libFile, 'utf8');
  await openFile(page, RENDER_FILE);
  // The settings say offline; this file's front matter says openai and wins, in the status bar too.
  detail.status = await expectStatus(page, /openai · test-model/);
  await focusEditor(page);
  await goto(page, 1);

  // --- 1. the code lens over the entry renders it: PNG + sidecar on disk, no temporary files left
  await clickCodeLens(page, 'Render image');
  const made = await waitFor(
    () => {
      const f = renderFiles(ws);
      return f.png.length && f.json.length ? f : false;
    },
    60000,
    `a PNG and its sidecar under renders/${path.basename(RENDER_FILE, '.prompt')}/`,
    300,
  );
  await sleep(300);
  const files = renderFiles(ws);
  if (files.png.length !== 1 || files.json.length !== 1 || files.all.length !== 2)
    throw new Error(`expected one PNG and one sidecar, found ${JSON.stringify(files.all)}`);
  const png = path.join(made.dir, files.png[0]);
  const head = fs.readFileSync(png).subarray(0, 8);
  if (!head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error(`${files.png[0]} is not a PNG`);
  if (!/^lighthouse-at-dawn-[0-9a-f]{6,}\.png$/.test(files.png[0])) throw new Error(`unexpected image name ${files.png[0]}`);
  const sidecar = JSON.parse(fs.readFileSync(path.join(made.dir, files.json[0]), 'utf8'));
  const problems = [];
  if (sidecar.model !== 'dall-e-3') problems.push(`sidecar model ${JSON.stringify(sidecar.model)}`);
  if (sidecar.size !== RENDER_SIZE) problems.push(`sidecar size ${JSON.stringify(sidecar.size)}`);
  if (sidecar.seed !== 7) problems.push(`sidecar seed ${JSON.stringify(sidecar.seed)}`);
  if (typeof sidecar.prompt !== 'string' || !/^a (red|white) lighthouse on a rocky cape at dawn/.test(sidecar.prompt))
    problems.push(`sidecar prompt is not the resolved template: ${JSON.stringify(sidecar.prompt)}`);
  if (!JSON.stringify(sidecar).includes('A vivid rendering of')) problems.push('no revised prompt in the sidecar');
  if (!sidecar.date) problems.push('no date in the sidecar');
  const sent = images();
  if (sent.length !== nImages + 1) problems.push(`the fake server got ${sent.length - nImages} images requests, want 1`);
  else if (sent[sent.length - 1].auth !== 'match') problems.push('the images request did not carry the key');
  if (fs.readFileSync(libFile, 'utf8') !== before) problems.push('rendering changed the library file');
  if (problems.length) throw new Error(problems.join('; '));
  detail.image = path.relative(ws, png);
  detail.prompt = sidecar.prompt;

  // --- 2. the image opens beside the editor (VS Code's image preview)
  const imageTab = page.locator('.tabs-container .tab', { hasText: files.png[0] }).first();
  await imageTab.waitFor({ state: 'visible', timeout: 30000 });
  const groups = await page.locator('.editor-group-container').count();
  if (groups < 2) throw new Error(`the image opened in the same editor group (${groups} group)`);
  detail.editorGroups = groups;
  await sleep(1500); // the preview webview draws the image
  await shot(page, 'render.png');

  // --- 3. the same prompt and settings again: reused, no second paid request
  await page.locator('.editor-group-container').first().click({ position: { x: 400, y: 300 } }).catch(() => {});
  await focusEditor(page);
  await clickCodeLens(page, 'Render image');
  let said = [];
  await waitFor(
    async () => {
      said = await notifications(page);
      return said.some((t) => /already rendered/.test(t));
    },
    30000,
    'the "already rendered" notification',
    300,
  ).catch((e) => {
    throw new Error(`${e.message}; notifications: ${JSON.stringify(said)}`);
  });
  detail.reused = said.find((t) => /already rendered/.test(t));
  if (images().length !== nImages + 1) throw new Error('the second render sent another images request');
  if (renderFiles(ws).all.length !== 2) throw new Error(`the second render wrote files: ${JSON.stringify(renderFiles(ws).all)}`);
  await clearNotifications(page);

  // --- 4. hovering the entry shows its latest render as a thumbnail
  const lines = before.split('\n');
  const li = lines.findIndex((l) => l === RENDER_PROMPT);
  const col = RENDER_PROMPT.indexOf('rocky') + 2; // plain words: the entry's hover, not a choice's
  const hover = page.locator('.monaco-hover:not(.hidden)');
  let thumb = null;
  await waitFor(
    async () => {
      await showHoverAt(page, li + 1, col);
      const img = hover.locator('img').first();
      if (!(await img.count())) return false;
      thumb = await img.evaluate((el) => ({ src: el.getAttribute('src'), width: el.naturalWidth, complete: el.complete, shown: el.width }));
      return thumb.complete && thumb.width > 0;
    },
    45000,
    'a loaded thumbnail image in the hover',
    500,
  ).catch((e) => {
    throw new Error(`${e.message} (img: ${JSON.stringify(thumb)})`);
  });
  detail.thumbnail = thumb;
  await shot(page, 'render-hover.png');
  await page.keyboard.press('Escape');

  // Close the image and the library; back to the main test file for the flows after this one.
  await imageTab.click().catch(() => {});
  await page.keyboard.press('Control+W').catch(() => {});
  await focusEditor(page);
  await page.keyboard.press('Control+W').catch(() => {});
  await openFile(page, path.basename(file)).catch((e) => log(`reopening ${path.basename(file)}: ${e.message}`));
  return detail;
}

// ------------------------------------------------------------------ main
let codeServerLog = null;

let finishing = false;
async function finish(code) {
  if (finishing) return new Promise(() => {}); // the first caller exits the process
  finishing = true;
  clearTimeout(overall);
  summary.timings.total = secs(t0);
  const required = REQUIRED_FLOWS.filter((f) => FLOWS.includes(f));
  summary.ok = code === 0 && required.every((f) => summary.flows[f] && summary.flows[f].pass);
  if (!summary.ok) {
    if (codeServerLog) {
      console.error(`---- tail of code-server's log (${codeServerLog}) ----\n${tail(codeServerLog, 40)}`);
    }
    if (tmp) {
      // VS Code's extension host and server logs, and our extension's output channel.
      const logs = walk(path.join(tmp, 'user-data', 'logs')).filter(
        (f) =>
          f.endsWith('.log') &&
          (['remoteexthost.log', 'remoteagent.log'].includes(path.basename(f)) || /prompt-canvas/i.test(path.dirname(f))),
      );
      for (const f of logs) {
        const t = tail(f, 25);
        if (t.trim()) console.error(`---- tail of ${path.relative(tmp, f)} ----\n${t}`);
      }
    }
  }
  await cleanup();
  if (summary.ok && stagedShots && fs.existsSync(stagedShots)) {
    fs.mkdirSync(SHOTS, { recursive: true });
    const copied = [];
    for (const f of fs.readdirSync(stagedShots)) {
      fs.copyFileSync(path.join(stagedShots, f), path.join(SHOTS, f));
      copied.push(f);
    }
    summary.screenshots = { dir: SHOTS, files: copied };
    log(`screenshots → ${SHOTS}: ${copied.join(', ')}`);
  } else if (stagedShots) {
    summary.screenshots = { dir: stagedShots, copied: false };
    if (!summary.ok) log(`not all required flows passed: ${SHOTS} left as it was (this run's screenshots are in ${stagedShots})`);
  }
  if (tmp) {
    if (summary.ok && !KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else {
      summary.kept = tmp;
      console.error(`kept ${tmp}`);
    }
  }
  console.log('E2E_SUMMARY ' + JSON.stringify(summary));
  process.exit(summary.ok ? 0 : code || 1);
}

async function main() {
  if (!fs.existsSync(VSIX)) throw new Error(`no VSIX at ${VSIX} (build it: npm run package, or set E2E_VSIX)`);
  let tStep = Date.now();
  const codeServer = resolveCodeServer();
  summary.codeServer = codeServer;
  summary.timings.install = secs(tStep);

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'prompt-canvas-e2e-'));
  stagedShots = path.join(tmp, 'shots');
  const userDataDir = path.join(tmp, 'user-data');
  const extensionsDir = path.join(tmp, 'extensions');
  const xdgConfig = path.join(tmp, 'xdg-config');
  const xdgData = path.join(tmp, 'xdg-data');
  for (const d of [userDataDir, extensionsDir, xdgConfig, xdgData]) fs.mkdirSync(d, { recursive: true });
  const ws = makeWorkspace(tmp);
  const file = path.join(ws, PROMPT_FILE);
  writeUserSettings(userDataDir);
  let llm = null;
  if (FLOWS.includes('apikey') || FLOWS.includes('render')) {
    tStep = Date.now();
    llm = await startLlmServer(tmp);
    log(`fake OpenAI-compatible server at ${llm.url} (requests logged to ${llm.requestsFile})`);
    summary.timings.llmServer = secs(tStep);
    // Only the openai backend reads these; the offline flows stay offline until the apikey flow
    // adds promptCanvas.backend/model.
    writeWorkspaceSettings(ws, { 'promptCanvas.baseUrl': llm.url, 'promptCanvas.cache': false });
  }
  const configYaml = path.join(tmp, 'code-server.yaml');
  fs.writeFileSync(configYaml, 'auth: none\ncert: false\n');
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: xdgConfig,
    XDG_DATA_HOME: xdgData,
    VSCODE_CLI_DISABLE_KEYCHAIN_ENCRYPT: '1',
  };
  delete env.VSCODE_IPC_HOOK_CLI;
  // The server would fall back to these: the apikey flow needs "no key" to mean no key.
  for (const k of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_ORG_ID', 'OPENAI_PROJECT_ID']) delete env[k];
  const common = ['--config', configYaml, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

  tStep = Date.now();
  log(`installing ${VSIX}`);
  const out = execFileSync(codeServer, [...common, '--install-extension', VSIX, '--force'], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120000,
  });
  log(out.trim().split('\n').slice(-1)[0]);
  const installed = fs.readdirSync(extensionsDir).filter((d) => !d.startsWith('.') && d !== 'extensions.json');
  if (!installed.length) throw new Error(`--install-extension installed nothing: ${out}`);
  summary.extension = installed.join(',');
  summary.timings.installExtension = secs(tStep);

  const port = await freePort();
  codeServerLog = path.join(tmp, 'code-server.log');
  const logFd = fs.openSync(codeServerLog, 'a');
  tStep = Date.now();
  serverProc = spawn(
    codeServer,
    [
      ...common,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--log', LOG_LEVEL,
      ws,
    ],
    { env, detached: true, stdio: ['ignore', logFd, logFd] },
  );
  fs.closeSync(logFd);
  serverProc.on('exit', (c, s) => log(`code-server exited (${c ?? s})`));
  log(`code-server pid ${serverProc.pid} on port ${port}, log ${codeServerLog}`);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60000);
  summary.timings.codeServerUp = secs(tStep);

  tStep = Date.now();
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium writes "Crash Reports" under XDG_CONFIG_HOME even with a temporary profile.
    env: { ...process.env, XDG_CONFIG_HOME: xdgConfig, XDG_CACHE_HOME: path.join(tmp, 'xdg-cache') },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`;
  log(`opening ${url}`);
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60000 });
  // The explorer shows the workspace once the remote connection is up.
  await page
    .locator('.explorer-folders-view .monaco-list-row', { hasText: PROMPT_FILE })
    .first()
    .waitFor({ state: 'visible', timeout: 60000 });
  summary.timings.workbench = secs(tStep);

  tStep = Date.now();
  await waitFor(
    async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await page.keyboard.type(PROMPT_FILE);
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: PROMPT_FILE }).first();
      await row.waitFor({ state: 'visible', timeout: 10000 });
      await page.keyboard.press('Enter');
      await page
        .locator('.tabs-container .tab', { hasText: PROMPT_FILE })
        .first()
        .waitFor({ state: 'visible', timeout: 10000 });
      return true;
    },
    60000,
    `quick open of ${PROMPT_FILE}`,
    1000,
  );
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: 30000 });
  // The language mode in the status bar proves the language contribution; activation of the
  // client itself is proved by the first code-action menu that shows our actions.
  const mode = await waitFor(
    async () => {
      const items = await page.locator('.statusbar-item').allInnerTexts();
      return items.find((t) => /Prompt Canvas|promptcanvas/i.test(t));
    },
    30000,
    'the "Prompt Canvas" language mode in the status bar',
  ).catch((e) => {
    log(`warning: ${e.message}`);
    return null;
  });
  summary.languageMode = mode;
  summary.statusBarItemId = await page
    .locator('.statusbar-item[id$=".promptCanvas.status"]')
    .first()
    .getAttribute('id', { timeout: 5000 })
    .catch(() => null);
  summary.timings.fileOpen = secs(tStep);
  await shot(page, 'opened.png', tmp);

  const flows = {
    expand: flowExpand,
    variations: flowVariations,
    pick: flowPick,
    hover: flowHover,
    problems: flowProblems,
    apikey: flowApiKey,
    render: flowRender,
  };
  const ctx = { ws, userDataDir, llm, keySet: false };
  for (const name of ALL_FLOWS) {
    if (!FLOWS.includes(name)) continue;
    const start = Date.now();
    log(`flow ${name}: start`);
    try {
      const detail = await flows[name](page, file, ctx);
      summary.flows[name] = { pass: true, seconds: secs(start), ...detail };
      log(`flow ${name}: PASS (${secs(start)}s)`);
    } catch (e) {
      summary.flows[name] = { pass: false, seconds: secs(start), error: String(e && e.message || e) };
      log(`flow ${name}: FAIL (${secs(start)}s): ${e && e.message}`);
      try {
        await shot(page, `failed-${name}.png`, tmp);
      } catch {
        /* ignore */
      }
      // Leave the UI in a known state for the next flow.
      await page.keyboard.press('Escape').catch(() => {});
      await page.keyboard.press('Escape').catch(() => {});
    }
  }
  if (name_required_failed() && consoleErrors.length) {
    console.error('---- browser console errors (last 10) ----\n' + consoleErrors.slice(-10).join('\n'));
  }
  await finish(0);
}

function name_required_failed() {
  return Object.values(summary.flows).some((f) => !f.pass);
}

main().catch(async (e) => {
  log(`ERROR: ${e && e.stack || e}`);
  summary.error = String(e && e.message || e);
  await finish(1);
});
