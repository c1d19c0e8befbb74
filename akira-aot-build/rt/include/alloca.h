/* Freestanding <alloca.h> for wasm2c output (akira-aot-build). */
#pragma once
#define alloca __builtin_alloca
