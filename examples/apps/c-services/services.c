/*
 * The native API's service modules from C: storage, display, HID, LoRa
 * and the app's own update state, on the simulated board. Each result is
 * checked; the app exits with 0 when all are as expected, or with the
 * number of the first check that failed.
 */
#include "akira.h"

static uint32_t length(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    return n;
}

static void say(const char *line) {
    akira_log_write(AKIRA_LOG_INFO, line, length(line));
}

AKIRA_EXPORT("akira_main") int32_t akira_main(void) {
    /* Storage: a value survives in the app's own namespace; the manifest's
       64-byte quota counts key and value bytes. */
    uint32_t boots = 7;
    if (akira_storage_set("boots", 5, &boots, 4) != 0) return 1;
    uint32_t back = 0;
    if (akira_storage_get("boots", 5, &back, 4) != 4 || back != 7) return 2;
    if (akira_storage_used() != 9) return 3;
    static const uint8_t big[60] = {0};
    if (akira_storage_set("big", 3, big, sizeof big) != AKIRA_ENOSPC) return 4;
    say("storage: boots=7 kept, 60 more bytes refused (quota 64)");

    /* Display: the app owns the left half of the 240x135 screen. */
    if (akira_display_size() != (240 << 16 | 135)) return 5;
    if (akira_display_fill(AKIRA_RGB565(0, 0, 64)) != 0) return 6;
    if (akira_display_rect(10, 10, 100, 40, AKIRA_RGB565(255, 128, 0), 1) != 0) return 7;
    if (akira_display_text(14, 60, "from C", 6, AKIRA_RGB565(255, 255, 255)) != 0) return 8;
    if (akira_display_rect(130, 10, 20, 20, AKIRA_RGB565(255, 0, 0), 1) != AKIRA_EDENIED) return 9;
    if (akira_display_flush() != 0) return 10;
    say("display: drew in its region, the right half refused");

    /* HID: a keyboard was granted, a mouse was not. */
    if (akira_hid_type_text("ok", 2) != 2) return 11;
    if (akira_hid_mouse(0, 5, 5, 0) != AKIRA_EDENIED) return 12;
    say("hid: typed \"ok\", mouse refused");

    /* LoRa: 868.1 MHz is in the granted band, 869.525 MHz is not. */
    if (akira_rf_configure(869525000, 9, 125000, 5, 14) != AKIRA_EDENIED) return 13;
    if (akira_rf_configure(868100000, 9, 125000, 5, 20) != AKIRA_EDENIED) return 14;
    if (akira_rf_configure(868100000, 9, 125000, 5, 14) != 0) return 15;
    int64_t before = akira_rf_airtime_left();
    if (akira_rf_send("hello", 5) != 0) return 16;
    if (akira_rf_airtime_left() >= before) return 17;
    say("rf: sent 5 bytes on 868.1 MHz; out-of-band and +20 dBm refused");

    /* OTA: run by `akira run`, the app is not managed by a store. */
    if (akira_ota_version() != ((int64_t)0 << 32 | 1 << 16 | 0)) return 18;
    if (akira_ota_is_trial() != 0) return 19;
    if (akira_ota_previous_version() != AKIRA_ENORES) return 20;
    say("ota: version 0.1.0, not on trial, no previous version");
    return 0;
}
