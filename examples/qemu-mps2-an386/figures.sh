#!/usr/bin/env bash
# Builds the measurements (src/bin/bench.rs) in several configurations and prints, for each, its
# size and the figures it measures under QEMU (-icount shift=0: one
# instruction per nanosecond of virtual time). The numbers in
# BENCHMARKS.md come from this script.
set -euo pipefail
cd "$(dirname "$0")"
size=$(find "$(rustc --print sysroot)" -name llvm-size -type f | head -1)
if [ -z "$size" ]; then
    echo "llvm-size not found: rustup component add llvm-tools" >&2
    exit 1
fi
firmware=target/thumbv7em-none-eabihf/release/bench
printf '| validation | opt-level | dispatch | .text | .rodata | .data | .bss (heap 256 KiB) | guard check (loop alone) | guarded call, lean board | guarded call, product board | denied call | bare wasmi call | fib(20) | stack high-water | heap: module / + instance / peak |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for validation in on off; do
  for opt in s z; do
    for dispatch in portable indirect; do
        features=()
        [ "$dispatch" = indirect ] && features=(--features indirect-dispatch)
        # Without validation the firmware runs only its built-in apps.
        [ "$validation" = off ] && features+=(--no-default-features --features interpreter)
        CARGO_PROFILE_RELEASE_OPT_LEVEL=$opt cargo build --release -q --bin bench "${features[@]}"
        read -r text rodata data bss < <("$size" -A "$firmware" | awk '$1==".text"{t=$2} $1==".rodata"{r=$2} $1==".data"{d=$2} $1==".bss"{b=$2} END{print t, r, d, b}')
        log=$(timeout 60 ./run.sh "$firmware" 2>&1)
        fig() { echo "$log" | awk -v k="figure $1 " 'index($0, k) == 1 {print $3}'; }
        # "figure guard-check-ns N (loop alone M)": N and M.
        loop_alone=$(echo "$log" | awk 'index($0, "figure guard-check-ns ") == 1 {gsub(/\)/, "", $6); print $6}')
        heap="$(fig heap-module-bytes) / $(fig heap-instance-bytes) / $(fig heap-peak-bytes) B"
        printf '| %s | %s | %s | %d | %d | %d | %d | %s (%s) | %s | %s | %s | %s | %s | %s | %s |\n' "$validation" "$opt" "$dispatch" \
            "$text" "$rodata" "$data" "$bss" "$(fig guard-check-ns)" "$loop_alone" "$(fig guarded-call-ns)" \
            "$(fig guarded-call-product-board-ns)" "$(fig denied-call-ns)" "$(fig bare-wasmi-call-ns)" "$(fig fib20-ns)" "$(fig stack-high-water-bytes)" "$heap"
    done
  done
done
