//! Trusted-signer mode: `Runtime::load_vouched` compiles a module without
//! validation when the proof covers its exact bytes, and still runs every
//! other install check. Runs with and without the `validate` feature
//! (`cargo test -p akira-sandbox --no-default-features --test vouched`:
//! the firmware configuration without the validator).

use std::cell::RefCell;
use std::rc::Rc;

use akira_sandbox::akira_bridge::{AppInfo, Board, Bridge, Instant, Level, Log};
use akira_sandbox::akira_caps::{GrantError, Manifest, Policy, Version, VouchedWasm, manifest::AppName};
use akira_sandbox::{LoadError, Runtime, RuntimeConfig, Step};

#[derive(Clone, Default)]
struct Console(Rc<RefCell<Vec<String>>>);

impl Board for Console {
    fn now(&self) -> Instant {
        Instant::ZERO
    }
    fn log(&mut self, app: &AppInfo, _: Level, message: &str) {
        self.0.borrow_mut().push(format!("{}: {message}", app.name));
    }
}

/// A proof for exactly these bytes, as `akira-ota`'s `Vouched` is (which
/// compares SHA-256 digests).
struct Exactly(Vec<u8>);

// SAFETY: the tests vouch only for modules `wat` produced, which are valid.
unsafe impl VouchedWasm for Exactly {
    fn covers(&self, wasm: &[u8]) -> bool {
        wasm == self.0
    }
}

/// Logs "hello" and exits with 7; its memory is 4 KiB of 1-byte pages
/// (custom page sizes, as Akira's apps use).
const HELLO: &str = r#"(module
    (import "akira:log" "write" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 4096 (pagesize 1))
    (data (i32.const 0) "hello")
    (func (export "akira_main") (result i32)
        (drop (call $log (i32.const 2) (i32.const 0) (i32.const 5)))
        (i32.const 7)))"#;

fn app(wat: &str, manifest: &Manifest) -> Vec<u8> {
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());
    wasm
}

fn hello_manifest() -> Manifest {
    let mut m = Manifest::new(AppName::try_from("hello").unwrap(), Version::new(1, 0, 0));
    m.capabilities.log = true;
    m.memory_limit = 8 * 1024;
    m
}

fn runtime() -> Runtime<Console> {
    Runtime::new(RuntimeConfig::default(), Bridge::new().with(Log).unwrap(), Policy::development())
}

#[test]
fn a_vouched_module_loads_and_runs_without_validation() {
    let rt = runtime();
    let wasm = app(HELLO, &hello_manifest());
    let loaded = rt.load_vouched(&wasm, &Exactly(wasm.clone()), &Policy::development()).unwrap();
    assert_eq!(loaded.manifest(), &hello_manifest());
    let board = Console::default();
    let mut instance = rt.instantiate(&loaded, 0, board.clone()).unwrap();
    assert_eq!(instance.step(), Step::Exited(7));
    assert_eq!(board.0.borrow().as_slice(), ["hello: hello"]);
}

#[test]
fn the_proof_must_cover_the_exact_bytes() {
    let rt = runtime();
    let wasm = app(HELLO, &hello_manifest());
    let mut other = wasm.clone();
    *other.last_mut().unwrap() ^= 1;
    let err = rt.load_vouched(&wasm, &Exactly(other), &Policy::development()).unwrap_err();
    assert_eq!(err, LoadError::NotVouched);
    assert_eq!(err.to_string(), "the trusted signer's proof is not for these bytes");
}

#[test]
fn every_other_install_check_still_runs() {
    let rt = runtime();
    // The grant is the signer's policy's: no log capability there.
    let wasm = app(HELLO, &hello_manifest());
    let mut no_log = Policy::development();
    no_log.allow.log = false;
    let err = rt.load_vouched(&wasm, &Exactly(wasm.clone()), &no_log).unwrap_err();
    assert!(matches!(&err, LoadError::Grant(e) if matches!(**e, GrantError::BeyondPolicy(_))), "{err:?}");
    // The import check: log imported but not declared.
    let undeclared = app(HELLO, &Manifest::new(AppName::try_from("hello").unwrap(), Version::new(1, 0, 0)));
    let err = rt.load_vouched(&undeclared, &Exactly(undeclared.clone()), &Policy::development()).unwrap_err();
    assert!(matches!(err, LoadError::Import(_)), "{err:?}");
    // The entry point, and the size limit.
    let no_entry = app("(module)", &hello_manifest());
    let err = rt.load_vouched(&no_entry, &Exactly(no_entry.clone()), &Policy::development()).unwrap_err();
    assert_eq!(err, LoadError::NoEntry);
    let small = Runtime::new(
        RuntimeConfig { max_module_bytes: 16, ..RuntimeConfig::default() },
        Bridge::<Console>::new().with(Log).unwrap(),
        Policy::development(),
    );
    let err = small.load_vouched(&wasm, &Exactly(wasm.clone()), &Policy::development()).unwrap_err();
    assert!(matches!(err, LoadError::TooLarge { .. }), "{err:?}");
}
