//! What several targets share: the simulated board's runtime without
//! `akira:net` (the host's real sockets), over a broker and an app table
//! made once per process, as on a device (statics: nothing leaks per run).

use akira_bridge::{AppModule, BleModule, Bridge, IpcBroker, IpcModule, RfModule};
use akira_caps::Policy;
use akira_sandbox::Runtime;
use akira_sim::{SimApps, SimBoard};
use wasm_encoder::ValType;

static BROKER: IpcBroker = IpcBroker::new();
pub static APPS: SimApps = SimApps::new();

/// A fresh runtime under the development policy.
pub fn runtime() -> Runtime<SimBoard> {
    let mut bridge = Bridge::with_all();
    let _ = bridge.register(RfModule);
    let _ = bridge.register(BleModule);
    let _ = bridge.register(IpcModule::new(&BROKER));
    let _ = bridge.register(AppModule::new(&APPS));
    Runtime::new(akira_sim::config(), bridge, Policy::development())
}

/// A bridge value type as wasm-encoder's.
pub fn val(t: akira_caps::ValType) -> ValType {
    match t.name() {
        "i32" => ValType::I32,
        "i64" => ValType::I64,
        "f32" => ValType::F32,
        _ => ValType::F64,
    }
}
