#!/usr/bin/env bash
# The desktop end-to-end run: the real Latchkey app (target/debug/latchkey) under Xvfb,
# driven by WebDriver (tauri-driver + WebKitGTK's WebKitWebDriver), against the real service.
#
#   bash ui/e2e-desktop/run.sh                 # node --test: ui/e2e-desktop/*.test.mjs
#   bash ui/e2e-desktop/run.sh --screenshots   # ui/e2e-desktop/screenshots.mjs → docs/screenshots/
#
# Builds nothing: it needs target/debug/latchkey (a debug build: see under_webdriver() in
# src-tauri/src/window.rs), target/debug/latchkey-server, ui/dist and ui/node_modules (cargo
# build; cd ui && npm ci && npm run build). The app embeds ui/dist when it is compiled, so
# rebuild it after changing the wizard.
#
# It starts Xvfb on a free display :99..:120 (for the tests, unless $DISPLAY already answers;
# screenshots always use Xvfb), then, inside a private D-Bus session (dbus-run-session,
# NO_AT_BRIDGE=1), tauri-driver on two free loopback ports, and runs node with the ports in
# the environment. Private XDG folders and LC_ALL=C.UTF-8 (English) keep the developer's
# settings out. On exit, whatever happens, it kills what it started: the D-Bus session's
# whole process group (tauri-driver, WebKitWebDriver, the app and its WebKit processes, the
# accessibility bus, node and the service) and Xvfb, and removes its temporary folder. The
# exit code is the tests' (2 when something needed is missing).
#
# Environment: LATCHKEY_E2E_KEEP=1 keeps the temporary folder (config, logs) for a post-mortem;
# TAURI_DRIVER=path overrides where tauri-driver is found; LATCHKEY_SCREENSHOTS_THEMES=light
# (or dark) takes one theme's screenshots only.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

