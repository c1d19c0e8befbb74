#!/usr/bin/env bash
# What the Akira sandbox costs over raw wasmi, in instructions counted by
# callgrind (deterministic, x86_64):
#
#   benches/sandbox-overhead/callgrind.sh [KERNEL.wasm ...]
#
# Without arguments it builds the C kernels in kernels/ for wasm32 (clang,
# wasm-ld) and measures those, and CoreMark too when COREMARK_DIR names a
# CoreMark checkout (github.com/eembc/coremark; CoreMark's source is not
# part of this repository, coremark/ holds only the wasm32 port). For each
# kernel and engine it runs `sandbox-overhead` once under callgrind,
# counting only the kernel's run (`--toggle-collect=overhead_measured`: no
# compilation, instantiation or warm-up), and prints a Markdown table with
# each count as a multiple of raw wasmi's.
#
# Environment:
#   ENGINES   engines to run (default: every engine the build has); the
#             ratios are to the first
#   SLICES    slice lengths (fuel) for the sliced engines (wasmi-sliced,
#             sandbox, scheduler), space-separated (default: the runtime's
#             default, `RuntimeConfig::default().slice_fuel`)
#   FEATURES  cargo features of sandbox-overhead: `wasm3` adds wasm3 (needs
#             LIBCLANG_PATH=/usr/lib/llvm-14/lib here); `portable-dispatch`
#             measures wasmi's portable dispatch, as firmware builds use it
#   CLANG     the C compiler for the kernels (default: clang)
#   COREMARK_DIR  a CoreMark checkout to build and measure as well
#   COREMARK_ITERATIONS  CoreMark iterations per run (default: 40)
# Callgrind's files stay in target/sandbox-overhead/ for callgrind_annotate.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/target/sandbox-overhead"
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

# No bulk-memory instructions: wasm3 0.3.1 cannot run `memory.fill`.
cc_wasm() {
    "${CLANG:-clang}" --target=wasm32 -nostdlib -O3 \
        -Wl,--no-entry -Wl,--export=akira_main -Wl,-zstack-size=16384 "$@"
}
if [ $# -eq 0 ]; then
    for src in "$here"/kernels/*.c; do
        name=$(basename "$src" .c)
        cc_wasm -Wall -Wextra -Werror -o "$out/$name.wasm" "$src"
        set -- "$@" "$out/$name.wasm"
    done
    if [ -n "${COREMARK_DIR:-}" ]; then
        cm=$(cd "$COREMARK_DIR" && pwd)
        # CoreMark's main becomes coremark_main; the port's akira_main
        # calls it and returns the CRC and CoreMark's own validation.
        cc_wasm -I "$here/coremark" -I "$cm" -DITERATIONS="${COREMARK_ITERATIONS:-40}" -Dmain=coremark_main \
            -o "$out/coremark.wasm" "$cm"/core_{list_join,main,matrix,state,util}.c "$here/coremark/core_portme.c"
        set -- "$@" "$out/coremark.wasm"
    fi
fi

features=${FEATURES:-}
echo "building sandbox-overhead (release${features:+, features $features})" >&2
cargo build --quiet --release -p sandbox-overhead ${features:+--features "$features"}
bin="$root/target/release/sandbox-overhead"

default_engines="wasmi wasmi-fuel wasmi-akira-config wasmi-sliced sandbox scheduler"
case " $features " in *" wasm3 "*) default_engines="$default_engines wasm3" ;; esac
engines=${ENGINES:-$default_engines}
slices=${SLICES:-$("$bin" --default-slice)}

echo "| kernel | engine | slice fuel | slices | instructions | × ${engines%% *} |"
echo "|---|---|---:|---:|---:|---:|"
for kernel in "$@"; do
    name=$(basename "$kernel" .wasm)
    base= expected=
    for engine in $engines; do
        case $engine in wasmi-sliced | sandbox | scheduler) lengths=$slices ;; *) lengths=- ;; esac
        for slice in $lengths; do
            tag="$name.$engine${slice/-/}${features:+.${features// /-}}"
            echo "  $name on $engine${slice/-/}" >&2
            args=(--engine "$engine")
            [ "$slice" = - ] || args+=(--slice "$slice")
            valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$tag" \
                --toggle-collect=overhead_measured \
                "$bin" "${args[@]}" "$kernel" \
                >"$out/$tag.log" 2>"$out/$tag.valgrind"
            ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/$tag.valgrind")
            runs=$(sed -n 's/.* slices \([0-9]*\) .*/\1/p' "$out/$tag.log")
            result=$(sed -n 's/.* result \(-*[0-9]*\) .*/\1/p' "$out/$tag.log")
            expected=${expected:-$result}
            [ "$result" = "$expected" ] || { echo "$name: $engine returned $result, not $expected" >&2; exit 1; }
            if [ "$name" = coremark ] && [ $((result & 0xffff)) -ne 0 ]; then
                echo "coremark: CoreMark reported $((result & 0xffff)) CRC error(s) on $engine" >&2
                exit 1
            fi
            [ -n "$ir" ] || { echo "no count for $tag: see $out/$tag.valgrind" >&2; exit 1; }
            base=${base:-$ir}
            ratio=$(awk -v a="$ir" -v b="$base" 'BEGIN { printf "%.3f", a / b }')
            printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$engine" "$slice" "$runs" "$ir" "$ratio"
        done
    done
done
