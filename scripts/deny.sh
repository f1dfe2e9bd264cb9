#!/usr/bin/env bash
# cargo deny check (advisories, licences, bans, sources) offline: the RustSec advisory
# database comes from the snapshot bundle in ../shared/supply-chain (ADVISORY_DB_BUNDLE to use
# another), cloned into target/advisory-db; its date is printed, since advisories published
# after it are not checked.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bundle="${ADVISORY_DB_BUNDLE:-$root/../shared/supply-chain/advisory-db.bundle}"
deny="$root/.tools/bin/cargo-deny"
[ -x "$deny" ] || { echo "deny: $deny missing; run ./scripts/setup.sh" >&2; exit 1; }
[ -f "$bundle" ] || { echo "deny: no advisory snapshot at $bundle (set ADVISORY_DB_BUNDLE)" >&2; exit 1; }
# The folder name cargo-deny derives from the database's URL.
db="$root/target/advisory-db/advisory-db-3157b0e258782691"
rm -rf "$db"
mkdir -p "$(dirname "$db")"
git -c init.defaultBranch=main -c advice.defaultBranchName=false clone -q "$bundle" "$db"
echo "deny: RustSec advisory snapshot of $(git -C "$db" log -1 --format=%cs) ($(git -C "$db" rev-parse --short HEAD)); advisories published later are not checked"
cargo fetch --locked --quiet
"$deny" --offline check
