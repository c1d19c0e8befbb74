//! The AkiraOS `env` ABI, as Akira translates it.
//!
//! Apps written for AkiraOS import flat names from module `env`
//! (`gpio_write`, `display_text`, ...), pass NUL-terminated strings and
//! return negative Zephyr errno values. `akira build` / `akira pack` turn
//! each import into a shim written in wasm over Akira imports (in
//! `akira-build`), so such an app runs unchanged; this table says, for
//! every import of the AkiraOS SDK's `akira_api.h`, what the shim does or
//! why there is none. Written from the SDK's public header and docs (names
//! and signatures only).

/// What Akira does with one AkiraOS import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// A shim over Akira imports: how (Markdown).
    Shim(&'static str),
    /// A shim that does part of what AkiraOS does: what differs.
    Partly(&'static str),
    /// No Akira module does this yet: an app importing it is refused at
    /// build time, naming it.
    Missing(&'static str),
    /// Refused by design: why.
    Refused(&'static str),
}

impl Support {
    /// Whether `akira build` translates the import.
    pub const fn translated(self) -> bool {
        matches!(self, Support::Shim(_) | Support::Partly(_))
    }
}

/// One import of the AkiraOS `env` ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvImport {
    /// Its name in module `env`.
    pub name: &'static str,
    /// Its wasm signature, one letter per type: `ii:i` is
    /// `(i32, i32) -> i32`, `i:` returns nothing.
    pub sig: &'static str,
    /// The AkiraOS capability it needs (`-` for none).
    pub capability: &'static str,
    /// What Akira does with it.
    pub support: Support,
    /// Its signature in the SDK's later header, where it changed (the
    /// translation accepts both).
    pub later_sig: Option<&'static str>,
}

impl EnvImport {
    /// The parameter types.
    pub fn params(&self) -> impl Iterator<Item = crate::ValType> + '_ {
        params(self.sig)
    }

    /// The result types (none or one).
    pub fn results(&self) -> impl Iterator<Item = crate::ValType> + '_ {
        results(self.sig)
    }

    /// The signatures an app may import it with, as `(params, results)`
    /// letters (see [`EnvImport::sig`]): the header's, then the later
    /// header's if it changed.
    pub fn signatures(&self) -> impl Iterator<Item = &'static str> {
        core::iter::once(self.sig).chain(self.later_sig)
    }

    const fn later(self, sig: &'static str) -> EnvImport {
        EnvImport { later_sig: Some(sig), ..self }
    }
}

/// The parameter types of a signature in [`EnvImport::sig`]'s letters.
pub fn params(sig: &str) -> impl Iterator<Item = crate::ValType> + '_ {
    sig.split(':').next().unwrap_or("").bytes().map(letter)
}

/// The result types of a signature in [`EnvImport::sig`]'s letters.
pub fn results(sig: &str) -> impl Iterator<Item = crate::ValType> + '_ {
    sig.split(':').nth(1).unwrap_or("").bytes().map(letter)
}

fn letter(b: u8) -> crate::ValType {
    match b {
        b'I' => crate::ValType::I64,
        _ => crate::ValType::I32,
    }
}

/// The import called `name`, if the table has it.
pub fn import(name: &str) -> Option<&'static EnvImport> {
    IMPORTS.iter().find(|i| i.name == name)
}

use Support::{Missing, Partly, Refused, Shim};

const fn e(name: &'static str, sig: &'static str, capability: &'static str, support: Support) -> EnvImport {
    EnvImport { name, sig, capability, support, later_sig: None }
}

const NET_RINGS: Support =
    Missing("AkiraOS sockets share ring buffers in app memory; `akira:net` moves bytes by call, to granted endpoints");
const APP_BY_NAME: Support = Partly(
    "`akira:app.start`, by the index of the name in the board profile's `[app] names` (what `app.control` grants): an app the profile does not name is `-EPERM`, counted",
);
const SUBSCRIBE_BY_NAME: Support = Partly(
    "`akira:ipc.subscribe` or `unsubscribe`, by the index of the name in the board profile's `[ipc] names` (what `ipc` grants): a topic the profile does not name is `-EPERM`, counted",
);
const SD_INSTALL: Support =
    Refused("installs or runs unsigned code from an SD card, outside the signed OTA path and the device policy");
const NO_MODULE: Support = Missing("no Akira module for this yet");
const BLE_SPAM: Support =
    Refused("floods pairing pop-ups on nearby phones (BLE pairing spam): traffic aimed at other people's devices");
