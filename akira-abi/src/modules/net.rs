//! `akira:net`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, I64, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:net` module.
pub static NET: Module = Module {
    name: "net",
    import: "akira:net",
    capability: "net",
    scope: r#"endpoints"#,
    doc: r#"TCP and UDP client sockets to the endpoints the manifest lists
(`net = ["api.example.com:443", "10.0.0.2:5683"]`). An app names an
endpoint by its **index in that list**, so `connect` checks it with one
bit test, before anything is opened; the host name is the one granted
(copied when the app was installed, resolved by the firmware), never a
string the app passes, so no call compares strings. The port is the
endpoint's; an endpoint with port 0 (`"host:0"`, which only a permissive
device policy grants) lets the app choose. A manifest endpoint whose host
is `*` names no host: `connect` returns `AKIRA_EINVAL`. A socket id is
private to the app that opened it (another app's id is `AKIRA_EINVAL`).
Connecting, sending and receiving suspend the app while they wait;
`timeout_us` bounds the wait (`< 0` none, `0` do not wait). A restarted
app's sockets are closed by the firmware. Buffers are at most 4096 bytes
(`AKIRA_E2BIG`)."#,
    functions: &[
        Function {
            name: "connect",
            params: &[
                Param::new("endpoint", I32),
                Param::new("transport", I32),
                Param::new("port", I32),
                Param::new("timeout_us", I64),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(500),
            #[cfg(feature = "docs")]
            doc: r#"`connect(endpoint, transport, port, timeout_us)`: opens a socket to the endpoint, `transport` 0 for TCP, 1 for UDP (a socket that sends datagrams to, and receives them from, that one peer); `port` 0 for the endpoint's port (another port is `AKIRA_EDENIED` unless the endpoint's is 0). Suspends until connected. `AKIRA_ENORES` when the host does not resolve or refuses, `AKIRA_EBUSY` when the app already holds its share of the firmware's sockets (`sockets` in its manifest's `net`; the denial is counted against `net`) or the firmware has no free socket. Returns the socket id."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "send",
            params: &[
                Param::new("socket", I32),
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("len", U32),
                Param::new("timeout_us", I64),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(100, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`send(socket, ptr, len, timeout_us)`: queues as many of the bytes as the socket takes (for UDP, one datagram); if none, suspends until it takes some. Returns the number queued."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "receive",
            params: &[
                Param::new("socket", I32),
                Param::new("buf", Ptr(Pointee::Void)),
                Param::new("len", U32),
                Param::new("timeout_us", I64),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(100, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`receive(socket, ptr, cap, timeout_us)`: takes received bytes (for UDP, one datagram, cut to `cap`); if none have arrived, suspends until some do. Returns the number taken; 0 when the peer closed the connection. `AKIRA_EIO` for a reset connection."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "close",
            params: &[Param::new("socket", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(100),
            #[cfg(feature = "docs")]
            doc: r#"`close(socket)`: closes the socket; its id is free again. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[
        CItem::Text(
            r#"/* endpoint: index into the app's `net` list; transport: AKIRA_NET_TCP or
 * AKIRA_NET_UDP (UDP to that one peer); port 0: the endpoint's own.
 * connect returns a socket id; the others suspend the app until bytes
 * move (timeout_us < 0: no timeout; 0: do not wait); receive returns 0
 * when the peer closed the connection. */"#,
        ),
        CItem::Define { name: "AKIRA_NET_TCP", value: "0", comment: r#""# },
        CItem::Define { name: "AKIRA_NET_UDP", value: "1", comment: r#""# },
        CItem::Import("connect"),
        CItem::Import("send"),
        CItem::Import("receive"),
        CItem::Import("close"),
    ],
};
