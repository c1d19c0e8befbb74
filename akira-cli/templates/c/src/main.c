/*
 * {{name}}: an Akira app in C. It greets, blinks the LED on logical pin 2
 * three times and exits. `akira run .` builds it (build.sh: clang and lld)
 * and runs it on the simulated board. The functions an app may call are in
 * include/akira.h; what this one may touch is in Akira.toml.
 */
#include "akira.h"

#define LED 2

AKIRA_EXPORT("akira_main") int32_t akira_main(void) {
    akira_log(AKIRA_LOG_INFO, "hello from {{name}}");
    int32_t r = akira_gpio_configure(LED, AKIRA_GPIO_OUTPUT);
    if (r < 0) {
        return r;
    }
    for (int i = 0; i < 6; i++) { /* on, off, three times */
        r = akira_gpio_toggle(LED);
        if (r < 0) {
            return r;
        }
        akira_sleep_ms(250);
    }
    akira_log(AKIRA_LOG_INFO, "blinked three times");
    return 0;
}
