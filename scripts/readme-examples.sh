#!/usr/bin/env bash
# Compiles (cargo check) the first example of every library crate's README as a user would:
# pasted into a new crate outside this workspace, with the `[dependencies]` lines the README
# gives just above it, exactly as written. The spam-* crates resolve to this checkout through
# `[patch.crates-io]` (the pasted lines stay as they are); other crates resolve to the versions
# of this workspace's Cargo.lock. A README whose first example has hidden (`# `)
# lines, no `fn main`, or no `[dependencies]` block before it fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/target/readme-examples"
all=(nonce proxy store core tasks)
# README_CRATES="nonce store" checks some only.
read -r -a crates <<<"${README_CRATES:-${all[*]}}"
mkdir -p "$out"
status=0
for crate in "${crates[@]}"; do
  readme="crates/$crate/README.md"
  dir="$out/$crate"
  rm -rf "$dir"
  mkdir -p "$dir/src"
  # The first ```toml block (the dependencies) and the first ```rust block after it.
  awk -v toml="$dir/deps.toml" -v rust="$dir/src/main.rs" '
    /^```toml/ && !t { in_t = 1; t = 1; next }
    /^```rust/ && t && !r { in_r = 1; r = 1; next }
    /^```/ { in_t = 0; in_r = 0; next }
    in_t { print > toml }
    in_r { print > rust }
  ' "$readme"
  if [ ! -s "$dir/deps.toml" ] || [ ! -s "$dir/src/main.rs" ]; then
    echo "readme-examples: $readme: no \`\`\`toml [dependencies] block followed by a \`\`\`rust example" >&2
    status=1
    continue
  fi
  if grep -nE '^\s*#( |$)' "$dir/src/main.rs" >&2; then
    echo "readme-examples: $readme: the example has hidden lines (above); a pasted program has none" >&2
    status=1
    continue
  fi
  if ! grep -q 'fn main' "$dir/src/main.rs"; then
    echo "readme-examples: $readme: the example is not a program (no fn main)" >&2
    status=1
    continue
  fi
  {
    printf '[package]\nname = "readme-%s"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n' "$crate"
    cat "$dir/deps.toml"
    printf '\n[patch.crates-io]\n'
    for c in "${all[@]}"; do
      printf 'spam-%s = { path = "%s/crates/%s" }\n' "$c" "$root" "$c"
    done
    # Its own workspace: not a member of this one.
    printf '\n[workspace]\n'
  } >"$dir/Cargo.toml"
  cp Cargo.lock "$dir/Cargo.lock"
  echo "readme-examples: checking the first example of $readme, as pasted"
  if ! (cd "$dir" && CARGO_TARGET_DIR="$out/target" cargo check --quiet); then
    echo "readme-examples: $readme: its first example does not compile as pasted (crate in $dir)" >&2
    status=1
  fi
done
exit "$status"
