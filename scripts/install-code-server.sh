#!/usr/bin/env bash
# Install code-server (VS Code in the browser) for the end-to-end tests, cached by version.
#
#   scripts/install-code-server.sh          # prints the code-server executable as its last line
#
# - Debian packages: chromium (the browser playwright-core drives), ripgrep (replaces the
#   @vscode/ripgrep download), build-essential + libkrb5-dev + python3 (native modules built
#   from source), curl/ca-certificates.
# - code-server comes from the npm registry with --ignore-scripts, because its install scripts
#   download prebuilt binaries from GitHub, which this machine cannot reach; native modules
#   are rebuilt from source instead (see docs in /work/shared/notes/real-editors.md).
# - Cache: ${PROMPT_CANVAS_CACHE:-$HOME/.cache/prompt-canvas}/code-server-<version>; reused when its
#   stamp file exists (written last). Output goes to install.log in the cache; its tail is shown
#   on failure.
#
# Environment: CODE_SERVER_VERSION (default 4.100.3, the last release that runs on Node 20),
#              PROMPT_CANVAS_CACHE, SKIP_APT=1 (do not touch Debian packages).
set -euo pipefail

version="${CODE_SERVER_VERSION:-4.100.3}"
cache="${PROMPT_CANVAS_CACHE:-$HOME/.cache/prompt-canvas}"
dest="$cache/code-server-$version"
stamp="$dest/.complete"
bin="$dest/node_modules/code-server/out/node/entry.js"
launcher="$dest/bin/code-server"
start=$(date +%s)

mkdir -p "$cache"
log="$cache/install-code-server-$version.log"

elapsed() { echo $(( $(date +%s) - start )); }

fail() {
  echo "install-code-server: FAILED after $(elapsed)s: $*" >&2
  echo "---- last lines of $log ----" >&2
  tail -n 40 "$log" >&2 || true
  exit 1
}

step() {
  # step "description" command...   (output to the log)
  local what="$1"; shift
  echo "==> $what" >>"$log"
  if ! "$@" >>"$log" 2>&1; then
    fail "$what"
  fi
}

# ---------------------------------------------------------------- Debian packages
apt_packages=(chromium ripgrep build-essential libkrb5-dev python3 pkg-config ca-certificates)
missing=()
if [ "${SKIP_APT:-0}" != 1 ]; then
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
log_started=0
start_log() { [ "$log_started" = 1 ] || { : >"$log"; log_started=1; }; }
if [ ${#missing[@]} -gt 0 ]; then
  start_log
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "need root or sudo to install: ${missing[*]}"
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "==> apt-get install ${missing[*]}" >>"$log"
  if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    step "apt-get update" $sudo apt-get update -q
    step "apt-get install ${missing[*]}" $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

# ---------------------------------------------------------------- cached?
if [ -f "$stamp" ] && [ -x "$launcher" ] && [ -f "$bin" ]; then
  echo "$launcher"
  exit 0
fi

# ---------------------------------------------------------------- code-server from npm
command -v node >/dev/null || fail "node is not on PATH"
command -v rg >/dev/null || fail "rg (Debian ripgrep) is not on PATH"
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$version" = 4.100.3 ] && [ "$node_major" -gt 22 ]; then
  echo "install-code-server: warning: code-server $version was tested with Node 20, this is Node $node_major" >&2
fi

rm -rf "$dest"
mkdir -p "$dest"
start_log
echo "installing code-server $version into $dest (log: $log)" >&2

# ~/.npmrc here has yes=false, which cancels node-pty's `npx node-gyp`.
export npm_config_yes=true
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
export npm_config_loglevel=warn
cd "$dest"
echo '{"name":"prompt-canvas-code-server","private":true}' >package.json

step "npm install code-server@$version" \
  npm install --no-save --ignore-scripts --omit=dev "code-server@$version"
cs="$dest/node_modules/code-server"
[ -f "$cs/out/node/entry.js" ] || fail "code-server package has no out/node/entry.js"

# argon2 (password hashing): prebuilt download fails; build from source.
step "npm rebuild argon2" bash -c "cd '$dest' && npm rebuild argon2 --build-from-source"

vs="$cs/lib/vscode"
step "npm install (lib/vscode)" bash -c "cd '$vs' && npm install --omit=dev --ignore-scripts"
mkdir -p "$vs/node_modules/@vscode/ripgrep/bin"
cp "$(command -v rg)" "$vs/node_modules/@vscode/ripgrep/bin/rg"
step "npm rebuild (lib/vscode)" bash -c "cd '$vs' && npm rebuild"
# What lib/vscode's postinstall.sh would have done.
ln -sfn node_modules "$vs/node_modules.asar"
if [ -f "$vs/bin/remote-cli/code-linux.sh" ]; then
  ln -sfn code-linux.sh "$vs/bin/remote-cli/code-server"
fi
if [ -f "$vs/bin/helpers/browser-linux.sh" ]; then
  ln -sfn browser-linux.sh "$vs/bin/helpers/browser.sh"
fi
if [ -f "$vs/extensions/package.json" ]; then
  step "npm install (lib/vscode/extensions)" bash -c "cd '$vs/extensions' && npm install --omit=dev"
fi

# Sanity checks: the native modules VS Code's server needs must load.
step "check native modules" bash -c "cd '$vs' && node -e \"require('node-pty'); require('@vscode/spdlog'); require('argon2')\""

mkdir -p "$dest/bin"
cat >"$launcher" <<EOF
#!/usr/bin/env bash
exec node "$bin" "\$@"
EOF
chmod +x "$launcher"
# (own XDG_CONFIG_HOME: code-server writes a default config.yaml on first run)
step "code-server --version" env XDG_CONFIG_HOME="$dest/.config" XDG_DATA_HOME="$dest/.data" "$launcher" --version

date -u +%FT%TZ >"$stamp"
echo "installed code-server $version in $(elapsed)s" >&2
echo "$launcher"
