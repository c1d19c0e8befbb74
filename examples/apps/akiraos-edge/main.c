/*
 * An app for AkiraOS's `env` ABI that never sleeps: it busy-waits for
 * button edges by polling gpio_read, then busy-waits on a timer by
 * polling timer_elapsed, as many AkiraOS apps do. Written from the SDK's
 * documented API (names and signatures of akira_api.h).
 *
 * After `akira build`'s translation every polling call is a yield point:
 * the app shares the CPU with the others (blinky keeps its timing), is
 * not stopped by its CPU budget, and on `--virtual-time` the simulated
 * clock moves with the CPU time its polls take, so scripted presses come.
 */
#include <stdint.h>

extern int printf_native(const char *message);
extern int gpio_configure(uint32_t pin, uint32_t flags);
extern int gpio_read(uint32_t pin);
extern int timer_create(void);
extern int timer_start(int32_t handle);
extern int timer_elapsed(int32_t handle);

#define GPIO_INPUT (1u << 0)
#define BUTTON 0
#define PRESSES 2
#define WAIT_MS 1000

static char line[64];

/* `text` then `value` in decimal (none if negative). */
static void say(const char *text, int value) {
    char *p = line;
    while (*text) *p++ = *text++;
    if (value >= 0) {
        char digits[12];
        int n = 0;
        do { digits[n++] = (char)('0' + value % 10); value /= 10; } while (value);
        while (n) *p++ = digits[--n];
    }
    *p = 0;
    printf_native(line);
}

/* Busy-waits until the button reads `level` (pulled up: pressed is 0). */
static int wait_level(int level) {
    int polls = 0;
    int got;
    while ((got = gpio_read(BUTTON)) != level) {
        if (got < 0) return got;
        polls++;
    }
    return polls;
}

__attribute__((export_name("main"))) int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    if (gpio_configure(BUTTON, GPIO_INPUT) < 0) {
        say("gpio refused", -1);
        return 1;
    }
    int t = timer_create();
    timer_start(t);
    for (int i = 1; i <= PRESSES; i++) {
        if (wait_level(0) < 0 || wait_level(1) < 0) return 2;
        say("edge ", i);
        say("  at ms ", timer_elapsed(t));
    }
    /* A busy wait on the clock. */
    timer_start(t);
    int polls = 0;
    while (timer_elapsed(t) < WAIT_MS) polls++;
    say("waited ms ", timer_elapsed(t));
    say("clock polls > 0: ", polls > 0);
    return 0;
}
