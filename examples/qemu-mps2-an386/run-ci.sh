#!/usr/bin/env bash
# CI for the QEMU firmware:
# 1. boots the product firmware (src/main.rs), pushes a signed app to it over
#    the emulated UART1 (a TCP chardev) with `akira push`, and checks that it
#    was installed, ran and exited with 0 (the firmware keeps running: the
#    script stops QEMU once it has seen that);
# 2. does the same with the minimal integration (src/bin/minimal.rs:
#    akira_device's Device::serve over UART1);
# 3. runs the measurements (src/bin/bench.rs), which exit through
#    semihosting with 0 when the built-in app behaved, and prints them.
# Needs qemu-system-arm, flip-link and defmt-print (see the README).
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

cargo build --release --bins
# CI builds the board examples in one shared target directory.
target=$(cd "$here" && realpath -m "${CARGO_TARGET_DIR:-target}")
firmware=$target/thumbv7em-none-eabihf/release/akira-qemu-mps2-an386
akira pack "$root/examples/apps/countdown" --key "$here/test-signer.key" -o "$target/countdown.akpkg"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$target/qemu.log
AKIRA_OTA_PORT=$port timeout 120 ./run.sh "$firmware" > "$log" 2>&1 &
stop() { pkill -f "tcp:127.0.0.1:$port," 2>/dev/null || true; }
trap stop EXIT
# Waits up to 60 s for a line matching $1 in the log.
wait_for() {
    for _ in $(seq 600); do
        grep -q -- "$1" "$log" && return 0
        sleep 0.1
    done
    cat "$log"
    echo "the firmware never printed: $1" >&2
    exit 1
}
wait_for "waiting for packages"
akira push "$target/countdown.akpkg" --tcp "127.0.0.1:$port"
wait_for "countdown stopped"
stop
cat "$log"
grep -q 'name: "countdown".*event: Exited(0)' "$log"
echo "QEMU mps2-an386: the product firmware installed a pushed app over UART1 and ran it"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$target/qemu-minimal.log
AKIRA_OTA_PORT=$port timeout 120 ./run.sh "$target/thumbv7em-none-eabihf/release/minimal" > "$log" 2>&1 &
wait_for "minimal: waiting for packages"
akira push "$target/countdown.akpkg" --tcp "127.0.0.1:$port"
wait_for 'name: "countdown".*event: Exited(0)'
stop
cat "$log"
echo "QEMU mps2-an386: the minimal integration installed a pushed app over UART1 and ran it"

timeout 120 ./run.sh "$target/thumbv7em-none-eabihf/release/bench" | tee "$target/bench.log"
grep "^figure " "$target/bench.log"
echo "QEMU mps2-an386: benchmarks ran"
