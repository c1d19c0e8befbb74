#!/usr/bin/env bash
# Boots the firmware in QEMU, pushes a signed app to it over the emulated
# UART1 (a TCP chardev) with `akira push`, and exits with the firmware's
# semihosting exit code: 0 when the pushed app installed, ran and exited
# with 0. Prints the firmware's console and its figures.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
# Run the host tool from the workspace root: this directory's
# .cargo/config.toml would build it for the microcontroller. CI passes the
# one it already built as $AKIRA.
akira() {
    if [ -n "${AKIRA:-}" ]; then "$AKIRA" "$@"; else (cd "$root" && cargo run -q -p akira-cli -- "$@"); fi
}

cargo build --release
# CI builds the board examples in one shared target directory.
target=$(cd "$here" && realpath -m "${CARGO_TARGET_DIR:-target}")
firmware=$target/thumbv7em-none-eabihf/release/akira-qemu-mps2-an386
akira pack "$root/examples/apps/countdown" --key "$here/test-signer.key" -o "$target/countdown.akpkg"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$target/qemu.log
timeout 120 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic -monitor none \
    -icount shift=0,sleep=off -semihosting-config enable=on,target=native \
    -serial stdio -serial "tcp:127.0.0.1:$port,server=on,wait=off" \
    -kernel "$firmware" > "$log" 2>&1 &
qemu=$!
for _ in $(seq 300); do
    grep -q "waiting for a package" "$log" && break
    kill -0 "$qemu" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "waiting for a package" "$log"; then
    cat "$log"
    echo "firmware never asked for a package" >&2
    kill "$qemu" 2>/dev/null || true
    exit 1
fi
akira push "$target/countdown.akpkg" --tcp "127.0.0.1:$port"
status=0
wait "$qemu" || status=$?
cat "$log"
if [ "$status" -ne 0 ]; then
    echo "firmware exited with $status (expected 0: app installed over UART, ran, exited 0)" >&2
    exit "$status"
fi
grep -q "pushed app countdown exited with 0" "$log"
echo "QEMU mps2-an386: pushed app installed and ran; firmware exited 0"
