/*
 * The native API's service modules from C: storage, display, HID, LoRa,
 * the app's own update state, IPC, networking, app control and the power
 * functions of sys, on the simulated board. Each result is
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

    /* IPC: subscribed to its own topic, the app receives what it publishes;
       topic 1 is in neither list. */
    if (akira_ipc_subscribe(0) != 0) return 21;
    if (akira_ipc_publish(0, "hi", 2) != 1) return 22;
    char msg[8];
    int32_t got = akira_ipc_receive(msg, sizeof msg, 0);
    if (AKIRA_IPC_TOPIC(got) != 0 || AKIRA_IPC_LEN(got) != 2 || msg[0] != 'h' || msg[1] != 'i') return 23;
    if (akira_ipc_publish(1, "x", 1) != AKIRA_EDENIED) return 24;
    say("ipc: got its own \"hi\" back; topic 1 refused");

    /* Net: endpoint 0 (the echo server) is granted, endpoint 1 is not. */
    if (akira_net_connect(1, AKIRA_NET_TCP, 0, 1000000) != AKIRA_EDENIED) return 25;
    int32_t sock = akira_net_connect(0, AKIRA_NET_TCP, 0, 1000000);
    if (sock < 0) return 26;
    if (akira_net_send(sock, "ping", 4, 1000000) != 4) return 27;
    char echo[8];
    uint32_t n = 0;
    while (n < 4) {
        int32_t r = akira_net_receive(sock, echo + n, 4 - n, 1000000);
        if (r <= 0) return 28;
        n += (uint32_t)r;
    }
    if (echo[0] != 'p' || echo[3] != 'g') return 29;
    if (akira_net_close(sock) != 0) return 30;
    say("net: \"ping\" echoed over TCP; endpoint 1 refused");

    /* App control: the app may see itself (running, or waiting as the
       firmware last saw it: the table is refreshed each round); nothing
       else. */
    int32_t self = akira_app_status(0);
    if (self != 0 && self != 1) return 31;
    if (akira_app_status(1) != AKIRA_EDENIED) return 32;
    say("app: itself running; app 1 refused");

    /* sys power: the rf send above took 123.9 ms of (virtual) time. */
    if (akira_sys_uptime_us() < 123904) return 33;
    if (akira_sys_reset_reason() < 0) return 34;
    if (akira_sys_sleep_hint(1) != 0) return 35;
    say("sys: uptime past the LoRa packet, sleep hint taken");
    return 0;
}
