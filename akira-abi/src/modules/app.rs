//! `akira:app`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::I32;
use crate::{CItem, Cost, Function, Module, Param};

/// The `akira:app` module.
pub static APP: Module = Module {
    name: "app",
    import: "akira:app",
    capability: "app",
    scope: r#"names of controlled apps"#,
    doc: r#"A privileged app (a supervisor, a launcher) queries, starts and stops
other apps. The manifest names the apps it may control
(`app = ["weather", "ui"]`); the app names one by its **index in that
list**, checked with one bit test (an index beyond it is
`AKIRA_EDENIED`; a `*` entry, which only a policy should hold, names no
app: `AKIRA_EINVAL`). A listed app that is not installed is
`AKIRA_ENORES`. `start` and `stop` are applied by the firmware's scheduler
between two rounds, not inside the call: the calling app is suspended
until its request is applied (`AKIRA_ETIMEDOUT` after 1 s if the firmware
does not serve requests; `AKIRA_EBUSY` while another request for the same
app is pending). Stopping drops the app's instance; starting makes a
fresh one (its memory starts anew). An app may stop itself.

| status | meaning |
|---|---|
| 0 | running or ready to run |
| 1 | suspended in a wait |
| 2 | stopped by `stop` |
| 3 | exited |
| 4 | stopped by a fault (not restarted, crash loop, restart failed) |
| 5 | faulted, restarting after its backoff |"#,
    functions: &[
        Function {
            name: "status",
            params: &[Param::new("app", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`status(app)`: the listed app's status, from the table above."#,
            #[cfg(feature = "docs")]
            c_doc: r#"app: index into the app's `app` list. status: 0 running, 1 waiting,
2 stopped, 3 exited, 4 failed, 5 restarting. start and stop suspend the
caller until the firmware has applied them, then return 0."#,
        },
        Function {
            name: "start",
            params: &[Param::new("app", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(200),
            #[cfg(feature = "docs")]
            doc: r#"`start(app)`: starts the listed app afresh unless it is running, waiting or restarting. Suspends until done; returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "stop",
            params: &[Param::new("app", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(200),
            #[cfg(feature = "docs")]
            doc: r#"`stop(app)`: stops the listed app until it is started again. Suspends until done; returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[CItem::Import("status"), CItem::Import("start"), CItem::Import("stop")],
};