say() { printf 'e2e-desktop: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# ---- inside the D-Bus session: tauri-driver, then node ------------------------------------------
if [[ "${1:-}" == "--inside" ]]; then
  shift
  mode="$1"
  TD_PID=""
  cleanup_inside() {
    if [[ -n "$TD_PID" ]] && kill -0 "$TD_PID" 2>/dev/null; then
      kill -TERM "$TD_PID" 2>/dev/null || true # tauri-driver kills WebKitWebDriver on TERM
      for _ in $(seq 30); do kill -0 "$TD_PID" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$TD_PID" 2>/dev/null || true
    fi
  }
  trap cleanup_inside EXIT
  "$TAURI_DRIVER_BIN" --port "$TD_PORT" --native-port "$TD_NATIVE_PORT" >"$E2E_TMP/tauri-driver.log" 2>&1 &
  TD_PID=$!
  # Bounded readiness poll: tauri-driver answers /status once WebKitWebDriver does.
  node -e '
    const url = process.argv[1], end = Date.now() + 20000;
    (async () => {
      for (;;) {
        try {
          const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
          if (r.ok && (await r.json()).value?.ready !== false) return;
        } catch {}
        if (Date.now() > end) { console.error(`tauri-driver not ready at ${url} within 20 s`); process.exit(1); }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();' "$LATCHKEY_E2E_WEBDRIVER/status" || { cat "$E2E_TMP/tauri-driver.log" >&2; exit 1; }
  # The tests' temporary folders (the service's data) go under E2E_TMP, removed on exit
  # even when node is killed before it cleans up.
  mkdir -p "$E2E_TMP/tmp"
  export TMPDIR="$E2E_TMP/tmp"
  rc=0
  if [[ "$mode" == "screenshots" ]]; then
    node "$HERE/screenshots.mjs" || rc=$?
  else
    # The test files by name (node 20 searches a folder, later versions take globs).
    node --test --test-concurrency=1 "$HERE"/*.test.mjs || rc=$?
  fi
  if [[ $rc -ne 0 && -s "$E2E_TMP/tauri-driver.log" ]]; then
    say "tauri-driver / WebKit output (last 40 lines):"
    tail -n 40 "$E2E_TMP/tauri-driver.log" >&2
  fi
  exit "$rc"
fi

# ---- outside: checks, Xvfb, the D-Bus session -------------------------------------------------
mode=test
case "${1:-}" in
  "") ;;
  --screenshots) mode=screenshots ;;
  -h | --help) sed -n '2,/^set -euo/p' "$HERE/run.sh" | sed '$d'; exit 0 ;;
  *) die "unknown argument: $1 (use --screenshots or nothing)" ;;
esac

missing=()
[[ -x target/debug/latchkey ]] || missing+=("target/debug/latchkey (cargo build -p latchkey-desktop)")
[[ -x target/debug/latchkey-server ]] || missing+=("target/debug/latchkey-server (cargo build -p latchkey-server)")
[[ -f ui/dist/index.html ]] || missing+=("ui/dist (cd ui && npm run build)")
[[ -d ui/node_modules/playwright-core ]] || missing+=("ui/node_modules (cd ui && npm ci)")
command -v node >/dev/null || missing+=("node (Node.js 20 or later)")
command -v dbus-run-session >/dev/null || missing+=("dbus-run-session (apt-get install dbus)")
command -v WebKitWebDriver >/dev/null || missing+=("WebKitWebDriver (apt-get install webkit2gtk-driver)")
command -v setsid >/dev/null || missing+=("setsid (util-linux)")
TAURI_DRIVER_BIN="${TAURI_DRIVER:-$(command -v tauri-driver || true)}"
if [[ -z "$TAURI_DRIVER_BIN" && -x "$HOME/.cargo/bin/tauri-driver" ]]; then
  TAURI_DRIVER_BIN="$HOME/.cargo/bin/tauri-driver"
fi
[[ -n "$TAURI_DRIVER_BIN" && -x "$TAURI_DRIVER_BIN" ]] || missing+=("tauri-driver (cargo install tauri-driver --locked; or TAURI_DRIVER=/path/to/it)")
if ((${#missing[@]})); then
  say "missing; this script builds nothing:"
  printf '  - %s\n' "${missing[@]}" >&2
  exit 2
fi

E2E_TMP="$(mktemp -d "${TMPDIR:-/tmp}/latchkey-e2e-desktop.XXXXXX")"
XPID=""
SESSION_PID=""
# Whether process group $1 still has a live (not zombie) member. Without an init that reaps,
# as in some containers, the helpers WebKit and D-Bus leave behind stay as zombies.
group_alive() {
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$SESSION_PID" ]]; then
    # The D-Bus session was started with setsid: its process group holds everything started
    # inside it, including helpers reparented to init (at-spi, WebKit processes).
    kill -TERM -- "-$SESSION_PID" 2>/dev/null || true
    for _ in $(seq 30); do group_alive "$SESSION_PID" || break; sleep 0.1; done
    kill -KILL -- "-$SESSION_PID" 2>/dev/null || true
    wait "$SESSION_PID" 2>/dev/null || true
  fi
  if [[ -n "$XPID" ]]; then
    kill -TERM "$XPID" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$XPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$XPID" 2>/dev/null || true
    wait "$XPID" 2>/dev/null || true
  fi
  if [[ "${LATCHKEY_E2E_KEEP:-}" == 1 ]]; then
    say "kept $E2E_TMP"
  else
    rm -rf "$E2E_TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

display_usable() {
  local d="$1"
  if command -v xdpyinfo >/dev/null; then
    xdpyinfo -display "$d" >/dev/null 2>&1
  else
    [[ "$d" =~ ^:([0-9]+) ]] && [[ -S "/tmp/.X11-unix/X${BASH_REMATCH[1]}" ]]
  fi
}

# Screenshots always come from Xvfb: a desktop's own theme, scaling and window manager would
# change them.
if [[ "$mode" == test && -n "${DISPLAY:-}" ]] && display_usable "$DISPLAY"; then
  say "using DISPLAY=$DISPLAY"
else
  command -v Xvfb >/dev/null || die "no usable DISPLAY and no Xvfb (apt-get install xvfb)"
  for n in $(seq 99 120); do
    [[ -e "/tmp/.X${n}-lock" || -e "/tmp/.X11-unix/X${n}" ]] && continue
    Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >"$E2E_TMP/xvfb.log" 2>&1 &
    XPID=$!
    for _ in $(seq 50); do # up to 5 s
      kill -0 "$XPID" 2>/dev/null || break
      display_usable ":$n" && break
      sleep 0.1
    done
    if kill -0 "$XPID" 2>/dev/null && display_usable ":$n"; then
      export DISPLAY=":$n"
      break
    fi
    kill -KILL "$XPID" 2>/dev/null || true
    wait "$XPID" 2>/dev/null || true
    XPID=""
  done
  [[ -n "$XPID" ]] || { cat "$E2E_TMP/xvfb.log" >&2 2>/dev/null || true; die "could not start Xvfb on any display :99..:120"; }
  say "Xvfb on DISPLAY=$DISPLAY"
fi

# Two free loopback ports, held together so they differ, then released for tauri-driver.
read -r TD_PORT TD_NATIVE_PORT < <(node -e '
  const net = require("node:net");
  const a = net.createServer().listen(0, "127.0.0.1", () => {
    const b = net.createServer().listen(0, "127.0.0.1", () => {
      console.log(a.address().port, b.address().port);
      a.close(); b.close();
    });
  });')
[[ -n "$TD_PORT" && -n "$TD_NATIVE_PORT" ]] || die "could not find free ports"

# tauri-driver hands its environment to WebKitWebDriver, which hands it to the app: the
# managed config and the GTK settings (light/dark) live in files the tests write before each
# launch. Private XDG folders keep the developer's own settings out; English messages.
mkdir -p "$E2E_TMP/config" "$E2E_TMP/data" "$E2E_TMP/cache" "$E2E_TMP/runtime"
chmod 700 "$E2E_TMP/runtime"
export XDG_CONFIG_HOME="$E2E_TMP/config" XDG_DATA_HOME="$E2E_TMP/data" XDG_CACHE_HOME="$E2E_TMP/cache"
export XDG_RUNTIME_DIR="$E2E_TMP/runtime"
export LATCHKEY_DESKTOP_CONFIG="$E2E_TMP/desktop.toml"
export LATCHKEY_E2E_APP="$ROOT/target/debug/latchkey"
export LATCHKEY_E2E_WEBDRIVER="http://127.0.0.1:$TD_PORT"
export NO_AT_BRIDGE=1 LC_ALL=C.UTF-8 LANG=C.UTF-8
unset LANGUAGE LC_MESSAGES GTK_MODULES 2>/dev/null || true
export E2E_TMP TD_PORT TD_NATIVE_PORT TAURI_DRIVER_BIN
: >"$LATCHKEY_DESKTOP_CONFIG"

setsid dbus-run-session -- bash "$HERE/run.sh" --inside "$mode" &
SESSION_PID=$!
rc=0
wait "$SESSION_PID" || rc=$?
exit "$rc"
