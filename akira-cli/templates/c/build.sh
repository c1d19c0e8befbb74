#!/bin/sh
# Builds {{name}} for wasm32 with clang and lld (Debian: apt-get install
# clang lld). `akira run .`, `akira build .` and `akira pack .` run it with
# AKIRA_STACK_SIZE set from Akira.toml and take the .wasm named on the last
# line of its output.
set -eu
cd "$(dirname "$0")"
mkdir -p build
"${CLANG:-clang}" --target=wasm32 -nostdlib -O2 -Wall -Wextra -Werror -I include \
    -Wl,--no-entry -Wl,--export=akira_main -Wl,--allow-undefined \
    -Wl,-zstack-size="${AKIRA_STACK_SIZE:-4096}" -o build/{{name}}.wasm src/*.c
echo build/{{name}}.wasm
