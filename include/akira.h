/*
 * akira.h: the Akira app ABI, version 1, for C and C++ apps.
 *
 * Every function of docs/abi.md, imported from its bridge module with the
 * signature the firmware links (a test in akira-bridge checks this header
 * against the bridge's module specs, and docs/abi.md against the same).
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

#define AKIRA_EDENIED (-1)    /* not granted to this app */
#define AKIRA_ENORES (-2)     /* no such resource on this board */
#define AKIRA_EINVAL (-3)     /* invalid argument */
#define AKIRA_EFAULT (-4)     /* pointer or length outside the app's memory */
#define AKIRA_EIO (-5)        /* hardware error */
#define AKIRA_EBUSY (-6)      /* resource busy */
#define AKIRA_ETIMEDOUT (-7)  /* timed out */
#define AKIRA_ENOSPC (-8)     /* no space left */
#define AKIRA_ENOTSUP (-9)    /* not supported by this board */
#define AKIRA_E2BIG (-10)     /* too large */

/* ---- akira:log (capability `log`) ------------------------------------- */

#define AKIRA_LOG_ERROR 0
#define AKIRA_LOG_WARN 1
#define AKIRA_LOG_INFO 2
#define AKIRA_LOG_DEBUG 3
#define AKIRA_LOG_TRACE 4

/* One console line of UTF-8 text (at most 1024 bytes). */
AKIRA_IMPORT("akira:log", "write") int32_t akira_log_write(int32_t level, const char *text, uint32_t len);

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

/* ---- akira:ipc (capability `ipc`: publish and subscribe topics) ------- */

/* Topics are indices into the app's own `publish` / `subscribe` lists in
 * Akira.toml. publish returns the number of subscribers reached
 * (AKIRA_ENOSPC, nothing sent, when one of them is full). receive suspends
 * the app until a message arrives (timeout_us < 0: no timeout; 0: do not
 * wait) and returns topic << 16 | length: see AKIRA_IPC_TOPIC / _LEN. */
AKIRA_IMPORT("akira:ipc", "publish") int32_t akira_ipc_publish(int32_t topic, const void *data, uint32_t len);
AKIRA_IMPORT("akira:ipc", "subscribe") int32_t akira_ipc_subscribe(int32_t topic);
AKIRA_IMPORT("akira:ipc", "unsubscribe") int32_t akira_ipc_unsubscribe(int32_t topic);
AKIRA_IMPORT("akira:ipc", "receive") int32_t akira_ipc_receive(void *buf, uint32_t cap, int64_t timeout_us);
AKIRA_IMPORT("akira:ipc", "pending") int32_t akira_ipc_pending(void);
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
