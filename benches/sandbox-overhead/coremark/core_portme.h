/* CoreMark port for a wasm32 kernel of sandbox-overhead: no clock, no
 * stdio. CoreMark itself is not part of this repository; callgrind.sh
 * builds it from a checkout named by COREMARK_DIR (see ../callgrind.sh).
 * The data types and settings follow CoreMark's porting guide. */
#ifndef CORE_PORTME_H
#define CORE_PORTME_H

#include <stddef.h>

#define HAS_FLOAT 0
#define HAS_TIME_H 0
#define USE_CLOCK 0
#define HAS_STDIO 0
#define HAS_PRINTF 0

#define COMPILER_VERSION "clang (wasm32)"
#define COMPILER_FLAGS "-O3"
#define MEM_LOCATION "STACK"

typedef signed short ee_s16;
typedef unsigned short ee_u16;
typedef signed int ee_s32;
typedef double ee_f32;
typedef unsigned char ee_u8;
typedef unsigned int ee_u32;
typedef ee_u32 ee_ptr_int;
typedef size_t ee_size_t;
typedef ee_u32 CORE_TICKS;

#define NULL_PTR ((void *)0)
#define align_mem(x) (void *)(4 + (((ee_ptr_int)(x)-1) & ~3))

/* Seeds come from volatiles (core_portme.c): the 2K performance run. */
#define SEED_METHOD SEED_VOLATILE
#define MEM_METHOD MEM_STACK
#define MULTITHREAD 1
#define MAIN_HAS_NOARGC 1
#define MAIN_HAS_NORETURN 0

/* Iterations per run of the kernel; callgrind.sh sets it. */
#ifndef ITERATIONS
#define ITERATIONS 40
#endif

typedef struct CORE_PORTABLE_S {
    ee_u8 portable_id;
} core_portable;

extern ee_u32 default_num_contexts;

void portable_init(core_portable *p, int *argc, char *argv[]);
void portable_fini(core_portable *p);
int ee_printf(const char *fmt, ...);

#endif
