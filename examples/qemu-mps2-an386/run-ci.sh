#!/usr/bin/env bash
# CI for the QEMU firmware:
# 1. boots the product firmware (src/main.rs), pushes a signed app to it over
#    the emulated UART1 (a TCP chardev) with `akira push`, and checks that it
#    was installed, ran and exited with 0 (the firmware keeps running: the
#    script stops QEMU once it has seen that);
# 2. does the same with the minimal integration (src/bin/minimal.rs:
#    akira_device's Device::serve over UART1);
# 3. builds the product firmware with feature `wasi` and runs the WASI C
#    and Rust std apps pushed to it the same way;
# 4. runs the measurements (src/bin/bench.rs), which exit through
#    semihosting with 0 when the built-in app behaved, and prints them;
# 5. builds and runs the AOT tier's checks (src/bin/aot, feature `aot`:
#    kernels compiled ahead of time by akira-aot-build, which needs wasm2c
#    and clang; whole apps run natively on their own stacks beside
#    interpreted copies), prints the figures, then pushes a blinky packed
#    with `akira pack --aot thumbv7em` and the same blinky without native
#    code, and checks that both print the same lines;
# 6. builds the firmware without the interpreter (feature `native`) and
#    prints what a native app's direct host calls cost (src/bin/native-calls.rs).
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

# WASI: the firmware with feature `wasi` takes the wasi-libc C app and the
# Rust std app over the air and runs them. It builds in the same target
# directory: only the Akira crates whose features change and the firmware
# are compiled again (a directory of its own rebuilt every dependency, about
# 80 s in CI). Cargo keeps both firmwares under their own hashes in deps/,
# so the reference build comes back without a rebuild when asked for again
# (the size report does); the WASI one is copied out before that.
wasi_target=$target/wasi
mkdir -p "$wasi_target"
cargo build --release --bin akira-qemu-mps2-an386 --features wasi
wasi_firmware=$wasi_target/akira-qemu-mps2-an386-wasi
cp "$target/thumbv7em-none-eabihf/release/akira-qemu-mps2-an386" "$wasi_firmware"
sh "$root/examples/apps/wasi-hello-c/build.sh" "$wasi_target/c" >/dev/null
akira pack "$wasi_target/c/hello.wasm" --manifest "$root/examples/apps/wasi-hello-c/Akira.toml" \
    --key "$here/test-signer.key" -o "$wasi_target/wasi-hello-c.akpkg"
akira pack "$root/examples/apps/wasi-hello-rust" --key "$here/test-signer.key" -o "$wasi_target/wasi-hello-rust.akpkg"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$wasi_target/qemu.log
AKIRA_OTA_PORT=$port timeout 120 ./run.sh "$wasi_firmware" > "$log" 2>&1 &
wait_for "waiting for packages"
akira push "$wasi_target/wasi-hello-c.akpkg" --tcp "127.0.0.1:$port"
wait_for "wasi-hello-c stopped"
akira push "$wasi_target/wasi-hello-rust.akpkg" --tcp "127.0.0.1:$port"
wait_for "wasi-hello-rust stopped"
stop
cat "$log"
grep -q 'wasi-hello-c info: sum of 64 squares: 85344' "$log"
grep -q 'name: "wasi-hello-c".*event: Exited(0)' "$log"
grep -q 'wasi-hello-rust info: slept 25 ms' "$log"
grep -q 'name: "wasi-hello-rust".*event: Exited(0)' "$log"
echo "QEMU mps2-an386: the WASI firmware ran the wasi-libc C app and the Rust std app pushed over UART1"

# Its UART1 goes unused, but QEMU opens it: a free port, not 7460 (another
# QEMU on this machine may hold that).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AKIRA_OTA_PORT=$port timeout 120 ./run.sh "$target/thumbv7em-none-eabihf/release/bench" | tee "$target/bench.log"
grep "^figure " "$target/bench.log"
echo "QEMU mps2-an386: benchmarks ran"

# The AOT tier: only the package's own crate, akira-aot and the host
# compiler's few dependencies are built again (the reference firmware's
# build is untouched: the bin needs the feature).
# After its checks the bin serves UART1 as a device whose trust policy
# lets the test key ship native code: the blinky of examples/apps/aot-blinky
# is pushed twice, with native code (aot-blinky) and without (wasm-blinky),
# runs side by side, and must print the same lines.
cargo build --release --features aot --bin aot
aot_target=$target/aot
mkdir -p "$aot_target"
sh "$root/examples/apps/aot-blinky/build.sh" "$aot_target" >/dev/null
akira pack "$aot_target/blinky.wasm" --manifest "$root/examples/apps/aot-blinky/Akira.toml" --aot thumbv7em \
    --key "$here/test-signer.key" -o "$aot_target/aot-blinky.akpkg"
akira pack "$aot_target/blinky.wasm" --manifest "$root/examples/apps/aot-blinky/interpreted.toml" \
    --key "$here/test-signer.key" -o "$aot_target/wasm-blinky.akpkg"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$target/aot.log
AKIRA_OTA_PORT=$port timeout 120 ./run.sh "$target/thumbv7em-none-eabihf/release/aot" > "$log" 2>&1 &
wait_for "aot: waiting for packages"
akira push "$aot_target/aot-blinky.akpkg" --tcp "127.0.0.1:$port"
akira push "$aot_target/wasm-blinky.akpkg" --tcp "127.0.0.1:$port"
wait_for 'name: "aot-blinky".*event: Exited(0)'
wait_for 'name: "wasm-blinky".*event: Exited(0)'
stop
cat "$log"
grep "^figure aot-" "$log"
grep -q "AOT checks passed" "$log"
grep -q 'NativeCode { name: "aot-blinky" }' "$log"
if grep -q 'NativeCode { name: "wasm-blinky" }' "$log"; then
    echo "wasm-blinky has no native code, yet it ran natively" >&2
    exit 1
fi
sed -n 's/^aot-blinky //p' "$log" > "$aot_target/native.txt"
sed -n 's/^wasm-blinky //p' "$log" > "$aot_target/interpreted.txt"
grep -q "info: done" "$aot_target/native.txt"
diff "$aot_target/native.txt" "$aot_target/interpreted.txt"
echo "QEMU mps2-an386: AOT kernels matched the interpreter, faults were contained; whole apps ran natively"
echo "beside interpreted copies; a blinky pushed with native code ran it and printed what the interpreter did"

# Without the interpreter (feature `native`, the 512 KiB class's build):
# the guarded-call loop as native code, its host calls made directly. The
# size report boots the product firmware in this configuration
# (`ota-native`); this prints what a native host call costs there.
cargo build --release --no-default-features --features native --bin native-calls
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AKIRA_OTA_PORT=$port timeout 120 ./run.sh "$target/thumbv7em-none-eabihf/release/native-calls" | tee "$target/native-calls.log"
grep "^figure native-only-" "$target/native-calls.log"
echo "QEMU mps2-an386: without the interpreter, a native app's 10 000 guarded calls went straight to the bridge"
