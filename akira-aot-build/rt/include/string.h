/* Freestanding <string.h> for wasm2c output (akira-aot-build): the device
   runtime provides these four (they are the blob's runtime imports). */
#pragma once
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