const RF_KEPT: Support = Shim(
    "kept by the shim and applied with `akira:rf.configure`, as `rf_set_frequency`; a value `configure` refuses is `-EINVAL` and not kept",
);
const RF_CARRIER: Support =
    Refused("keys a continuous carrier (jamming): `akira:rf` sends packets within a granted band and airtime");
const RF_RAW: Support = Refused("captures and replays raw radio signals (replay attacks on keys and remotes)");
const WIFI_ATTACK: Support = Refused("Wi-Fi deauthentication, handshake capture or sniffing of other people's clients");
const HID_MODIFIERS: Support = Shim("`akira:hid.keyboard` with these modifiers and the held keys");
const HID_PAD_REPORT: Support =
    Partly("`akira:hid.gamepad`: buttons and the four stick axes in 8 bits; no hat, no triggers");
const CRYPTO_SHIM: Support = Shim("`akira:crypto.sha256` (pure computation: no grant needed in Akira)");
const CRYPTO_HMAC: Support = Shim("`akira:crypto.hmac_sha256` (pure computation: no grant needed in Akira)");
const CRYPTO_RANDOM: Support =
    Shim("`akira:rng.fill` (granted to the shim: random bytes need no AkiraOS grant in Akira)");
const RTC_UPTIME: Support = Shim("`akira:sys.uptime_us` in milliseconds, wrapping as AkiraOS's");
const CRYPTO_MISSING: Support = Missing("`akira:crypto` has SHA-256, HMAC-SHA256 and Ed25519 verification only");

