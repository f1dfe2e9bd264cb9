#!/usr/bin/env bash
# Installs the external tools spam-* needs into ./.tools (ignored by git). Idempotent: a tool
# already present at the pinned version is left alone. Needs Node.js/npm; apt for the rest.
#
#   ./scripts/setup.sh          install what is missing, say what was done
#
# Afterwards: .tools/bin/anvil (Foundry's dev node, npm @foundry-rs/anvil-linux-amd64) and
# .tools/bin/cast (Foundry's CLI, npm @foundry-rs/cast-linux-amd64; wallet interop tests) and
# .tools/node_modules/solc (npm solc; compiles the spam-tasks contracts).
# Also apt-gets Debian's tinyproxy and microsocks when missing (spam-proxy's proxy tests), and
# chromium (spammer's test renders report.html with it, headless), prometheus (spammer's metrics
# test: promtool lints the exposition, a real server runs the Grafana dashboard's queries), and
# .tools/bin/kubernetes-validate (PyPI; checks docs/deploy/kubernetes offline).
# (scripts/deny.sh builds cargo-deny into .tools itself: only CI needs it.)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
. "$root/scripts/versions.env"
tools="$root/.tools"
mkdir -p "$tools/bin"

say() { printf 'setup: %s\n' "$*"; }

need() {
  command -v "$1" >/dev/null 2>&1 || {
    say "error: '$1' not found; $2" >&2
    exit 1
  }
}

# install_npm_bin NAME PACKAGE VERSION: installs PACKAGE@VERSION into .tools and links
# .tools/bin/NAME to the binary it ships in bin/NAME.
install_npm_bin() {
  local name="$1" pkg="$2" version="$3"
  local dir="$tools/node_modules/$pkg"
  local have=""
  if [ -f "$dir/package.json" ]; then
    have="$(node -p "require('$dir/package.json').version" 2>/dev/null || true)"
  fi
  if [ "$have" = "$version" ] && [ -x "$dir/bin/$name" ]; then
    say "$name $version already installed ($dir/bin/$name)"
  else
    need npm "install Node.js and npm (e.g. 'apt-get install nodejs npm')"
    if [ -n "$have" ]; then
      say "replacing $name $have with $version"
    else
      say "installing $name $version from npm package $pkg"
    fi
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "$pkg@$version" >/dev/null
    chmod +x "$dir/bin/$name"
    say "installed $name $version ($dir/bin/$name)"
  fi
  ln -sf "$dir/bin/$name" "$tools/bin/$name"
  "$tools/bin/$name" --version >/dev/null 2>&1 || {
    say "error: $tools/bin/$name does not run; remove $tools and rerun this script" >&2
    exit 1
  }
}

# install_apt_bins PKG...: apt-get installs the packages whose binary of the same name is
# missing (sudo only when not root). Without apt-get it says so and goes on: the tests that
# need them then skip with a message, or fail under CI=true.
install_apt_bins() {
  local missing=() pkg
  for pkg in "$@"; do
    if command -v "$pkg" >/dev/null 2>&1 || [ -x "/usr/sbin/$pkg" ] || [ -x "/usr/bin/$pkg" ]; then
      say "$pkg already installed"
    else
      missing+=("$pkg")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    say "warning: apt-get not found; install ${missing[*]} yourself (the tests need them)" >&2
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    need sudo "run as root or install sudo to apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  say "installing ${missing[*]} with apt-get"
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; then
    say "apt-get install failed; updating the package lists and retrying"
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
  say "installed ${missing[*]}"
}

arch="$(uname -m)"
if [ "$arch" != "x86_64" ] || [ "$(uname -s)" != "Linux" ]; then
  say "error: only linux x86_64 is supported by this script (found $(uname -s) $arch);" \
      "install anvil $ANVIL_VERSION yourself and set ANVIL_BIN" >&2
  exit 1
fi

install_npm_bin anvil "@foundry-rs/anvil-linux-amd64" "$ANVIL_VERSION"
install_npm_bin cast "@foundry-rs/cast-linux-amd64" "$CAST_VERSION"
# solc (npm `solc`) for ./scripts/compile-contracts.sh and the spam-tasks artifact check
"$root/scripts/compile-contracts.sh" --install-only
# tinyproxy (HTTP, Basic auth) and microsocks (SOCKS5, user/password) for spam-proxy's tests,
# from Debian's packages; the tests start their own instances on loopback ports.
install_apt_bins tinyproxy microsocks
# chromium for spammer's browser check: report.html rendered headless to a PNG.
install_apt_bins chromium
# prometheus and promtool for spammer's metrics test: the exposition linted, the dashboard's
# queries run on what a real server scraped.
install_apt_bins prometheus
# kubernetes-validate (PyPI) in its own virtualenv: the Kubernetes deploy recipe is checked
# offline against the schemas the package bundles.
kv="$tools/venv/bin/kubernetes-validate"
if [ -x "$kv" ] && [ "$("$tools/venv/bin/pip" show kubernetes-validate 2>/dev/null | sed -n 's/^Version: //p')" = "$KUBERNETES_VALIDATE_VERSION" ]; then
  say "kubernetes-validate $KUBERNETES_VALIDATE_VERSION already installed"
else
  install_apt_bins python3
  say "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI"
  if ! python3 -m venv "$tools/venv" >/dev/null 2>&1; then
    # Debian ships venv (ensurepip) apart from python3.
    sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    say "installing python3-venv with apt-get"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
    python3 -m venv "$tools/venv"
  fi
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
ln -sf "$kv" "$tools/bin/kubernetes-validate"
say "done: tools in $tools/bin ($(ls "$tools/bin" | tr '\n' ' '))"
