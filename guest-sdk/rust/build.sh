#!/bin/sh
# Builds a Rust runner (one source file using the solti crate) into a wasm module, reproducibly,
# without cargo or crates.io:
#
#   guest-sdk/rust/build.sh RUNNER.rs OUT.wasm
#
# Each crate is compiled from its own directory, and the absolute paths rustc would still embed
# (LTO keeps the SDK's source path in panic locations) are remapped to fixed names, so the
# paths in the module are the same wherever the checkout is: the same sources give the same
# bytes. RUSTC
# defaults to /usr/bin/rustc (Debian's rustc 1.63 ships the wasm32-unknown-unknown target in
# libstd-rust-dev-wasm32; a rustup toolchain needs `rustup target add wasm32-unknown-unknown`).
# bulk-memory turns the struct moves and copies of the SDK into memory.copy instead of calls to
# a byte-loop memcpy (as -mbulk-memory does for C); every engine solti-wasm runs on has it.
# opt-level 3 with fat LTO and one codegen unit lets the SDK's export glue, the runner's methods
# and the standard library's small functions inline into each export (supports of a kind check
# becomes one function with no calls but the host's); panic=abort drops the unwinding tables.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 RUNNER.rs OUT.wasm" >&2; exit 2; }
rustc=${RUSTC:-/usr/bin/rustc}
sdk=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$(dirname "$1")" && pwd)
src=$(basename "$1")
outdir=$(cd "$(dirname "$2")" && pwd)
out=$outdir/$(basename "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="--remap-path-prefix=$sdk=solti-sdk --remap-path-prefix=$srcdir=runner --edition 2021 --target wasm32-unknown-unknown -C opt-level=3 -C codegen-units=1 -C target-feature=+bulk-memory -C panic=abort"
(cd "$sdk" && "$rustc" $flags --crate-type rlib --crate-name solti -o "$tmp/libsolti.rlib" src/lib.rs)
(cd "$srcdir" && "$rustc" $flags -C lto=fat -C strip=symbols --crate-type cdylib --crate-name runner --extern solti="$tmp/libsolti.rlib" -o "$out" "$src")
