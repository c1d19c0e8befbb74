/*
 * Blinky in C: toggles the LED on pin 2 every 500 ms and logs it, like
 * examples/apps/blinky in Rust. Build with ./build.sh (clang and lld),
 * run with `akira run build/blinky.wasm --manifest Akira.toml`.
 */
#include "akira.h"

#define LED 2

AKIRA_EXPORT("akira_main") int32_t akira_main(void) {
    int32_t r = akira_gpio_configure(LED, AKIRA_GPIO_OUTPUT);
    if (r < 0) {
        akira_log(AKIRA_LOG_ERROR, "cannot configure the LED");
        return r;
    }
    for (;;) {
        int32_t on = akira_gpio_toggle(LED);
        if (on < 0) {
            return on;
        }
        akira_log(AKIRA_LOG_INFO, on ? "LED on" : "LED off");
        akira_sleep_ms(500);
    }
}
