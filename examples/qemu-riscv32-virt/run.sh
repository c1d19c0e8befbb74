#!/usr/bin/env bash
# The cargo runner (`cargo run --release`): boots a firmware ELF in QEMU's
# RISC-V `virt` machine (rv32imac; `apt-get install qemu-system-misc`).
# Its console is the NS16550 UART on stdout. -icount shift=0 makes one
# instruction one nanosecond of virtual time and `minstret` an exact
# instruction count, so the figures the firmware prints are instruction
# counts. Exits with the firmware's exit code (the sifive_test device).
set -uo pipefail
elf=$1
exec qemu-system-riscv32 -machine virt -cpu rv32 -m 32M -bios none -nographic -monitor none \
    -serial stdio -icount shift=0 -kernel "$elf"
