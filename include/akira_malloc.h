/*
 * akira_malloc.h: a small malloc for WASI apps on Akira, over a fixed heap.
 *
 * wasi-libc's malloc grows linear memory in 64 KiB pages, so even a tiny
 * C app keeps 128 KiB of RAM. This allocator serves malloc, free, calloc,
 * realloc, aligned_alloc, posix_memalign and malloc_usable_size from one
 * static array instead; the app never grows its memory, and `akira build`
 * shrinks the memory to the bytes the app needs (static data, stack and
 * this heap).
 *
 * Use it in exactly one C file of the app:
 *
 *     #define AKIRA_HEAP_SIZE 8192      (bytes; default 8192)
 *     #define AKIRA_MALLOC_IMPLEMENTATION
 *     #include "akira_malloc.h"
 *
 * The linker then takes these functions instead of wasi-libc's. First fit
 * over a list of blocks with 8-byte headers, neighbours merged on free;
 * every block is 16-byte aligned, and alignments above 16 are refused
 * (ENOMEM from aligned_alloc, EINVAL from posix_memalign). Out of heap,
 * malloc returns NULL and sets errno to ENOMEM.
 */
#ifndef AKIRA_MALLOC_H
#define AKIRA_MALLOC_H

#include <stddef.h>

#ifdef AKIRA_MALLOC_IMPLEMENTATION

#include <errno.h>
#include <stdint.h>
#include <string.h>

#ifndef AKIRA_HEAP_SIZE
#define AKIRA_HEAP_SIZE 8192
#endif

#define AKIRA_ALIGN 16u
#define AKIRA_HEADER 16u /* keeps payloads 16-byte aligned */

/* A block: its size (header included, a multiple of 16) with bit 0 set
 * while in use. Blocks tile the heap from start to end. */
typedef struct {
    size_t size;
} akira_block;

static unsigned char akira_heap[AKIRA_HEAP_SIZE] __attribute__((aligned(16)));
static int akira_heap_ready;

static akira_block *akira_at(size_t offset) { return (akira_block *)(void *)(akira_heap + offset); }

static void akira_heap_init(void) {
    akira_at(0)->size = (AKIRA_HEAP_SIZE / AKIRA_ALIGN) * AKIRA_ALIGN;
    akira_heap_ready = 1;
}

/* Merges the free blocks that follow the block at `offset` into it. */
static void akira_merge(size_t offset) {
    akira_block *b = akira_at(offset);
    size_t end = (AKIRA_HEAP_SIZE / AKIRA_ALIGN) * AKIRA_ALIGN;
    while (offset + b->size < end && !(akira_at(offset + b->size)->size & 1)) {
        b->size += akira_at(offset + b->size)->size;
    }
}

void *malloc(size_t n) {
    if (!akira_heap_ready) {
        akira_heap_init();
    }
    if (n > AKIRA_HEAP_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t need = (n + AKIRA_HEADER + AKIRA_ALIGN - 1) / AKIRA_ALIGN * AKIRA_ALIGN;
    size_t end = (AKIRA_HEAP_SIZE / AKIRA_ALIGN) * AKIRA_ALIGN;
    for (size_t offset = 0; offset < end; offset += akira_at(offset)->size & ~(size_t)1) {
        akira_block *b = akira_at(offset);
        if (b->size & 1) {
            continue;
        }
        akira_merge(offset);
        if (b->size >= need) {
            if (b->size - need >= AKIRA_HEADER + AKIRA_ALIGN) {
                akira_at(offset + need)->size = b->size - need;
                b->size = need;
            }
            b->size |= 1;
            return akira_heap + offset + AKIRA_HEADER;
        }
    }
    errno = ENOMEM;
    return NULL;
}

static akira_block *akira_block_of(void *p) { return (akira_block *)(void *)((unsigned char *)p - AKIRA_HEADER); }

void free(void *p) {
    if (p) {
        akira_block_of(p)->size &= ~(size_t)1;
    }
}

size_t malloc_usable_size(void *p) { return p ? (akira_block_of(p)->size & ~(size_t)1) - AKIRA_HEADER : 0; }

void *calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(count * size);
    if (p) {
        memset(p, 0, count * size);
    }
    return p;
}

void *realloc(void *p, size_t n) {
    if (!p) {
        return malloc(n);
    }
    size_t have = malloc_usable_size(p);
    if (n <= have) {
        return p;
    }
    size_t offset = (size_t)((unsigned char *)p - akira_heap) - AKIRA_HEADER;
    akira_block *b = akira_at(offset);
    b->size &= ~(size_t)1;
    akira_merge(offset);
    b->size |= 1;
    if (malloc_usable_size(p) >= n) {
        return p;
    }
    void *q = malloc(n);
    if (q) {
        memcpy(q, p, have);
        free(p);
    }
    return q;
}

void *aligned_alloc(size_t alignment, size_t n) {
    if (alignment > AKIRA_ALIGN) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(n);
}

int posix_memalign(void **out, size_t alignment, size_t n) {
    if (alignment > AKIRA_ALIGN || alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) {
        return EINVAL;
    }
    void *p = malloc(n);
    if (!p) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

#endif /* AKIRA_MALLOC_IMPLEMENTATION */
#endif /* AKIRA_MALLOC_H */
