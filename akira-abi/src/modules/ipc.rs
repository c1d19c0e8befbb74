//! `akira:ipc`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, I64, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:ipc` module.
pub static IPC: Module = Module {
    name: "ipc",
    import: "akira:ipc",
    capability: "ipc",
    scope: r#"publish and subscribe topics"#,
    doc: r#"Publish/subscribe between apps. The manifest names topics
(`ipc = { publish = ["weather/temp"], subscribe = ["ui/refresh"] }`); an
app names a topic by its **index in its own list** (`publish` for
`publish`, `subscribe` for `subscribe`/`unsubscribe`), so each call checks
it with one bit test; an index beyond the list is `AKIRA_EDENIED`. The
firmware turns the names into its broker's topic ids once, when the app is
installed, so two apps that list the same name meet on one topic, in
whatever position each lists it. The broker is shared by all apps: each
app has a mailbox, a bounded queue of fixed-size message slots (the
firmware chooses how many and how large; the simulator and the default
`IpcBroker` keep 4 messages of at most 64 bytes). Messages are copied,
never shared; an app receives messages published after it subscribed,
including its own on a topic it also subscribes to. A restarted app starts
with an empty mailbox and no subscriptions. A slow subscriber never blocks
the others: when its mailbox is full, a new message replaces its oldest
one, and the loss is counted for it (`lost`)."#,
    functions: &[
        Function {
            name: "publish",
            params: &[Param::new("topic", I32), Param::new("data", Ptr(Pointee::ConstVoid)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`publish(topic, ptr, len)`: copies the `len` bytes into the mailbox of every app subscribed to the topic. A full mailbox drops its oldest message to take it (the subscriber sees the count with `lost`): a sender never waits for, nor is refused by, a slow receiver. `len` beyond the firmware's message size is `AKIRA_E2BIG`. Returns the number of subscribers reached (0 when none)."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Topics are indices into the app's own `publish` / `subscribe` lists in
Akira.toml. publish returns the number of subscribers reached (a full
mailbox drops its oldest message: see lost). receive suspends
the app until a message arrives (timeout_us < 0: no timeout; 0: do not
wait) and returns topic << 16 | length: see AKIRA_IPC_TOPIC / _LEN."#,
        },
        Function {
            name: "subscribe",
            params: &[Param::new("topic", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`subscribe(topic)`: starts delivering the topic to this app's mailbox. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "unsubscribe",
            params: &[Param::new("topic", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`unsubscribe(topic)`: stops it (messages already queued stay). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "receive",
            params: &[Param::new("buf", Ptr(Pointee::Void)), Param::new("cap", U32), Param::new("timeout_us", I64)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`receive(ptr, cap, timeout_us)`: takes the oldest message in the mailbox into `ptr`; if there is none, suspends the app until one arrives or `timeout_us` passes (`AKIRA_ETIMEDOUT`; `< 0` no timeout, `0` do not wait). A message longer than `cap` is `AKIRA_E2BIG` and stays queued. Returns `topic << 16 \| len`, `topic` being the index in the app's `subscribe` list."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "pending",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"`pending()`: messages waiting in the app's mailbox."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "lost",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"`lost()`: messages dropped from the app's mailbox (oldest first, to make room for newer ones) since the last call, which resets the count."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Messages dropped from the app's full mailbox since the last call."#,
        },
    ],
    c_items: &[
        CItem::Import("publish"),
        CItem::Import("subscribe"),
        CItem::Import("unsubscribe"),
        CItem::Import("receive"),
        CItem::Import("pending"),
        CItem::Import("lost"),
        CItem::Text(
            r#"#define AKIRA_IPC_TOPIC(received) ((int32_t)(received) >> 16)
#define AKIRA_IPC_LEN(received) ((int32_t)(received) & 0xffff)"#,
        ),
    ],
};
