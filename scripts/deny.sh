#!/usr/bin/env bash
# cargo deny check (advisories, licences, bans, sources) offline: the RustSec advisory
# database comes from the snapshot bundle in ../shared/supply-chain (ADVISORY_DB_BUNDLE to use
# another), cloned into target/advisory-db; its date is printed, since advisories published
# after it are not checked.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bundle="${ADVISORY_DB_BUNDLE:-$root/../shared/supply-chain/advisory-db.bundle}"
. "$root/scripts/versions.env"
deny="$root/.tools/bin/cargo-deny"
# Built from crates.io into .tools once (a few minutes), at the pinned version.
if ! "$deny" --version 2>/dev/null | grep -q " $CARGO_DENY_VERSION\$"; then
  echo "deny: building cargo-deny $CARGO_DENY_VERSION from crates.io (once)"
  cargo install --locked --quiet --root "$root/.tools" "cargo-deny@$CARGO_DENY_VERSION"
fi
[ -f "$bundle" ] || { echo "deny: no advisory snapshot at $bundle (set ADVISORY_DB_BUNDLE)" >&2; exit 1; }
# The folder name cargo-deny derives from the database's URL.
db="$root/target/advisory-db/advisory-db-3157b0e258782691"
rm -rf "$db"
mkdir -p "$(dirname "$db")"
git -c init.defaultBranch=main -c advice.defaultBranchName=false clone -q "$bundle" "$db"
echo "deny: RustSec advisory snapshot of $(git -C "$db" log -1 --format=%cs) ($(git -C "$db" rev-parse --short HEAD)); advisories published later are not checked"
cargo fetch --locked --quiet
"$deny" --offline check
