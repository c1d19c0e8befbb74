/*
 * akira.h: the Akira app ABI, version 1, for C and C++ apps.
 *
 * Generated from the akira-abi crate by `cargo run -p akira-abi`: do not
 * edit. Every function of docs/abi.md (generated from the same
 * definition), imported from its bridge module with the signature the
 * firmware links.
 * An app imports only the modules its Akira.toml grants; importing one it
 * was not granted is refused at install, named.
 *
 * Build an app for wasm32 with clang and lld:
 *
 *   clang --target=wasm32 -nostdlib -O2 -I include \
 *         -Wl,--no-entry -Wl,--export=akira_main -Wl,--allow-undefined \
 *         -Wl,-zstack-size=4096 -o app.wasm app.c
 *   akira run app.wasm --manifest Akira.toml
 *
 * Conventions (docs/abi.md): every call returns a value >= 0 on success or
 * a negative AKIRA_E* code; buffers are (pointer, length) pairs into the
 * app's memory, checked by the firmware; times are int64_t microseconds;
 * calls that wait suspend only this app.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef AKIRA_H
#define AKIRA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Declaring imports and the entry point ---------------------------- */

/* A function imported from bridge module `module` under `name`. */
#define AKIRA_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

/* Exports a function under `name`: the runtime calls the app's
 * `AKIRA_EXPORT("akira_main") int32_t akira_main(void)` once; its return
 * value is the app's exit code. */
#define AKIRA_EXPORT(name) __attribute__((export_name(name), visibility("default")))

#define AKIRA_ABI_VERSION 1

/* ---- Error codes ------------------------------------------------------ */

#define AKIRA_EDENIED (-1)   /* not granted to this app */
#define AKIRA_ENORES (-2)    /* no such resource on this board */
#define AKIRA_EINVAL (-3)    /* invalid argument */
#define AKIRA_EFAULT (-4)    /* pointer or length outside the app's memory */
#define AKIRA_EIO (-5)       /* hardware error */
#define AKIRA_EBUSY (-6)     /* resource busy */
#define AKIRA_ETIMEDOUT (-7) /* timed out */
#define AKIRA_ENOSPC (-8)    /* no space left */
#define AKIRA_ENOTSUP (-9)   /* not supported by this board */
#define AKIRA_E2BIG (-10)    /* too large */

/* ---- akira:log (capability `log`) ------------------------------------- */

#define AKIRA_LOG_ERROR 0
#define AKIRA_LOG_WARN 1
#define AKIRA_LOG_INFO 2
#define AKIRA_LOG_DEBUG 3
#define AKIRA_LOG_TRACE 4

/* One console line of UTF-8 text (at most 1024 bytes). */
AKIRA_IMPORT("akira:log", "write") int32_t akira_log_write(int32_t level, const char *text, uint32_t len);
/* Console lines dropped by the rate limit since the app started. */
AKIRA_IMPORT("akira:log", "dropped") int64_t akira_log_dropped(void);

/* ---- akira:timer (capability `timer`) --------------------------------- */

/* Microseconds since the board booted. */
AKIRA_IMPORT("akira:timer", "now_us") int64_t akira_timer_now_us(void);
/* Suspends the app for `us` microseconds. */
AKIRA_IMPORT("akira:timer", "sleep_us") int32_t akira_timer_sleep_us(int64_t us);
/* Suspends the app until now_us() >= t. */
AKIRA_IMPORT("akira:timer", "sleep_until_us") int32_t akira_timer_sleep_until_us(int64_t t);

/* ---- akira:gpio (capability `gpio`) ----------------------------------- */

#define AKIRA_GPIO_INPUT 0
#define AKIRA_GPIO_OUTPUT 1
#define AKIRA_EDGE_RISING 1
#define AKIRA_EDGE_FALLING 2
#define AKIRA_EDGE_ANY 3

AKIRA_IMPORT("akira:gpio", "configure") int32_t akira_gpio_configure(int32_t pin, int32_t mode);
/* The level, 0 or 1. */
AKIRA_IMPORT("akira:gpio", "read") int32_t akira_gpio_read(int32_t pin);
AKIRA_IMPORT("akira:gpio", "write") int32_t akira_gpio_write(int32_t pin, int32_t level);
/* The new level. */
AKIRA_IMPORT("akira:gpio", "toggle") int32_t akira_gpio_toggle(int32_t pin);
/* Suspends until an edge of `edges`: AKIRA_EDGE_RISING or _FALLING, or
 * AKIRA_ETIMEDOUT (timeout_us < 0: none). */
