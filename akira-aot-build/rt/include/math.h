/* Freestanding <math.h> for wasm2c output (akira-aot-build): compiler
   builtins. A float operation the FPU lacks becomes a libm call, which the
   linker step refuses by name (phase 1 runs integer and f32 basic code). */
#pragma once
#define isnan __builtin_isnan
#define signbit __builtin_signbit
#define fabs __builtin_fabs
#define fabsf __builtin_fabsf
#define sqrt __builtin_sqrt
#define sqrtf __builtin_sqrtf
#define ceil __builtin_ceil
#define ceilf __builtin_ceilf
#define floor __builtin_floor
#define floorf __builtin_floorf
#define trunc __builtin_trunc
#define truncf __builtin_truncf
#define nearbyint __builtin_nearbyint
#define nearbyintf __builtin_nearbyintf
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
