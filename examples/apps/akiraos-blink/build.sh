#!/bin/sh
# Builds main.c the way the AkiraOS SDK builds apps (C, no libc, `env`
# imports, `main` exported, one 64 KiB page) and appends manifest.json as
# the custom section `.akira.manifest`, as AkiraOS's tools do:
#   ./build.sh [OUT_DIR]        (default: build/; CLANG=... picks the compiler)
# Then `akira run OUT_DIR/blink.wasm` translates and runs it unchanged.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build"}
clang=${CLANG:-clang}
mkdir -p "$out"
"$clang" --target=wasm32 -nostdlib -Os -Wall -Wextra -Werror \
    -Wl,--no-entry -Wl,--export=main -Wl,--allow-undefined -Wl,--strip-all \
    -Wl,-zstack-size=4096 -Wl,--initial-memory=65536 -Wl,--max-memory=65536 \
    -o "$out/blink.wasm" "$here/main.c"
python3 - "$out/blink.wasm" "$here/manifest.json" <<'PY'
import sys
def leb(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
wasm, json = sys.argv[1], open(sys.argv[2], "rb").read()
name = b".akira.manifest"
body = leb(len(name)) + name + json
with open(wasm, "ab") as f:
    f.write(b"\0" + leb(len(body)) + body)
PY
echo "$out/blink.wasm"
