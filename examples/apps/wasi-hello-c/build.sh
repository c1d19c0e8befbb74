#!/bin/sh
# Builds hello.c for WASI with Debian's clang and wasi-libc:
#   ./build.sh [OUT_DIR]     (default: build/; CLANG=... picks the compiler)
# Needs `apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32`.
# Run it with `akira run build/hello.wasm --manifest Akira.toml`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build"}
clang=${CLANG:-clang}
include="$(cd "$here/../../../include" && pwd)"
mkdir -p "$out"
# -Os and --strip-all keep the module small (wasi-libc's objects carry
# debug info); the 8 KiB stack is the manifest's.
"$clang" --target=wasm32-wasi --sysroot=/usr -Os -Wall -Wextra -Werror -I "$include" \
    -Wl,-zstack-size=8192 -Wl,--strip-all \
    -o "$out/hello.wasm" "$here/hello.c"
echo "$out/hello.wasm"
