/* Freestanding <setjmp.h> for wasm-rt.h (akira-aot-build): the type only.
   Traps unwind through the device runtime, never through setjmp. */
#pragma once
typedef unsigned long long jmp_buf[16];
