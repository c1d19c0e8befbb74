//! `akira:rf`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, I64, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:rf` module.
pub static RF: Module = Module {
    name: "rf",
    import: "akira:rf",
    capability: "rf",
    scope: r#""#,
    doc: r#"LoRa on the board's sub-GHz radio. The manifest grants frequency bands,
a transmit power cap and a duty cycle
(`rf = { bands = [[863000000, 870000000]], max-power-dbm = 14, duty-cycle-permille = 10 }`;
the duty cycle defaults to 10 ‰, 1 % of airtime over a rolling hour, the
EU868 g1 sub-band rule). `configure` and every `send` check the
frequency against the bands and the power against the cap (`AKIRA_EDENIED`);
`send` then charges the packet's time on air (Semtech's formula, AN1200.13)
to the app's duty cycle, kept over the last hour in five-minute buckets,
and refuses a packet that would exceed it with `AKIRA_ENOSPC` (not a
denial: the app may send once older packets leave the hour). A refused
call never reaches the radio. Packets carry an explicit header and a CRC
after an 8-symbol preamble; payloads are at most 255 bytes (`AKIRA_E2BIG`).
`send` and `receive` suspend the app while the radio works (it is shared:
apps' jobs run one after the other, and a `receive` listening when another
app sends stands aside for the send and then listens again; while another
app's `receive` waits, a listening `receive` keeps the radio for a window
of one second plus the time on air of a packet of its length, then stands
aside and listens again after it. So an app listening without a timeout
never keeps the others from sending or listening; a `receive`'s timeout
counts from the call, waiting turns included); a
`send` not done within its time on
air plus one second ends with `AKIRA_ETIMEDOUT`. `send` or `receive`
before `configure` is `AKIRA_EINVAL`; driver errors are `AKIRA_EIO`."#,
    functions: &[
        Function {
            name: "configure",
            params: &[
                Param::new("frequency_hz", U32),
                Param::new("spreading_factor", I32),
                Param::new("bandwidth_hz", U32),
                Param::new("coding_rate", I32),
                Param::new("power_dbm", I32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(100),
            #[cfg(feature = "docs")]
            doc: r#"`configure(frequency_hz, spreading_factor, bandwidth_hz, coding_rate, power_dbm)`: the app's LoRa settings for its later sends and receives. Spreading factor 7–12, bandwidth one of 7810, 10420, 15630, 20830, 31250, 41670, 62500, 125000, 250000, 500000 Hz, coding rate 5–8 (4/5 to 4/8), else `AKIRA_EINVAL`. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"LoRa settings: frequency in Hz, spreading factor 7-12, bandwidth in Hz
(7810 ... 500000), coding rate 5-8 (4/5 ... 4/8), power in dBm."#,
        },
        Function {
            name: "send",
            params: &[Param::new("data", Ptr(Pointee::ConstVoid)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(100, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`send(ptr, len)`: transmits the `len` bytes at `ptr` as one packet, suspending until it is sent. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Suspends until sent; AKIRA_ENOSPC when the duty cycle is spent."#,
        },
        Function {
            name: "receive",
            params: &[Param::new("buf", Ptr(Pointee::Void)), Param::new("len", U32), Param::new("timeout_us", I64)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(100, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`receive(ptr, len, timeout_us)`: listens until a packet arrives or `timeout_us` passes (`AKIRA_ETIMEDOUT`; `< 0` no timeout, `0` at once); copies up to `len` bytes of it to `ptr`. Returns the number of bytes copied."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Suspends until a packet arrives; returns its length."#,
        },
        Function {
            name: "last_packet",
            params: &[Param::new("rssi_snr", Ptr(Pointee::I16))],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"`last_packet(ptr)`: writes the RSSI (dBm) and SNR (dB) of the last packet the app received at `ptr`, as two little-endian `i16`. Returns 1, or 0 (nothing written) before the first packet."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Writes int16_t rssi_dbm, snr_db; returns 1, or 0 before any packet."#,
        },
        Function {
            name: "airtime_left",
            params: &[],
            result: Ret::I64,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"`airtime_left()`: microseconds of airtime the app may still use in the rolling hour."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[
        CItem::Import("configure"),
        CItem::Import("send"),
        CItem::Import("receive"),
        CItem::Import("last_packet"),
        CItem::Import("airtime_left"),
    ],
};