AKIRA_IMPORT("akira:gpio", "wait_edge") int32_t akira_gpio_wait_edge(int32_t pin, int32_t edges, int64_t timeout_us);

/* ---- akira:sys (capability `sys`) ------------------------------------- */

/* Ends the app with `code`; does not return. */
AKIRA_IMPORT("akira:sys", "exit") __attribute__((noreturn)) void akira_sys_exit(int32_t code);
AKIRA_IMPORT("akira:sys", "yield_now") int32_t akira_sys_yield_now(void);
/* Copies up to `cap` bytes of the app's name; returns its full length. */
AKIRA_IMPORT("akira:sys", "app_name") int32_t akira_sys_app_name(char *buf, uint32_t cap);
/* major << 32 | minor << 16 | patch */
AKIRA_IMPORT("akira:sys", "app_version") int64_t akira_sys_app_version(void);
AKIRA_IMPORT("akira:sys", "abi_version") int32_t akira_sys_abi_version(void);
AKIRA_IMPORT("akira:sys", "denials") int32_t akira_sys_denials(void);
/* Microseconds since the device started. */
AKIRA_IMPORT("akira:sys", "uptime_us") int64_t akira_sys_uptime_us(void);
/* 0 unknown, 1 power-on, 2 pin, 3 software, 4 watchdog, 5 brown-out, 6 fault, 7 wake-up. */
AKIRA_IMPORT("akira:sys", "reset_reason") int32_t akira_sys_reset_reason(void);
/* 0 stay ready, 1 light sleep, 2 deep sleep between this app's deadlines. */
AKIRA_IMPORT("akira:sys", "sleep_hint") int32_t akira_sys_sleep_hint(int32_t level);

/* ---- akira:i2c (capability `i2c`: bus and 7-bit address) -------------- */

AKIRA_IMPORT("akira:i2c", "write") int32_t akira_i2c_write(int32_t bus, int32_t addr, const void *data, uint32_t len);
AKIRA_IMPORT("akira:i2c", "read") int32_t akira_i2c_read(int32_t bus, int32_t addr, void *buf, uint32_t len);
AKIRA_IMPORT("akira:i2c", "write_read") int32_t akira_i2c_write_read(int32_t bus, int32_t addr, const void *data, uint32_t len, void *buf, uint32_t buf_len);
AKIRA_IMPORT("akira:i2c", "read_reg") int32_t akira_i2c_read_reg(int32_t bus, int32_t addr, int32_t reg, void *buf, uint32_t len);
AKIRA_IMPORT("akira:i2c", "write_reg") int32_t akira_i2c_write_reg(int32_t bus, int32_t addr, int32_t reg, const void *data, uint32_t len);

/* ---- akira:spi (capability `spi`: device ids) ------------------------- */

AKIRA_IMPORT("akira:spi", "write") int32_t akira_spi_write(int32_t device, const void *data, uint32_t len);
AKIRA_IMPORT("akira:spi", "read") int32_t akira_spi_read(int32_t device, void *buf, uint32_t len);
AKIRA_IMPORT("akira:spi", "transfer") int32_t akira_spi_transfer(int32_t device, const void *data, uint32_t len, void *buf, uint32_t buf_len);
AKIRA_IMPORT("akira:spi", "transfer_in_place") int32_t akira_spi_transfer_in_place(int32_t device, void *buf, uint32_t len);
AKIRA_IMPORT("akira:spi", "write_then_read") int32_t akira_spi_write_then_read(int32_t device, const void *data, uint32_t len, void *buf, uint32_t buf_len);

/* ---- akira:uart (capability `uart`: ports) ---------------------------- */

/* Both suspend the app until some bytes move; they return how many
 * (timeout_us < 0: no timeout; 0: do not wait). */
AKIRA_IMPORT("akira:uart", "write") int32_t akira_uart_write(int32_t port, const void *data, uint32_t len, int64_t timeout_us);
AKIRA_IMPORT("akira:uart", "read") int32_t akira_uart_read(int32_t port, void *buf, uint32_t len, int64_t timeout_us);

