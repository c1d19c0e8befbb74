#!/bin/sh
# Builds this AkiraOS app into OUT_DIR/edge.wasm (see ../build-akiraos.sh):
#   ./build.sh [OUT_DIR]        (default: build/; CLANG=... picks the compiler)
# Then `akira run OUT_DIR/edge.wasm` translates and runs it unchanged.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec sh "$here/../build-akiraos.sh" "$here" "$@"
