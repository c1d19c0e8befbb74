#!/bin/sh
# Builds the C apps in this directory for wasm32 with clang and lld:
#   ./build.sh [OUT_DIR]        (default: build/; CLANG=... picks the compiler)
# Each NAME.c becomes OUT_DIR/NAME.wasm; run it with
#   akira run OUT_DIR/NAME.wasm --manifest Akira.toml
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build"}
clang=${CLANG:-clang}
include="$here/../../../include"
mkdir -p "$out"
for src in "$here"/*.c; do
    name=$(basename "$src" .c)
    "$clang" --target=wasm32 -nostdlib -O2 -Wall -Wextra -Werror -I "$include" \
        -Wl,--no-entry -Wl,--export=akira_main -Wl,--allow-undefined -Wl,-zstack-size=4096 \
        -o "$out/$name.wasm" "$src"
    echo "$out/$name.wasm"
done
