/* CoreMark port for a wasm32 kernel of sandbox-overhead (see
 * core_portme.h). CoreMark's main is compiled as `coremark_main`;
 * `akira_main` runs it once and returns the final CRC in the upper 16 bits
 * and, in the lower 16, the number of CRC mismatches CoreMark reported
 * (0: the run is valid). There is no clock: instruction counts come from
 * callgrind, so CoreMark's "must run for 10 s" complaint is ignored. */
#include <stdarg.h>

#include "coremark.h"

volatile ee_s32 seed1_volatile = 0x0;
volatile ee_s32 seed2_volatile = 0x0;
volatile ee_s32 seed3_volatile = 0x66;
volatile ee_s32 seed4_volatile = ITERATIONS;
volatile ee_s32 seed5_volatile = 0;

ee_u32 default_num_contexts = 1;

static int crc_errors;
static int crc_final;

MAIN_RETURN_TYPE coremark_main(void);

int akira_main(void) {
    crc_errors = 0;
    crc_final = -1;
    coremark_main();
    return (crc_final << 16) | crc_errors;
}

void start_time(void) {}
void stop_time(void) {}
CORE_TICKS get_time(void) { return 0; }
secs_ret time_in_secs(CORE_TICKS ticks) { return (secs_ret)ticks; }

void portable_init(core_portable *p, int *argc, char *argv[]) {
    (void)argc;
    (void)argv;
    p->portable_id = 1;
}

void portable_fini(core_portable *p) { p->portable_id = 0; }

static int starts_with(const char *s, const char *prefix) {
    while (*prefix)
        if (*s++ != *prefix++) return 0;
    return 1;
}

/* The kernels are built without bulk-memory instructions (wasm3 0.3.1
 * cannot run them), so zeroing a local array calls memset. The volatile
 * store keeps the compiler from turning this loop into a memset call. */
void *memset(void *dst, int c, size_t n) {
    volatile unsigned char *p = dst;
    while (n--) *p++ = (unsigned char)c;
    return dst;
}

/* Prints nothing; reads the two lines that decide the result. */
int ee_printf(const char *fmt, ...) {
    va_list args;
    if (starts_with(fmt, "[%u]ERROR!")) {
        crc_errors++;
    } else if (starts_with(fmt, "[%d]crcfinal")) {
        va_start(args, fmt);
        (void)va_arg(args, int);
        crc_final = va_arg(args, int) & 0xffff;
        va_end(args);
    }
    return 0;
}
