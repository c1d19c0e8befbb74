#!/bin/sh
# Builds an AkiraOS test app (one main.c and a manifest.json) the way the
# AkiraOS SDK builds apps (C, no libc, `env` imports, `main` exported, one
# 64 KiB page) and appends manifest.json as the custom section
# `.akira.manifest`, as AkiraOS's tools do:
#   build-akiraos.sh APP_DIR [OUT_DIR]   (default OUT_DIR: APP_DIR/build; CLANG=... picks the compiler)
# The app `akiraos-NAME` becomes OUT_DIR/NAME.wasm (its path is printed);
# `akira run OUT_DIR/NAME.wasm` translates and runs it unchanged.
set -eu
app=$(cd "$1" && pwd)
out=${2:-"$app/build"}
name=$(basename "$app")
name=${name#akiraos-}
clang=${CLANG:-clang}
mkdir -p "$out"
"$clang" --target=wasm32 -nostdlib -Os -Wall -Wextra -Werror \
    -Wl,--no-entry -Wl,--export=main -Wl,--allow-undefined -Wl,--strip-all \
    -Wl,-zstack-size=4096 -Wl,--initial-memory=65536 -Wl,--max-memory=65536 \
    -o "$out/$name.wasm" "$app/main.c"
python3 - "$out/$name.wasm" "$app/manifest.json" <<'PY'
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
echo "$out/$name.wasm"
