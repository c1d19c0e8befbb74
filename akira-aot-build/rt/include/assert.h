/* Freestanding <assert.h> for wasm2c output compiled by akira-aot-build:
   the generated code asserts only what the runtime guarantees. */
#pragma once
#define assert(x) ((void)0)
