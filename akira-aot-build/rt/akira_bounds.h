/* Bounds checks against a build-time constant. akira-aot-build points
   wasm2c's RANGE_CHECK here and the glue includes this file, after
   defining AKIRA_MEMORY_BOUND (the memory's bytes), before the module.

   Why: wasm2c 1.0.32 checks each access as `addr + len > mem->size` in
   64-bit arithmetic. On a 32-bit core that is an add with carry, a load of
   mem->size (reloaded after every store to linear memory, which goes
   through a byte pointer and may alias it) and a two-word compare. A
   blob's memory never changes size (memory.grow fails in phase 1, and
   wasm_rt_allocate_memory refuses any size but AKIRA_MEMORY_BOUND), so the
   check compares against the constant; clang then narrows it to one 32-bit
   compare and branch (`cmp rN, #65533; bhs trap` for a 4-byte load without
   offset in a 64 KiB memory).

   Exactness: the expression is wasm2c's own with mem->size replaced by a
   constant of the same value, so an access traps here exactly when it
   trapped before (no false negative, no false positive). No wrap: `addr`
   is a u32 address plus a u32 offset (< 2^33), `len` an access's size or
   a bulk operation's u32 length (< 2^32), so `addr + len` < 2^34.
   Tested at the edges (the last byte, one past it, offsets near 2^32,
   addresses near u32::MAX) by akira-aot-build's bounds tests. */
#include <stdint.h>

#ifndef AKIRA_MEMORY_BOUND
#error "the glue defines AKIRA_MEMORY_BOUND before including akira_bounds.h"
#endif

/* An int function: with a bool one, or the expression written in the
   macro, clang 14 kept the 64-bit compare (the sort kernel: 268
   instructions instead of 211). */
static inline int akira_out_of_bounds(uint64_t addr, uint64_t len) {
  return addr + len > (uint64_t)AKIRA_MEMORY_BOUND;
}

#define AKIRA_RANGE_CHECK(mem, offset, len) \
  if (UNLIKELY(akira_out_of_bounds((uint64_t)(offset), (uint64_t)(len)))) TRAP(OOB);
