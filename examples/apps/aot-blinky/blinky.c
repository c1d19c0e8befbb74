/*
 * The AOT tier's blinky: a checksum (compute), then LED 2 switched on and
 * off five times with a sleep after each switch (each sleep suspends the
 * app), then exit 0. Its output does not depend on the LED's state before,
 * so two copies running side by side print the same lines. `run-ci.sh` of examples/qemu-mps2-an386 packs it twice, with
 * native code (`akira pack --aot thumbv7em`, name `aot-blinky`) and
 * without (manifest `interpreted.toml`, name `wasm-blinky`), pushes both
 * to the QEMU firmware and checks that they print the same lines.
 */
#include "akira.h"

#define LED 2

static uint8_t data[4096];

static uint32_t crc32(const uint8_t *p, uint32_t n) {
    uint32_t crc = 0xffffffffu;
    for (uint32_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
    }
    return ~crc;
}

/* "<prefix><8 hex digits>" into out; returns its length. */
static uint32_t hex_line(char *out, const char *prefix, uint32_t v) {
    uint32_t n = 0;
    while (prefix[n]) {
        out[n] = prefix[n];
        n++;
    }
    for (int i = 7; i >= 0; i--) out[n++] = "0123456789abcdef"[(v >> (4 * i)) & 15];
    return n;
}

AKIRA_EXPORT("akira_main") int32_t akira_main(void) {
    char line[48];
    for (uint32_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 31 + (i >> 8));
    akira_log_write(AKIRA_LOG_INFO, line, hex_line(line, "crc32 of 4 KiB: ", crc32(data, sizeof data)));
    int32_t r = akira_gpio_configure(LED, AKIRA_GPIO_OUTPUT);
    if (r < 0) return r;
    for (uint32_t i = 1; i <= 5; i++) {
        int32_t on = (int32_t)(i & 1);
        r = akira_gpio_write(LED, on);
        if (r < 0) return r;
        akira_log_write(AKIRA_LOG_INFO, line, hex_line(line, on ? "LED on, switch " : "LED off, switch ", i));
        akira_timer_sleep_us(100000);
    }
    akira_log_write(AKIRA_LOG_INFO, "done", 4);
    return 0;
}