/* ---- akira:pwm (capability `pwm`: channels) --------------------------- */

AKIRA_IMPORT("akira:pwm", "max_duty") int32_t akira_pwm_max_duty(int32_t channel);
AKIRA_IMPORT("akira:pwm", "set_duty") int32_t akira_pwm_set_duty(int32_t channel, int32_t duty);
AKIRA_IMPORT("akira:pwm", "set_frequency") int32_t akira_pwm_set_frequency(int32_t channel, int32_t hz);

/* ---- akira:adc (capability `adc`: channels) --------------------------- */

AKIRA_IMPORT("akira:adc", "resolution") int32_t akira_adc_resolution(int32_t channel);
AKIRA_IMPORT("akira:adc", "read_raw") int32_t akira_adc_read_raw(int32_t channel);
AKIRA_IMPORT("akira:adc", "read_mv") int32_t akira_adc_read_mv(int32_t channel);

/* ---- akira:sensor (capability `sensor`: channels) --------------------- */

#define AKIRA_SENSOR_TEMPERATURE 1    /* m°C */
#define AKIRA_SENSOR_HUMIDITY 2       /* 0.001 %RH */
#define AKIRA_SENSOR_PRESSURE 3       /* Pa */
#define AKIRA_SENSOR_ACCELERATION 4   /* mm/s², x y z */
#define AKIRA_SENSOR_ANGULAR_RATE 5   /* milli-degrees/s, x y z */
#define AKIRA_SENSOR_MAGNETIC_FIELD 6 /* nT, x y z */
#define AKIRA_SENSOR_ILLUMINANCE 7    /* mlx */
#define AKIRA_SENSOR_DISTANCE 8       /* mm */
#define AKIRA_SENSOR_CO2 9            /* ppm */
#define AKIRA_SENSOR_VOLTAGE 10       /* mV */
#define AKIRA_SENSOR_CURRENT 11       /* mA */

AKIRA_IMPORT("akira:sensor", "kind") int32_t akira_sensor_kind(int32_t channel);
/* Writes 1 or 3 int32_t values to `values`; returns how many. */
AKIRA_IMPORT("akira:sensor", "read") int32_t akira_sensor_read(int32_t channel, int32_t *values, uint32_t len);

/* ---- akira:rng (capability `rng`) ------------------------------------- */

AKIRA_IMPORT("akira:rng", "fill") int32_t akira_rng_fill(void *buf, uint32_t len);

/* ---- akira:crypto (capability `sys`) ---------------------------------- */

AKIRA_IMPORT("akira:crypto", "sha256") int32_t akira_crypto_sha256(const void *data, uint32_t len, uint8_t *out32);
AKIRA_IMPORT("akira:crypto", "hmac_sha256") int32_t akira_crypto_hmac_sha256(const void *key, uint32_t key_len, const void *msg, uint32_t msg_len, uint8_t *out32);
/* 1 valid, 0 not. */
AKIRA_IMPORT("akira:crypto", "ed25519_verify") int32_t akira_crypto_ed25519_verify(const uint8_t *key32, const void *msg, uint32_t msg_len, const uint8_t *sig64);

/* ---- akira:storage (capability `storage`) ----------------------------- */

/* The app's own key-value store: keys 1-32 bytes, values 0-256 bytes. */
#define AKIRA_STORAGE_MAX_KEY 32
#define AKIRA_STORAGE_MAX_VALUE 256

/* Copies up to buf_len bytes of the value; returns its full length
 * (AKIRA_ENORES if the key is not set). */
AKIRA_IMPORT("akira:storage", "get") int32_t akira_storage_get(const void *key, uint32_t key_len, void *buf, uint32_t buf_len);
/* AKIRA_ENOSPC past the app's quota. */
AKIRA_IMPORT("akira:storage", "set") int32_t akira_storage_set(const void *key, uint32_t key_len, const void *value, uint32_t value_len);
AKIRA_IMPORT("akira:storage", "remove") int32_t akira_storage_remove(const void *key, uint32_t key_len);
AKIRA_IMPORT("akira:storage", "used") int64_t akira_storage_used(void);
AKIRA_IMPORT("akira:storage", "quota") int64_t akira_storage_quota(void);

/* ---- akira:ota (capability `ota`) ------------------------------------- */

