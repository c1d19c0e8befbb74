#!/bin/sh
# Builds this directory's C apps for wasm32: ./build.sh [OUT_DIR]
# (default: build/). See ../build-c.sh.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../build-c.sh" "$here" "$@"
