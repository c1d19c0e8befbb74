#!/bin/sh
# Builds the C apps of one app directory for wasm32 with clang and lld:
#   build-c.sh APP_DIR [OUT_DIR]   (default OUT_DIR: APP_DIR/build; CLANG=... picks the compiler)
# Each NAME.c becomes OUT_DIR/NAME.wasm; run it with
#   akira run OUT_DIR/NAME.wasm --manifest APP_DIR/Akira.toml
# or run the app directory itself (`akira run APP_DIR`), which runs its
# build.sh with AKIRA_STACK_SIZE from its Akira.toml and takes the .wasm
# named on the last line.
set -eu
app=$(cd "$1" && pwd)
out=${2:-"$app/build"}
clang=${CLANG:-clang}
include="$(cd "$(dirname "$0")/../../include" && pwd)"
mkdir -p "$out"
for src in "$app"/*.c; do
    name=$(basename "$src" .c)
    "$clang" --target=wasm32 -nostdlib -O2 -Wall -Wextra -Werror -I "$include" \
        -Wl,--no-entry -Wl,--export=akira_main -Wl,--allow-undefined -Wl,-zstack-size="${AKIRA_STACK_SIZE:-4096}" \
        -o "$out/$name.wasm" "$src"
    echo "$out/$name.wasm"
done
