//! A product team's own bridge module, in the vendor namespace, linked
//! beside the built-in ones and guarded by resource id.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use akira_sandbox::akira_bridge::host::{Caller, Linker};
use akira_sandbox::akira_bridge::{
    AppInfo, AppState, Board, Bridge, Errno, HostModule, Instant, Level, LinkContext, LinkError, Log, reply,
};
use akira_sandbox::akira_caps::scope::VendorScope;
use akira_sandbox::akira_caps::{FnSpec, ModuleCapability, ModuleSpec, Param, Policy, Ret, Type};
use akira_sandbox::{LoadError, Runtime, RuntimeConfig, Step};
use common::{manifest, wasm};

trait Valves {
    fn set_valve(&mut self, valve: u32, open: bool) -> Result<(), Errno>;
    /// App `app` stopped: its valves close.
    fn close_all(&mut self, app: u16);
}

static VALVE: ModuleSpec = ModuleSpec {
    import: "acme:valve",
    capability: ModuleCapability::Vendor("acme:valve"),
    functions: &[FnSpec::new(
        "set",
        &[Param::new("valve", Type::U32), Param::new("open", Type::I32)],
        Ret::I32,
        "set(valve, open)",
    )],
};

struct ValveModule;

impl<B: Board + Valves> HostModule<B> for ValveModule {
    fn spec(&self) -> &'static ModuleSpec {
        &VALVE
    }
    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        let slot = cx.vendor_slot("acme:valve")?;
        akira_sandbox::akira_bridge::host_fn!(
            linker,
            VALVE,
            "set",
            move |c: Caller<'_, AppState<B>>, valve: u32, open: u32| {
                let state = c.data_mut();
                reply(state.guarded(|g| g.vendor(slot, valve)).and_then(|()| {
                    state.board_mut().set_valve(valve, open != 0)?;
                    Ok(0)
                }))
            }
        )?;
        Ok(())
    }
    fn app_stopped(&self, board: &mut B, app: u16) {
        board.close_all(app);
    }
}

#[derive(Clone, Default)]
struct Plant(Rc<RefCell<[bool; 4]>>, Rc<RefCell<Vec<u16>>>);

impl Board for Plant {
    fn now(&self) -> Instant {
        Instant::ZERO
    }
    fn log(&mut self, _: &AppInfo, _: Level, _: &str) {}
}

impl Valves for Plant {
    fn set_valve(&mut self, valve: u32, open: bool) -> Result<(), Errno> {
        *self.0.borrow_mut().get_mut(valve as usize).ok_or(Errno::NoSuchResource)? = open;
        Ok(())
    }
    fn close_all(&mut self, app: u16) {
        *self.0.borrow_mut() = [false; 4];
        self.1.borrow_mut().push(app);
    }
}

fn runtime(policy: Policy) -> Runtime<Plant> {
    let bridge = Bridge::new().with(Log).unwrap().with(ValveModule).unwrap();
    Runtime::new(RuntimeConfig::default(), bridge, policy)
}

fn valve_policy() -> Policy {
    let mut policy = Policy::development();
    policy
        .allow
        .vendor
        .push(VendorScope { name: "acme:valve".try_into().unwrap(), ids: [0, 1, 2].into_iter().collect() })
        .unwrap();
    policy
}

const APP: &str = r#"(module
    (import "acme:valve" "set" (func $set (param i32 i32) (result i32)))
    (func (export "akira_main") (result i32)
        ;; valve 1 is granted, valve 2 is not (though the policy would allow it)
        (i32.add (i32.mul (call $set (i32.const 1) (i32.const 1)) (i32.const 100))
                 (call $set (i32.const 2) (i32.const 1)))))"#;

fn valve_manifest(ids: &[u32]) -> akira_sandbox::akira_caps::Manifest {
    manifest("irrigate", |m| {
        m.capabilities
            .vendor
            .push(VendorScope { name: "acme:valve".try_into().unwrap(), ids: ids.iter().copied().collect() })
            .unwrap();
    })
}

