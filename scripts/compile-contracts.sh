#!/usr/bin/env bash
# Compiles the Solidity sources of spam-tasks (crates/tasks/contracts/src/*.sol) with the npm
# package `solc` at the version pinned in scripts/versions.env, and writes one artifact per
# contract (ABI, creation and runtime bytecode) to crates/tasks/contracts/out/<Name>.json.
# Both sources and artifacts are committed; `cargo test -p spam-tasks` recompiles into a temp
# folder and compares when solc is installed.
#
#   ./scripts/compile-contracts.sh                 install solc if missing, compile, write artifacts
#   ./scripts/compile-contracts.sh --out DIR       write the artifacts to DIR instead
#   ./scripts/compile-contracts.sh --install-only  only install solc into .tools/ (setup.sh uses this)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
. "$root/scripts/versions.env"
tools="$root/.tools"
src="$root/crates/tasks/contracts/src"
out="$root/crates/tasks/contracts/out"
install_only=0

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --install-only) install_only=1; shift ;;
    *) echo "compile-contracts: unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { printf 'compile-contracts: %s\n' "$*" >&2; }

command -v node >/dev/null 2>&1 || { say "error: node not found; install Node.js and npm"; exit 1; }
solc_dir="$tools/node_modules/solc"
have="$(node -p "require('$solc_dir/package.json').version" 2>/dev/null || true)"
if [ "$have" != "$SOLC_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || { say "error: npm not found; install Node.js and npm"; exit 1; }
  say "installing solc $SOLC_VERSION (npm package solc) into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "solc@$SOLC_VERSION" >/dev/null
else
  say "solc $SOLC_VERSION already installed ($solc_dir)"
fi
[ "$install_only" = 1 ] && exit 0

mkdir -p "$out"
# Standard JSON in, one artifact per contract out. Settings are part of the pin: changing them
# changes the bytecode, and the artifact check will ask for a recompile.
SOLC_DIR="$solc_dir" SRC="$src" OUT="$out" node <<'JS'
const fs = require('fs');
const path = require('path');
const solc = require(process.env.SOLC_DIR);
const src = process.env.SRC, out = process.env.OUT;
const files = fs.readdirSync(src).filter((f) => f.endsWith('.sol')).sort();
const input = {
  language: 'Solidity',
  sources: Object.fromEntries(files.map((f) => [f, { content: fs.readFileSync(path.join(src, f), 'utf8') }])),
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none', appendCBOR: false },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) process.stderr.write(e.formattedMessage + '\n');
if (errors.length) process.exit(1);
for (const file of files) {
  for (const [name, c] of Object.entries(output.contracts[file])) {
    if (c.evm.bytecode.object.length === 0) continue; // interfaces
    const artifact = {
      contractName: name,
      source: `src/${file}`,
      compiler: `solc ${solc.version()}`,
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
      deployedBytecode: '0x' + c.evm.deployedBytecode.object,
    };
    fs.writeFileSync(path.join(out, `${name}.json`), JSON.stringify(artifact, null, 2) + '\n');
    process.stderr.write(`compile-contracts: wrote ${name}.json\n`);
  }
}
JS