/* Versions packed as major << 32 | minor << 16 | patch. */
AKIRA_IMPORT("akira:ota", "version") int64_t akira_ota_version(void);
/* AKIRA_ENORES if there is no previous version. */
AKIRA_IMPORT("akira:ota", "previous_version") int64_t akira_ota_previous_version(void);
/* 1 on trial, 0 confirmed. */
AKIRA_IMPORT("akira:ota", "is_trial") int32_t akira_ota_is_trial(void);
/* Carried out at the firmware's next round. */
AKIRA_IMPORT("akira:ota", "confirm") int32_t akira_ota_confirm(void);
AKIRA_IMPORT("akira:ota", "request_rollback") int32_t akira_ota_request_rollback(void);

/* ---- akira:display (capability `display`: the whole screen or a region) */

/* Colours are RGB565; coordinates absolute screen pixels. A primitive not
 * wholly inside the app's region is refused (AKIRA_EDENIED), not clipped. */
#define AKIRA_RGB565(r, g, b) ((uint32_t)((((r) & 0xf8) << 8) | (((g) & 0xfc) << 3) | ((b) >> 3)))
/* Screen width << 16 | height. */
AKIRA_IMPORT("akira:display", "size") int32_t akira_display_size(void);
/* Fills the app's region. */
AKIRA_IMPORT("akira:display", "fill") int32_t akira_display_fill(uint32_t color);
AKIRA_IMPORT("akira:display", "pixel") int32_t akira_display_pixel(uint32_t x, uint32_t y, uint32_t color);
AKIRA_IMPORT("akira:display", "line") int32_t akira_display_line(uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, uint32_t color);
/* filled: 1 filled, 0 a 1-pixel outline inside the rectangle. */
AKIRA_IMPORT("akira:display", "rect") int32_t akira_display_rect(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t color, int32_t filled);
/* UTF-8 text in the 6x10 font, top-left at (x, y). */
AKIRA_IMPORT("akira:display", "text") int32_t akira_display_text(uint32_t x, uint32_t y, const char *text, uint32_t len, uint32_t color);
/* w*h RGB565 pixels, little-endian, row by row; len = 2*w*h bytes. */
AKIRA_IMPORT("akira:display", "blit") int32_t akira_display_blit(uint32_t x, uint32_t y, uint32_t w, uint32_t h, const void *pixels, uint32_t len);
AKIRA_IMPORT("akira:display", "flush") int32_t akira_display_flush(void);

/* ---- akira:hid (capability `hid`: device kinds) ----------------------- */

/* Reports wait (suspended) up to 1 s for the host to take earlier ones. */
#define AKIRA_HID_LEFT_CTRL 0x01
#define AKIRA_HID_LEFT_SHIFT 0x02
#define AKIRA_HID_LEFT_ALT 0x04
#define AKIRA_HID_LEFT_GUI 0x08
/* One keyboard report holding n (<= 6) keys (HID usage ids). */
AKIRA_IMPORT("akira:hid", "keyboard") int32_t akira_hid_keyboard(uint32_t modifiers, const uint8_t *keys, uint32_t n);
/* Types ASCII (US layout); returns the characters typed (>= 1): loop for the rest. */
AKIRA_IMPORT("akira:hid", "type_text") int32_t akira_hid_type_text(const char *text, uint32_t len);
/* dx, dy, wheel in -127..127; buttons bit 0 left, 1 right, 2 middle. */
AKIRA_IMPORT("akira:hid", "mouse") int32_t akira_hid_mouse(uint32_t buttons, int32_t dx, int32_t dy, int32_t wheel);
AKIRA_IMPORT("akira:hid", "gamepad") int32_t akira_hid_gamepad(uint32_t buttons, int32_t x, int32_t y, int32_t rx, int32_t ry);
AKIRA_IMPORT("akira:hid", "consumer") int32_t akira_hid_consumer(uint32_t usage);
AKIRA_IMPORT("akira:hid", "raw") int32_t akira_hid_raw(const void *report, uint32_t len);
/* An input event: kind 1 pressed, 2 released (code: button), 3 keyboard LEDs (value). */
typedef struct {
    uint16_t kind;
    uint16_t code;
    int32_t value;
} akira_hid_event_t;
/* Suspends until an event arrives (timeout_us < 0: no timeout); returns 8. */
AKIRA_IMPORT("akira:hid", "next_event") int32_t akira_hid_next_event(akira_hid_event_t *event, uint32_t len, int64_t timeout_us);

