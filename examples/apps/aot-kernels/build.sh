#!/bin/sh
# Builds kernels.wasm into $1: one 64 KiB page of memory, 8 KiB of it stack.
set -eu
out=${1:?usage: build.sh <out-dir>}
mkdir -p "$out"
clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--initial-memory=65536 -Wl,--max-memory=65536 \
    -Wl,-z,stack-size=8192 -o "$out/kernels.wasm" "$(dirname "$0")/kernels.c"
