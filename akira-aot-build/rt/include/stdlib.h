/* Freestanding <stdlib.h> for wasm-rt.h (akira-aot-build). */
#pragma once
#include <stddef.h>