/* ---- akira:rf (capability `rf`) --------------------------------------- */

/* LoRa settings: frequency in Hz, spreading factor 7-12, bandwidth in Hz
 * (7810 ... 500000), coding rate 5-8 (4/5 ... 4/8), power in dBm. */
AKIRA_IMPORT("akira:rf", "configure") int32_t akira_rf_configure(uint32_t frequency_hz, int32_t spreading_factor, uint32_t bandwidth_hz, int32_t coding_rate, int32_t power_dbm);
/* Suspends until sent; AKIRA_ENOSPC when the duty cycle is spent. */
AKIRA_IMPORT("akira:rf", "send") int32_t akira_rf_send(const void *data, uint32_t len);
/* Suspends until a packet arrives; returns its length. */
AKIRA_IMPORT("akira:rf", "receive") int32_t akira_rf_receive(void *buf, uint32_t len, int64_t timeout_us);
/* Writes int16_t rssi_dbm, snr_db; returns 1, or 0 before any packet. */
AKIRA_IMPORT("akira:rf", "last_packet") int32_t akira_rf_last_packet(int16_t *rssi_snr);
AKIRA_IMPORT("akira:rf", "airtime_left") int64_t akira_rf_airtime_left(void);

/* ---- akira:ble (capability `ble`) ------------------------------------- */

/* Legacy advertising: up to 31 bytes of AD structures, an optional scan
 * response (rsp_len 0: none), interval 20-10240 ms. Suspends until the
 * controller advertises; AKIRA_ENOSPC beyond the data change cap. */
AKIRA_IMPORT("akira:ble", "advertise") int32_t akira_ble_advertise(const void *data, uint32_t data_len, const void *rsp, uint32_t rsp_len, uint32_t interval_ms);
AKIRA_IMPORT("akira:ble", "advertise_stop") int32_t akira_ble_advertise_stop(void);
/* active 1 or 0; interval and window 3-10240 ms, window <= interval. */
AKIRA_IMPORT("akira:ble", "scan") int32_t akira_ble_scan(int32_t active, uint32_t interval_ms, uint32_t window_ms);
AKIRA_IMPORT("akira:ble", "scan_stop") int32_t akira_ble_scan_stop(void);
/* Writes address[6], address type, int8_t rssi, packet type, data length,
 * data (AKIRA_BLE_MAX_REPORT holds any report); suspends until one
 * arrives. Returns the bytes written. */
AKIRA_IMPORT("akira:ble", "next_report") int32_t akira_ble_next_report(void *buf, uint32_t len, int64_t timeout_us);
#define AKIRA_BLE_MAX_REPORT 41
/* GATT peripheral (role `peripheral`): declare services and
 * characteristics (UUIDs of 2 or 16 bytes, least significant byte first),
 * each call returning a handle; at most 2 services, 8 characteristics,
 * 256 value bytes (AKIRA_ENOSPC). */
AKIRA_IMPORT("akira:ble", "gatt_service") int32_t akira_ble_gatt_service(const void *uuid, uint32_t uuid_len);
AKIRA_IMPORT("akira:ble", "gatt_characteristic") int32_t akira_ble_gatt_characteristic(uint32_t service, const void *uuid, uint32_t uuid_len, uint32_t properties, uint32_t max_len);
#define AKIRA_GATT_READ 0x02
#define AKIRA_GATT_WRITE_WITHOUT_RESPONSE 0x04
#define AKIRA_GATT_WRITE 0x08
#define AKIRA_GATT_NOTIFY 0x10
/* Serves the table, advertising connectable; suspends until serving. */
AKIRA_IMPORT("akira:ble", "gatt_start") int32_t akira_ble_gatt_start(const void *data, uint32_t data_len, uint32_t interval_ms);
AKIRA_IMPORT("akira:ble", "gatt_stop") int32_t akira_ble_gatt_stop(void);
AKIRA_IMPORT("akira:ble", "gatt_set_value") int32_t akira_ble_gatt_set_value(uint32_t handle, const void *value, uint32_t len);
/* Sets the value and notifies a subscribed central. */
AKIRA_IMPORT("akira:ble", "gatt_notify") int32_t akira_ble_gatt_notify(uint32_t handle, const void *value, uint32_t len);
/* Writes kind, handle, payload length, 0, payload (AKIRA_GATT_MAX_EVENT
 * holds any event); suspends until one arrives. Returns the bytes written. */
