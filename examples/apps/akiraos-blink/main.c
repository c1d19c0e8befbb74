/*
 * An app for AkiraOS's `env` ABI, written from its SDK's documented API
 * (the names and signatures of akira_api.h), built the way AkiraOS builds
 * apps, and run by Akira unchanged: `akira run build/blink.wasm` translates
 * its imports into Akira calls on the host.
 *
 * It blinks an LED, waits for the button by polling (each gpio_read is a
 * yield point after translation, so the busy loop does not exhaust the CPU
 * budget), times things with the SDK's timers and keeps a counter in a
 * file and a setting.
 */
#include <stdint.h>

/* The AkiraOS calls this app uses (module `env`). */
extern int printf_native(const char *message);
extern int delay(uint32_t microseconds);
extern int gpio_configure(uint32_t pin, uint32_t flags);
extern int gpio_read(uint32_t pin);
extern int gpio_write(uint32_t pin, uint32_t value);
extern int timer_create(void);
extern int timer_start(int32_t handle);
extern int timer_elapsed(int32_t handle);
extern int storage_open(const char *path, int flags);
extern int storage_read(int fd, void *buf, int len);
extern int storage_write(int fd, const void *buf, int len);
extern void storage_close(int fd);
extern int settings_get(const char *key, char *buf, int32_t len);
extern int settings_set(const char *key, const char *value);

#define GPIO_INPUT (1u << 0)
#define GPIO_OUTPUT (1u << 1)
#define GPIO_OUTPUT_INIT_LOW (1u << 2)
#define LED 2
#define BUTTON 0
#define STORAGE_O_READ 0
#define STORAGE_O_WRITE 1

static char line[96];

/* A small formatter: no libc in AkiraOS apps. */
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

__attribute__((export_name("main"))) int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    if (gpio_configure(LED, GPIO_OUTPUT | GPIO_OUTPUT_INIT_LOW) < 0 || gpio_configure(BUTTON, GPIO_INPUT) < 0) {
        say("gpio refused", -1);
        return 1;
    }
    int t = timer_create();
    timer_start(t);
    for (int i = 0; i < 4; i++) {
        gpio_write(LED, (uint32_t)(i & 1) ^ 1);
        delay(100000);
    }
    say("blinked for ms: ", timer_elapsed(t));

    /* Busy-wait for the button (pulled up: pressed reads low), as AkiraOS
     * apps do. */
    int polls = 0;
    while (gpio_read(BUTTON) == 1) {
        polls++;
    }
    say("button pressed after polls > 0: ", polls > 0);

    /* A counter in a file. */
    char buf[8] = {0};
    int runs = 0;
    int fd = storage_open("count.txt", STORAGE_O_READ);
    if (fd >= 0) {
        int n = storage_read(fd, buf, 7);
        for (int i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) runs = runs * 10 + (buf[i] - '0');
        storage_close(fd);
    }
    runs++;
    fd = storage_open("count.txt", STORAGE_O_WRITE);
    if (fd < 0) {
        say("cannot write count.txt: -", -fd);
        return 2;
    }
    int n = 0;
    char digits[8];
    int v = runs;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (int i = 0; i < n; i++) buf[i] = digits[n - 1 - i];
    storage_write(fd, buf, n);
    storage_close(fd);
    say("run number ", runs);

    settings_set("greeting", "hello");
    char greeting[16];
    if (settings_get("greeting", greeting, sizeof greeting) == 0) {
        say(greeting, -1);
    }
    return 0;
}