#[test]
fn vendor_module_is_linked_and_guarded_by_id() {
    let rt = runtime(valve_policy());
    let app = rt.load(&wasm(APP, Some(&valve_manifest(&[1])))).unwrap();
    let plant = Plant::default();
    let mut i = rt.instantiate(&app, 0, plant.clone()).unwrap();
    assert_eq!(i.step(), Step::Exited(Errno::Denied.code()), "0 * 100 + (-1)");
    assert_eq!(*plant.0.borrow(), [false, true, false, false]);
    let slot = i.state().guard().grants().vendor_slot("acme:valve").unwrap();
    assert_eq!(i.state().guard().vendor_denials(slot), 1);
}

#[test]
fn vendor_capability_must_be_declared_and_allowed() {
    // Not declared: the import is refused at install.
    let err = runtime(valve_policy()).load(&wasm(APP, Some(&manifest("irrigate", |_| {})))).unwrap_err();
    assert_eq!(err.to_string(), "refused import `acme:valve.set`: capability `acme:valve` is not granted to this app");
    // Declared beyond the policy: refused by name.
    let err = runtime(valve_policy()).load(&wasm(APP, Some(&valve_manifest(&[3])))).unwrap_err();
    assert!(matches!(err, LoadError::Grant(_)));
    assert_eq!(err.to_string(), "not granted: capability `acme:valve`: id 3 is not allowed by the device policy");
    // The development policy lists no vendor capabilities.
    let err = runtime(Policy::development()).load(&wasm(APP, Some(&valve_manifest(&[1])))).unwrap_err();
    assert_eq!(err.to_string(), "not granted: capability `acme:valve` is not allowed by the device policy");
}

#[test]
fn modules_release_what_an_app_held_when_it_exits_faults_or_is_stopped() {
    use akira_sandbox::{RestartPolicy, Scheduler, Status};
    let rt = runtime(valve_policy());
    let opens_then = |end: &str| {
        let wat = format!(
            r#"(module
                (import "acme:valve" "set" (func $set (param i32 i32) (result i32)))
                (func (export "akira_main") (result i32)
                    (drop (call $set (i32.const 1) (i32.const 1)))
                    {end}))"#
        );
        rt.load(&wasm(&wat, Some(&valve_manifest(&[1])))).unwrap()
    };
    let apps = [opens_then("(i32.const 0)"), opens_then("unreachable"), opens_then("(loop $l (br $l)) (i32.const 0)")];
    let mut s = Scheduler::new(rt);
    let mut plants = Vec::new();
    let mut ids = Vec::new();
    for app in apps {
        let plant = Plant::default();
        ids.push(s.spawn(app, plant.clone(), RestartPolicy::never()).unwrap());
        plants.push(plant);
    }
    s.poll(Instant::ZERO, |_, _| {});
    // The first exited and the second trapped: both released; the third
    // runs on with its valve open.
    assert!(matches!(s.status(ids[0]), Some(Status::Exited(0))));
    assert!(matches!(s.status(ids[1]), Some(Status::Failed(_))));
    let released = |p: &Plant| (p.1.borrow().clone(), *p.0.borrow());
    assert_eq!(released(&plants[0]), (vec![ids[0].0], [false; 4]));
    assert_eq!(released(&plants[1]), (vec![ids[1].0], [false; 4]));
    assert_eq!(released(&plants[2]), (vec![], [false, true, false, false]));
    // Stopped by a supervisor: released once, also when removed after.
    assert!(s.stop(ids[2]));
    assert!(s.remove(ids[2]));
    assert!(s.remove(ids[0]));
    assert_eq!(released(&plants[2]), (vec![ids[2].0], [false; 4]));
    assert_eq!(plants[0].1.borrow().len(), 1, "an exited app is not released twice");
}