AKIRA_IMPORT("akira:ble", "gatt_next_event") int32_t akira_ble_gatt_next_event(void *buf, uint32_t len, int64_t timeout_us);
#define AKIRA_GATT_MAX_EVENT 68
#define AKIRA_GATT_CONNECTED 1
#define AKIRA_GATT_DISCONNECTED 2
#define AKIRA_GATT_WRITTEN 3
#define AKIRA_GATT_SUBSCRIBED 4
#define AKIRA_GATT_UNSUBSCRIBED 5

/* ---- akira:ipc (capability `ipc`: publish and subscribe topics) ------- */

/* Topics are indices into the app's own `publish` / `subscribe` lists in
 * Akira.toml. publish returns the number of subscribers reached (a full
 * mailbox drops its oldest message: see lost). receive suspends
 * the app until a message arrives (timeout_us < 0: no timeout; 0: do not
 * wait) and returns topic << 16 | length: see AKIRA_IPC_TOPIC / _LEN. */
AKIRA_IMPORT("akira:ipc", "publish") int32_t akira_ipc_publish(int32_t topic, const void *data, uint32_t len);
AKIRA_IMPORT("akira:ipc", "subscribe") int32_t akira_ipc_subscribe(int32_t topic);
AKIRA_IMPORT("akira:ipc", "unsubscribe") int32_t akira_ipc_unsubscribe(int32_t topic);
AKIRA_IMPORT("akira:ipc", "receive") int32_t akira_ipc_receive(void *buf, uint32_t cap, int64_t timeout_us);
AKIRA_IMPORT("akira:ipc", "pending") int32_t akira_ipc_pending(void);
/* Messages dropped from the app's full mailbox since the last call. */
AKIRA_IMPORT("akira:ipc", "lost") int32_t akira_ipc_lost(void);
#define AKIRA_IPC_TOPIC(received) ((int32_t)(received) >> 16)
#define AKIRA_IPC_LEN(received) ((int32_t)(received) & 0xffff)

/* ---- akira:net (capability `net`: endpoints) -------------------------- */

/* endpoint: index into the app's `net` list; transport: AKIRA_NET_TCP or
 * AKIRA_NET_UDP (UDP to that one peer); port 0: the endpoint's own.
 * connect returns a socket id; the others suspend the app until bytes
 * move (timeout_us < 0: no timeout; 0: do not wait); receive returns 0
 * when the peer closed the connection. */
#define AKIRA_NET_TCP 0
#define AKIRA_NET_UDP 1
AKIRA_IMPORT("akira:net", "connect") int32_t akira_net_connect(int32_t endpoint, int32_t transport, int32_t port, int64_t timeout_us);
AKIRA_IMPORT("akira:net", "send") int32_t akira_net_send(int32_t socket, const void *data, uint32_t len, int64_t timeout_us);
AKIRA_IMPORT("akira:net", "receive") int32_t akira_net_receive(int32_t socket, void *buf, uint32_t len, int64_t timeout_us);
AKIRA_IMPORT("akira:net", "close") int32_t akira_net_close(int32_t socket);

/* ---- akira:app (capability `app`: names of controlled apps) ----------- */

/* app: index into the app's `app` list. status: 0 running, 1 waiting,
 * 2 stopped, 3 exited, 4 failed, 5 restarting. start and stop suspend the
 * caller until the firmware has applied them, then return 0. */
AKIRA_IMPORT("akira:app", "status") int32_t akira_app_status(int32_t app);
AKIRA_IMPORT("akira:app", "start") int32_t akira_app_start(int32_t app);
AKIRA_IMPORT("akira:app", "stop") int32_t akira_app_stop(int32_t app);

/* ---- Helpers (not imports) -------------------------------------------- */

/* Logs a NUL-terminated string. */
static inline int32_t akira_log(int32_t level, const char *text) {
    uint32_t len = 0;
    while (text[len] != 0) {
        len++;
    }
    return akira_log_write(level, text, len);
}

static inline int32_t akira_sleep_ms(uint32_t ms) {
    return akira_timer_sleep_us((int64_t)ms * 1000);
}

#ifdef __cplusplus
}
#endif

#endif /* AKIRA_H */