/// Every import of the AkiraOS SDK header (`akira_api.h`), in its order.
pub static IMPORTS: &[EnvImport] = &[
    // Console and time.
    e("printf_native", "i:i", "-", Shim("`akira:log.write` at level info (the string's length found by a scan)")),
    e("delay", "i:i", "-", Shim("`akira:timer.sleep_us`: the app waits, others run")),
    // Display.
    e("display_clear", "i:i", "display.write", Shim("`akira:display.fill`")),
    e("display_pixel", "iii:i", "display.write", Shim("`akira:display.pixel`")),
    e("display_rect", "iiiii:i", "display.write", Shim("`akira:display.rect`, filled")),
    e("display_text", "iiii:i", "display.write", Shim("`akira:display.text`")),
    e("display_text_large", "iiii:i", "display.write", Partly("`akira:display.text` in the one (6 x 10) font")),
    e("display_flush", ":i", "display.write", Shim("`akira:display.flush`")),
    e("display_get_size", "ii:i", "display.write", Shim("`akira:display.size`, stored at both pointers")),
    e("display_line", "iiiii:i", "display.write", Shim("`akira:display.line`")),
    e(
        "display_circle",
        "iiii:i",
        "display.write",
        Shim("midpoint circle in the shim, one-pixel `akira:display.rect` boxes cut to the screen"),
    ),
    e(
        "display_circle_fill",
        "iiii:i",
        "display.write",
        Shim("midpoint circle in the shim, one `akira:display.rect` row per step, cut to the screen"),
    ),
    e("display_triangle", "iiiiiii:i", "display.write", Shim("three `akira:display.line` calls")),
    e(
        "display_triangle_fill",
        "iiiiiii:i",
        "display.write",
        Shim("scanline fill in the shim (integers), one `akira:display.rect` row per line, cut to the screen"),
    ),
    e("display_rect_outline", "iiiii:i", "display.write", Shim("`akira:display.rect`, outline")),
    e("display_bitmap", "iiiiii:i", "display.write", Shim("`akira:display.blit`")),
    e("display_raw_write", "iiiiii:i", "display.write", Partly("`akira:display.blit` then `flush` (the whole frame)")),
    e(
        "display_bitmap_transparent",
        "iiiiiii:i",
        "display.write",
        Shim("each pixel not the key as a one-pixel `akira:display.rect`, cut to the screen"),
    ),
    e("display_hline", "iiii:i", "display.write", Shim("`akira:display.rect` one pixel high")),
    e("display_vline", "iiii:i", "display.write", Shim("`akira:display.rect` one pixel wide")),
    e("display_number", "iiii:i", "display.write", Shim("decimal digits made in the shim, then `akira:display.text`")),
    e(
        "display_progress_bar",
        "iiiiiiii:i",
        "display.write",
        Shim("three `akira:display.rect`: background, the part done, outline"),
    ),
    e(
        "display_rounded_rect",
        "iiiiii:i",
        "display.write",
        Shim("midpoint corners and four edges as `akira:display.rect` boxes, cut to the screen"),
    ),
    e(
        "display_rounded_rect_fill",
        "iiiiii:i",
        "display.write",
        Shim("midpoint corners, `akira:display.rect` rows and a middle band, cut to the screen"),
    ),
    // GPIO.
    e(
        "gpio_configure",
        "ii:i",
        "gpio.read / gpio.write",
        Partly("`akira:gpio.configure` on the board profile's pin; pulls and active-low are the board's"),
    ),
    e("gpio_read", "i:i", "gpio.read", Shim("`akira:gpio.read` after `akira:sys.yield_now` (a polling loop yields)")),
    e("gpio_write", "ii:i", "gpio.write", Shim("`akira:gpio.write` on the board profile's pin")),
    // Sensors and memory.
    e(
        "sensor_read",
        "i:i",
        "sensor.read",
        Partly(
            "`akira:sensor.read` of the board profile's channel for the Zephyr one, after `akira:sys.yield_now` (a polling loop yields), in Zephyr's units × 1000; `INT32_MIN` for a channel the profile does not map",
        ),
    ),
    e(
        "mem_alloc",
        "i:i",
        "-",
        Shim(
            "a first-fit allocator written in wasm over the app's own heap (past its static data and stack, sized by the board profile's `memory.heap`): 8-byte aligned blocks; `NULL` when none fits",
        ),
    ),
    e("mem_free", "i:", "-", Shim("the same allocator: frees the block; any other pointer changes nothing")),
    // BLE.
    e("ble_init", ":i", "ble", Shim("nothing to do: `akira:ble` is ready when granted; returns 0")),
    e("ble_deinit", ":i", "ble", Shim("`akira:ble.gatt_stop`; the shim's table of services and characteristics is forgotten")),
    e("ble_set_local_name", "i:i", "ble", Partly("kept (at most 29 bytes, else `-EINVAL`) and put by `ble_advertise` in the advertisement after the flags and the service UUID, as a shortened name cut to what fits when the whole does not: `akira:ble.gatt_start` has no scan response")),
    e("ble_service_create", "i:i", "ble", Shim("`akira:ble.gatt_service` with the UUID string parsed by the shim (`180d`, `0x180D` or 128-bit `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; another string `-EINVAL`); its handle is Akira's (at most 2 services)")),
    e("ble_char_create", "iii:i", "ble", Partly("kept in the shim's table (at most 8, else `-ENOMEM`) until `ble_service_add_char` declares it: its UUID string parsed as `ble_service_create`'s; properties read, write without response, write and notify (indicate `0x20` is `-EINVAL`), `max_len` 1-64 (else `-EINVAL`)")),
    e("ble_service_add_char", "ii:i", "ble", Shim("`akira:ble.gatt_characteristic` on the service, with what `ble_char_create` kept; once per characteristic (again: `-EINVAL`)")),
    e("ble_add_service", "i:i", "ble", Shim("nothing to do (`ble_service_add_char` declared the service whole): 0 for a service the app created, else `-EINVAL`")),
    e("ble_set_advertised_service", "i:i", "ble", Shim("kept: `ble_advertise` puts the service's UUID in the advertisement (its complete 16- or 128-bit list)")),
    e("ble_advertise", ":i", "ble", Partly("`akira:ble.gatt_start` every 100 ms with the flags, the chosen service's UUID and the local name, then `gatt_set_value` of the values the app wrote before")),
    e("ble_stop_advertise", ":i", "ble", Shim("`akira:ble.advertise_stop`")),
    e("ble_is_connected", ":i", "ble", Partly("as the connection events the app popped with `ble_event_pop` tell (Akira reports connections only as events)")),
    e("ble_char_write", "iii:i", "ble", Shim("`akira:ble.gatt_notify` for a notify characteristic, else `gatt_set_value` (kept until `ble_advertise` when not serving yet); more than its `max_len` is `-E2BIG`")),
    e("ble_char_read", "iii:i", "ble", Partly("the value last written by the app or by a central whose write the app popped with `ble_event_pop` (Akira reports writes only as events), cut to the buffer")),
    e("ble_event_pop", "ii:i", "ble", Partly("`akira:ble.gatt_next_event` without waiting, after `akira:sys.yield_now`, in AkiraOS's layout (type, characteristic, length LE, data cut to the buffer): connected, disconnected, written; subscriptions are skipped; a write is kept for `ble_char_read`; 0 while not serving")),
    // HID.
    e("hid_enable", ":i", "hid", Shim("nothing to do: `akira:hid` is ready when granted; returns 0")),
    e("hid_disable", ":i", "hid", Shim("nothing to do; returns 0")),
    e("hid_is_connected", ":i", "hid", Partly("1: the board's HID transport is the firmware's")),
    e(
        "hid_key_press",
        "i:i",
        "hid",
        Shim("`akira:hid.keyboard` with the held modifiers and keys (at most six: `-ENOMEM`)"),
    ),
    e("hid_key_release", "i:i", "hid", Shim("`akira:hid.keyboard` with the keys still held")),
    e("hid_key_release_all", ":i", "hid", Shim("`akira:hid.keyboard` with no key; forgets the held keys")),
    e("hid_type_string", "i:i", "hid", Shim("`akira:hid.type_text`")),
    e("hid_gamepad_press", "i:i", "hid", Shim("`akira:hid.gamepad` with the held buttons (16) and sticks")),
    e("hid_gamepad_release", "i:i", "hid", Shim("`akira:hid.gamepad` with the buttons still held")),
    e(
        "hid_gamepad_set_axis",
        "ii:i",
        "hid",
        Partly("`akira:hid.gamepad`; axes 0–3 are x, y, rx, ry, in 8 bits (-127..127) instead of 16"),
    ),
    e(
        "hid_gamepad_set_dpad",
        "i:i",
        "hid",
        Partly(
            "`akira:hid.gamepad` with the d-pad as the left stick at full deflection (x, y ±127; the centre 0), replacing axes 0 and 1: the report has no hat switch; a direction above 8 is `-EINVAL`",
        ),
    ),
    e("hid_gamepad_reset", ":i", "hid", Shim("`akira:hid.gamepad` all zero; forgets the held buttons")),
    e("hid_mouse_move", "ii:i", "hid", Shim("`akira:hid.mouse` with the held buttons (a drag)")),
    e("hid_mouse_btn_press", "i:i", "hid", Shim("`akira:hid.mouse` with the held buttons")),
    e("hid_mouse_btn_release", "i:i", "hid", Shim("`akira:hid.mouse` with the buttons still held")),
    e("hid_mouse_scroll", "i:i", "hid", Shim("`akira:hid.mouse` with the wheel and the held buttons")),
    e("hid_consumer_send", "i:i", "hid", Shim("`akira:hid.consumer`, then release")),
    e("hid_send_raw_report", "iii:i", "hid", Partly("`akira:hid.raw` (the report id is the board's)")),
    e(
        "hid_action_register",
        "iii:i",
        "hid",
        Shim(
            "kept by the shim in wasm globals: eight named shortcuts (names of 1–15 bytes; a ninth is `-ENOMEM`), a name again replaces its shortcut; nothing is sent",
        ),
    ),
    e(
        "hid_action_trigger",
        "i:i",
        "hid",
        Shim(
            "`akira:hid.keyboard` with the shortcut's modifiers and key, then the report of what the app holds; `-ENOENT` for a name not registered",
        ),
    ),
    e("hid_set_transport", "i:i", "hid", Partly("the transport is the firmware's; returns 0")),
    e("hid_set_device_types", "i:i", "hid", Partly("the manifest's `hid` kinds decide; returns 0")),
    e("hid_init", "ii:i", "hid", Partly("as `hid_set_transport` and `hid_enable`; returns 0")),
    // App lifecycle.
    e(
        "app_get_status",
        "i:i",
        "app.control",
        Partly(
            "`akira:app.status` of an app the board profile's `[app] names` lists (another is `-EPERM`, counted), as `APP_STATE_*`: running or waiting is RUNNING, stopped or exited STOPPED, stopped by a fault FAILED, restarting ERROR",
        ),
    ),
    e(
        "app_list",
        "ii:i",
        "app.control",
        Partly(
            "`akira:app.status` of each app the board profile's `[app] names` lists (not every installed app) that is installed, as `name:STATE` lines while they fit (a ready app reads RUNNING: Akira has no INSTALLED state); without `app.control`, `-EPERM`, counted",
        ),
    ),
    e("app_get_self_name", "ii:i", "-", Shim("`akira:sys.app_name`")),
    e("app_start", "i:i", "app.control", APP_BY_NAME),
    e(
        "app_stop",
        "i:i",
        "app.control",
        Partly("`akira:app.stop`, of an app the board profile's `[app] names` lists, as `app_start`"),
    ),
    e(
        "app_switch",
        "i:i",
        "app.control",
        Partly("as `app_start` (the caller then returns from `main`, as AkiraOS asks)"),
    ),
    // IPC.
    e("msg_subscribe", "i:i", "ipc", SUBSCRIBE_BY_NAME),
    e("msg_unsubscribe", "i:i", "ipc", SUBSCRIBE_BY_NAME),
    e(
        "msg_publish",
        "iii:i",
        "ipc",
        Partly(
            "`akira:ipc.publish` by the index of the name in the board profile's `[ipc] names` (what `ipc` grants): a topic the profile does not name is `-EPERM`, counted; a message longer than the firmware's slots (64 bytes on the simulator; AkiraOS takes 256) is `-E2BIG`",
        ),
    ),
    e(
        "msg_recv",
        "iiii:i",
        "ipc",
        Partly(
            "`akira:ipc.receive` (the app waits, others run): the oldest message of any topic the app subscribed to, not only the one named (which must be one the profile lists); `-EAGAIN` on the timeout",
        ),
    ),
    e(
        "msg_try_recv",
        "iii:i",
        "ipc",
        Partly("as `msg_recv` without waiting, after `akira:sys.yield_now` (a polling loop yields)"),
    ),
    e(
        "msg_pending",
        "i:i",
        "ipc",
        Partly(
            "`akira:ipc.pending` after `akira:sys.yield_now` (a polling loop yields): the messages waiting of every topic, not only the one named",
        ),
    ),
    // RF.
    e(
        "rf_set_frequency",
        "i:i",
        "rf.transceive",
        Partly(
            "kept by the shim and applied with `akira:rf.configure` (the other LoRa settings from the board profile); a refused frequency is not kept",
        ),
    ),
    e("rf_set_power", "i:i", "rf.transceive", Partly("as `rf_set_frequency`, for the power")),
    e(
        "rf_get_rssi",
        "i:i",
        "rf.transceive",
        Partly(
            "`akira:rf.last_packet`: the last received packet's RSSI, not the channel's now (`-ENODATA` before one), stored at the pointer or, by the later header's `rf_get_rssi()`, returned; after `akira:sys.yield_now` (a polling loop yields)",
        ),
    )
    .later(":i"),
    e("rf_send", "ii:i", "rf.transceive", Shim("`akira:rf.configure` with the kept settings, then `akira:rf.send`")),
    // Timers: a pool of four in the shims' own globals.
    e("timer_create", ":i", "timer", Shim("one of four timers kept in wasm globals")),
    e("timer_start", "i:i", "timer", Shim("`akira:timer.now_us`")),
    e("timer_stop", "i:i", "timer", Shim("`akira:timer.now_us`")),
    e(
        "timer_elapsed",
        "i:i",
        "timer",
        Shim("`akira:timer.now_us`, in milliseconds, after `akira:sys.yield_now` (a polling loop yields)"),
    ),
    e("timer_free", "i:i", "timer", Shim("frees the slot")),
    // UART.
    e("uart_open", "ii:i", "uart", Partly("the handle is the board profile's port; the baud rate is the board's")),
    e("uart_write", "iii:i", "uart", Shim("`akira:uart.write` without waiting")),
    e("uart_read", "iii:i", "uart", Shim("`akira:uart.read` without waiting, after `akira:sys.yield_now`")),
    e("uart_close", "i:i", "uart", Shim("nothing to release; returns 0")),
    // I2C, PWM, ADC, watchdog.
    e("i2c_write_reg", "iiiii:i", "i2c", Shim("`akira:i2c.write_reg`")),
    e(
        "i2c_read_reg",
        "iiiii:i",
        "i2c",
        Shim("`akira:i2c.read_reg`; returns the length; after `akira:sys.yield_now` (a polling loop yields)"),
    ),
    e("pwm_set", "iii:i", "pwm", Shim("`akira:pwm.set_frequency`, then `set_duty` scaled by `max_duty`")),
    e("pwm_disable", "i:i", "pwm", Shim("`akira:pwm.set_duty` 0")),
    e("adc_read", "i:i", "adc", Shim("`akira:adc.read_raw` after `akira:sys.yield_now` (a polling loop yields)")),
    e("adc_read_mv", "i:i", "adc", Shim("`akira:adc.read_mv` after `akira:sys.yield_now` (a polling loop yields)")),
    e("wdt_pet", ":i", "wdt", Partly("returns 0: the scheduler's CPU budget watches every app")),
    // Storage: files through WASI.
    e("storage_open", "ii:i", "storage.read / storage.write", Shim("WASI `path_open` (part `files`)")),
    e("storage_read", "iii:i", "storage.read", Shim("WASI `fd_read`")),
    e("storage_write", "iii:i", "storage.write", Shim("WASI `fd_write`")),
    e("storage_close", "i:", "storage.read", Shim("WASI `fd_close`")),
    e("storage_delete", "i:i", "storage.write", Shim("WASI `path_unlink_file`")),
    e(
        "storage_list",
        "iii:i",
        "storage.read",
        Partly(
            "WASI `fd_readdir`, one name a call: the one directory (`\"\"` or `.`, else `-ENOENT`); names that do not fit are left out",
        ),
    ),
    // Network.
    e("net_open", "i:i", "network", NET_RINGS),
    e("net_connect", "iii:i", "network", NET_RINGS),
    e("net_bind", "ii:i", "network", Refused("apps may not listen: `akira:net` opens outgoing sockets only")),
    e("net_listen", "ii:i", "network", Refused("apps may not listen: `akira:net` opens outgoing sockets only")),
    e("net_close", "i:i", "network", NET_RINGS),
    e("net_tx_bind", "iii:i", "network", NET_RINGS),
    e("net_rx_bind", "iii:i", "network", NET_RINGS),
    e("net_tx_flush", "i:i", "network", NET_RINGS),
    e("net_event_pop", "ii:i", "network", NET_RINGS),
    e("net_get_ip", "ii:i", "network", Missing("no address query in `akira:net`")),
    // Power.
    e("power_get_mode", ":i", "power.read", Partly("0 (active): the firmware owns power modes")),
    e("power_get_battery_level", ":i", "power.read", Partly("-ENODEV: no battery query in Akira yet")),
    e("power_get_battery_status", "ii:i", "power.read", Partly("-ENODEV: no battery query in Akira yet")),
    e(
        "power_set_mode",
        "i:i",
        "power.control",
        Refused("apps hint (`akira:sys.sleep_hint`); only firmware sets modes"),
    ),
    e("power_wake_on_gpio", "ii:i", "power.control", Refused("wake sources are the firmware's")),
    e("power_wake_on_timer", "i:i", "power.control", Refused("wake sources are the firmware's")),
    e("power_set_low_power", "i:i", "power.control", Shim("`akira:sys.sleep_hint` 1 or 0")),
    // Input.
    e(
        "input_get_buttons",
        ":i",
        "input.read",
        Shim("`akira:gpio.read` of the board profile's buttons, after `akira:sys.yield_now`"),
    ),
    e(
        "input_poll_event",
        "i:i",
        "input.read",
        Partly(
            "`akira:gpio.read` of the buttons after `akira:sys.yield_now`, compared with the last poll: a press and release both between two polls is not seen; the later header's length must be at least 8 (`-EINVAL`)",
        ),
    )
    .later("ii:i"),
    // SD card installs.
    e("sd_scan_wasm", "ii:i", "app.control", SD_INSTALL),
    e("app_install_from_sd", "i:i", "app.control", SD_INSTALL),
    e("app_run_from_sd", "i:i", "app.control", SD_INSTALL),
    // Settings: the app's key-value store.
    e("settings_get", "iii:i", "settings.*", Shim("`akira:storage.get`, NUL-terminated")),
    e("settings_set", "ii:i", "settings.*", Shim("`akira:storage.set`")),
    e("settings_delete", "i:i", "settings.*", Shim("`akira:storage.remove`")),
    // Added by the SDK's later header (commit 671c72b, 2026).
    e("display_text_huge", "iiii:i", "display.write", Partly("`akira:display.text` in the one (6 x 10) font")),
    e("ble_scan_start", "i:i", "ble.scan", Shim("`akira:ble.scan`, active or passive, in 100 ms windows back to back")),
    e("ble_scan_stop", ":i", "ble.scan", Shim("`akira:ble.scan_stop` (the reports still queued are dropped)")),
    e(
        "ble_scan_pop",
        "ii:i",
        "ble.scan",
        Partly(
            "`akira:ble.next_report` without waiting, after `akira:sys.yield_now` (a polling loop yields), rewritten in AkiraOS's layout, the local name from the report's own AD structures: a scan response is a report of its own, not merged into its advertisement's",
        ),
    ),
    e("ble_spam_start", "i:i", "ble.spam", BLE_SPAM),
    e("ble_spam_stop", ":i", "ble.spam", BLE_SPAM),
    e("ble_spam_packet_count", ":i", "ble.spam", BLE_SPAM),
    e("hid_set_modifiers", "i:i", "hid", HID_MODIFIERS),
    e("hid_gamepad_send_report", "iiiiiiii:i", "hid", HID_PAD_REPORT),
    e("app_check_update", "ii:i", "app.control", Missing("`akira:ota` tells an app its own version and trial state, not whether a newer one is available")),
    e(
        "app_request_update",
        ":i",
        "app.control",
        Missing("updates come from the fleet's signed rollouts, not on an app's request"),
    ),
    e(
        "rf_select",
        "i:i",
        "rf.transceive",
        Missing("the board's radio is the firmware's: `akira:rf` has no choice of chip"),
    ),
    e(
        "rf_recv_pop",
        "iii:i",
        "rf.transceive",
        Partly(
            "as `rf_receive`, after `akira:sys.yield_now` (a polling loop yields): it listens only during the call (AkiraOS queues packets in the background); `-ENOMSG` when nothing came within the timeout",
        ),
    ),
    e(
        "rf_receive",
        "iii:i",
        "rf.transceive",
        Shim(
            "`akira:rf.configure` with the kept settings, then `akira:rf.receive` (the app waits, others run); `-ETIMEDOUT` when nothing came in time",
        ),
    ),
    e(
        "rf_set_modulation",
        "i:i",
        "rf.transceive",
        Partly("LoRa (5) returns 0; any other modulation is `-ENOTSUP`: `akira:rf` is LoRa only"),
    ),
    e(
        "rf_set_spreading_factor",
        "i:i",
        "rf.transceive",
        Partly(
            "kept by the shim and applied with `akira:rf.configure`, as `rf_set_frequency`: SF 7–12 (SF6, which Akira's radios do not take, is `-EINVAL`)",
        ),
    ),
    e("rf_set_bandwidth", "i:i", "rf.transceive", RF_KEPT),
    e("rf_set_coding_rate", "i:i", "rf.transceive", RF_KEPT),
    e("rf_set_bitrate", "i:i", "rf.transceive", Missing("`akira:rf` is LoRa only: no FSK bitrate")),
    e("rf_tx_cw_start", ":i", "rf.transceive", RF_CARRIER),
    e("rf_tx_cw_stop", ":i", "rf.transceive", RF_CARRIER),
    e("rf_tx_cw_set_freq", "i:i", "rf.transceive", RF_CARRIER),
    e("rf_set_sync_word", "i:i", "rf.transceive", Missing("no sync word setting in `akira:rf`")),
    e("rf_raw_capture", "iiii:i", "rf.transceive", RF_RAW),
    e("rf_raw_replay", "iiii:i", "rf.transceive", RF_RAW),
    e("mesh_init", "iiii:i", "mesh", NO_MODULE),
    e("mesh_start", ":i", "mesh", NO_MODULE),
    e("mesh_stop", ":i", "mesh", NO_MODULE),
    e("mesh_send", "iii:i", "mesh", NO_MODULE),
    e("mesh_broadcast", "iii:i", "mesh", NO_MODULE),
    e("mesh_recv_pop", "iiii:i", "mesh", NO_MODULE),
    e("mesh_get_nodes", "ii:i", "mesh", NO_MODULE),
    e("mesh_get_stats", "i:i", "mesh", NO_MODULE),
    e(
        "mesh_distribute_app",
        "iiii:i",
        "mesh",
        Refused("sends app binaries to other devices outside the signed OTA path"),
    ),
    e("nfc_uid", "i:i", "nfc", NO_MODULE),
    e("nfc_read", "iii:i", "nfc", NO_MODULE),
    e("nfc_write", "iii:i", "nfc", NO_MODULE),
    e("nfc_field_present", ":i", "nfc", NO_MODULE),
    e("nfc_mb_enable", "ii:i", "nfc", NO_MODULE),
    e("nfc_mb_put", "ii:i", "nfc", NO_MODULE),
    e("nfc_mb_get", "ii:i", "nfc", NO_MODULE),
    e("nfc_mb_status", "ii:i", "nfc", NO_MODULE),
    e("wifi_scan_aps", "ii:i", "rf.transceive", NO_MODULE),
    e("wifi_scan_rssi", "ii:i", "rf.transceive", NO_MODULE),
    e("wifi_deauth", "iiiii:i", "wifi.inject", WIFI_ATTACK),
    e("wifi_capture_pmkid", "iiiiii:i", "wifi.inject", WIFI_ATTACK),
    e("wifi_scan_clients", "iiiii:i", "wifi.inject", WIFI_ATTACK),
    e("crypto_sha256", "iii:i", "crypto", CRYPTO_SHIM),
    e("crypto_aes256_encrypt", "iiiii:i", "crypto", CRYPTO_MISSING),
    e("crypto_aes256_decrypt", "iiiii:i", "crypto", CRYPTO_MISSING),
    e("crypto_hmac_sha256", "iiiii:i", "crypto", CRYPTO_HMAC),
    e("crypto_random", "ii:i", "crypto", CRYPTO_RANDOM),
    e("crypto_ed25519_keygen", "ii:i", "crypto", CRYPTO_MISSING),
    e("crypto_ed25519_sign", "iiii:i", "crypto", CRYPTO_MISSING),
    e("crypto_p256_keygen", "ii:i", "crypto", CRYPTO_MISSING),
    e("crypto_p256_sign", "iiii:i", "crypto", CRYPTO_MISSING),
    e("crypto_aes256_ctr", "iiiii:i", "crypto", CRYPTO_MISSING),
    e("fs_open", "ii:i", "fs.read / fs.write", Partly("WASI `path_open` with the flags translated; the one directory")),
    e("fs_close", "i:i", "fs.read", Shim("WASI `fd_close`")),
    e("fs_read", "iii:i", "fs.read", Shim("as `storage_read`: WASI `fd_read`")),
    e("fs_write", "iii:i", "fs.write", Shim("as `storage_write`: WASI `fd_write`")),
    e("fs_seek", "iii:i", "fs.read", Shim("WASI `fd_seek`; returns the new position")),
    e("fs_tell", "i:i", "fs.read", Shim("WASI `fd_tell`")),
    e(
        "fs_stat",
        "ii:i",
        "fs.read",
        Partly(
            "WASI `path_filestat_get` in the one directory: the size and whether a file or the directory; the modification time is 0 (unknown): the key-value store keeps none",
        ),
    ),
    e("fs_unlink", "i:i", "fs.write", Shim("as `storage_delete`: WASI `path_unlink_file`")),
    e("fs_mkdir", "i:i", "fs.write", Missing("the app's files are one directory")),
    e("fs_readdir", "iii:i", "fs.read", Partly("as `storage_list`: the one directory")),
    e(
        "rtc_get_unix_time",
        ":i",
        "rtc.read",
        Shim(
            "WASI `clock_time_get` of the realtime clock (part `clock`, which `rtc.read` grants), in seconds; -1 where the board has no wall clock, as AkiraOS answers an RTC not set",
        ),
    ),
    e("rtc_get_uptime_ms", ":i", "rtc.read", RTC_UPTIME),
    e("aiinfer_load", "ii:i", "ai.infer", NO_MODULE),
    e("aiinfer_run", "iiiii:i", "ai.infer", NO_MODULE),
    e("aiinfer_unload", "i:", "ai.infer", NO_MODULE),
    e("matter_commission", "ii:i", "matter", NO_MODULE),
    e("matter_send", "iii:i", "matter", NO_MODULE),
    e("matter_subscribe", "ii:i", "matter", NO_MODULE),
    e("matter_poll", "iiiii:i", "matter", NO_MODULE),
    e("matter_endpoint_add", "iii:i", "matter", NO_MODULE),
    e("matter_report_attr", "iiiii:i", "matter", NO_MODULE),
    e("matter_cmd_poll", "iiiiii:i", "matter", NO_MODULE),
    e("matter_open_pairing", "i:i", "matter", NO_MODULE),
    e("matter_get_pairing", "iiii:i", "matter", NO_MODULE),
    e("mqtt_publish", "iiiii:i", "mqtt", NO_MODULE),
    e("mqtt_subscribe", "i:i", "mqtt", NO_MODULE),
    e("mqtt_poll", "iiiii:i", "mqtt", NO_MODULE),
    e("mqtt_connected", ":i", "mqtt", NO_MODULE),
    e("ha_light_register", "ii:i", "mqtt", NO_MODULE),
    e("ha_light_report", "iiiiii:i", "mqtt", NO_MODULE),
    e("ha_light_poll", "iiiiiii:i", "mqtt", NO_MODULE),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_import_is_listed_once() {
        for (n, i) in IMPORTS.iter().enumerate() {
            assert!(IMPORTS[n + 1..].iter().all(|j| j.name != i.name), "{} listed twice", i.name);
        }
        assert_eq!(IMPORTS.len(), 218, "the header's 130 imports and the later header's 88");
    }
}
