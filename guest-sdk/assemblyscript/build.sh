#!/bin/sh
# Builds an AssemblyScript runner into a wasm module, reproducibly:
#
#   guest-sdk/assemblyscript/build.sh ENTRY.ts OUT.wasm
#
# asc embeds the entry's path in the module (in runtime type names), so the script compiles
# from the repository root with root-relative paths: the same sources give the same bytes
# whatever the working directory. Needs `npm ci` in guest-sdk/assemblyscript (assemblyscript
# 0.28.20, pinned in package-lock.json).
set -eu
[ $# -eq 2 ] || { echo "usage: $0 ENTRY.ts OUT.wasm" >&2; exit 2; }
sdk=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$sdk/../.." && pwd)
entry=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
case $entry in
"$root"/*) entry=${entry#"$root"/} ;;
*) echo "$0: $1 is outside the repository $root" >&2; exit 2 ;;
esac
asc=$sdk/node_modules/.bin/asc
[ -x "$asc" ] || { echo "$0: $asc is missing: run npm ci in $sdk" >&2; exit 1; }
cd "$root"
"$asc" "$entry" -O3 --runtime incremental --use abort= --noAssert -o "$out"
