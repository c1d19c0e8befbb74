#!/usr/bin/env bash
# The cargo runner (`cargo run --release`, `cargo run --release --bin
# bench`): boots a firmware ELF in QEMU and decodes its defmt log with
# defmt-print (`cargo install defmt-print`). UART1 takes packages on TCP
# port $AKIRA_OTA_PORT (7460 by default): `akira push --tcp 127.0.0.1:7460`.
# -icount shift=0 makes one instruction one nanosecond of virtual time, so
# the figures the firmware prints are instruction counts; while the core
# sleeps (`wfi`) virtual time follows real time (sleep=on), so a blinking LED
# blinks at its pace. Exits with the
# firmware's semihosting exit code.
set -uo pipefail
elf=$1
qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic -monitor none \
    -icount shift=0,sleep=on -semihosting-config enable=on,target=native \
    -serial null -serial "tcp:127.0.0.1:${AKIRA_OTA_PORT:-7460},server=on,wait=off" \
    -kernel "$elf" | defmt-print -e "$elf"
exit "${PIPESTATUS[0]}"
