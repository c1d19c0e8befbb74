//! Install-time checks: deny by default, named refusals, limits.

mod common;

use akira_sandbox::akira_caps::scope::GpioScope;
use akira_sandbox::akira_caps::{GrantError, ImportError, ManifestError, Policy};
use akira_sandbox::{LoadError, RuntimeConfig};
use common::*;

const LOG_APP: &str = r#"(module
    (import "akira:log" "write" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "hi")
    (func (export "akira_main") (drop (call $log (i32.const 2) (i32.const 0) (i32.const 2)))))"#;

#[test]
fn no_manifest_links_nothing() {
    let rt = runtime();
    let err = rt.load(&wasm(LOG_APP, None)).unwrap_err();
    assert_eq!(err.to_string(), "refused import `akira:log.write`: capability `log` is not granted to this app");
    // A module that imports nothing may run without a manifest, granted
    // nothing.
    let app = rt.load(&wasm(r#"(module (func (export "akira_main")))"#, None)).unwrap();
    assert!(app.grants().modules().is_empty());
    assert_eq!(app.manifest().name, "unnamed");
}

#[test]
fn declared_capability_links() {
    let m = manifest("logger", |m| m.capabilities.log = true);
    let app = runtime().load(&wasm(LOG_APP, Some(&m))).unwrap();
    assert_eq!(app.manifest().name, "logger");
}

#[test]
fn undeclared_import_is_rejected_and_named() {
    let m = manifest("app", |m| m.capabilities.log = true);
    let cases = [
        (r#"(import "env" "blink" (func))"#, "refused import `env.blink`: no bridge module is called `env`"),
        (
            r#"(import "akira:gpio" "write" (func (param i32 i32) (result i32)))"#,
            "refused import `akira:gpio.write`: capability `gpio` is not granted to this app",
        ),
        (
            r#"(import "akira:log" "shout" (func))"#,
            "refused import `akira:log.shout`: module `akira:log` has no function `shout`",
        ),
        (
            r#"(import "akira:log" "write" (func (param i32) (result i32)))"#,
            "refused import `akira:log.write`: signature does not match the ABI",
        ),
        (r#"(import "akira:log" "mem" (memory 1))"#, "refused import `akira:log.mem`: apps may only import functions"),
    ];
    for (import, message) in cases {
        let wat = format!(r#"(module {import} (func (export "akira_main")))"#);
        let err = runtime().load(&wasm(&wat, Some(&m))).unwrap_err();
        assert!(matches!(err, LoadError::Import(_)), "{err:?}");
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn unknown_capability_is_an_error() {
    // A manifest whose capability list names "lidar": build it by hand, as
    // a newer or hostile packer would.
    let m = manifest("app", |m| m.capabilities.log = true);
    let mut section = m.custom_section();
    // Rename "log" to "lid" in place (same length keeps the section valid).
    let pos = section.windows(4).position(|w| w == b"\x03log").unwrap();
    section[pos + 1..pos + 4].copy_from_slice(b"lid");
    let mut bytes = wat::parse_str(r#"(module (func (export "akira_main")))"#).unwrap();
    bytes.extend_from_slice(&section);
    let err = runtime().load(&bytes).unwrap_err();
    assert!(matches!(err, LoadError::Manifest(ManifestError::UnknownCapability(ref n)) if n == "lid"));
    assert_eq!(err.to_string(), "manifest: unknown capability `lid`");
}

#[test]
fn request_beyond_policy_is_named() {
    let mut policy = Policy::development();
    policy.allow.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    let rt = runtime_with(RuntimeConfig::default(), policy);
    let m = manifest("app", |m| {
        m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2, 3].into_iter().collect(), Default::default()))
    });
    let err = rt.load(&wasm(r#"(module (func (export "akira_main")))"#, Some(&m))).unwrap_err();
    assert!(matches!(err, LoadError::Grant(ref e) if matches!(**e, GrantError::BeyondPolicy(_))));
    assert_eq!(err.to_string(), "not granted: capability `gpio`: output pin 3 is not allowed by the device policy");
}

#[test]
fn a_signer_policy_narrower_than_the_device_policy_wins() {
    let mut signer = Policy::development();
    signer.allow.log = false;
    let m = manifest("logger", |m| m.capabilities.log = true);
    let rt = runtime();
    rt.load(&wasm(LOG_APP, Some(&m))).unwrap();
    let err = rt.load_with_policy(&wasm(LOG_APP, Some(&m)), &signer).unwrap_err();
    assert_eq!(err.to_string(), "not granted: capability `log` is not allowed by the device policy");
}

#[test]
fn duplicate_manifest_is_refused() {
    let m = manifest("app", |_| {});
    let mut bytes = wasm(r#"(module (func (export "akira_main")))"#, Some(&m));
    bytes.extend_from_slice(&m.custom_section());
    assert_eq!(runtime().load(&bytes).unwrap_err(), LoadError::DuplicateManifest);
}

#[test]
fn malformed_wasm_is_refused_with_a_typed_error() {
    let good = wasm(LOG_APP, Some(&manifest("app", |m| m.capabilities.log = true)));
    for cut in [0, 4, 8, 20, good.len() / 2, good.len() - 1] {
        let err = runtime().load(&good[..cut]).unwrap_err();
        // Cutting right after the 8-byte header leaves a valid empty module.
        assert!(
            matches!(err, LoadError::InvalidWasm(_) | LoadError::Manifest(_) | LoadError::NoEntry),
            "cut {cut}: {err:?}"
        );
    }
    assert!(matches!(runtime().load(b"\0asm\x02\0\0\0").unwrap_err(), LoadError::InvalidWasm(_)));
}

#[test]
fn missing_or_mistyped_entry() {
    let m = manifest("app", |_| {});
    for wat in [
        r#"(module)"#,
        r#"(module (func (export "akira_main") (param i32)))"#,
        r#"(module (func (export "akira_main") (result i64) (i64.const 0)))"#,
        r#"(module (global (export "akira_main") i32 (i32.const 0)))"#,
    ] {
        assert_eq!(runtime().load(&wasm(wat, Some(&m))).unwrap_err(), LoadError::NoEntry, "{wat}");
    }
}

#[test]
fn start_functions_are_refused() {
    let m = manifest("app", |_| {});
    let wat = r#"(module (func $s) (start $s) (func (export "akira_main")))"#;
    assert!(matches!(runtime().load(&wasm(wat, Some(&m))).unwrap_err(), LoadError::InvalidWasm(_)));
}

#[test]
fn initial_memory_beyond_the_manifest_limit_is_refused() {
    let m = manifest("bomb", |m| m.memory_limit = 64 * 1024);
    let rt = runtime();
    let app =
        rt.load(&wasm(r#"(module (memory (export "memory") 16) (func (export "akira_main")))"#, Some(&m))).unwrap();
    let err = rt.instantiate(&app, 0, TestBoard::new()).err().unwrap();
    assert_eq!(err, LoadError::MemoryLimit { declared: 16 * 65536, limit: 65536 });
}

#[test]
fn memory_beyond_the_policy_is_refused() {
    let mut policy = Policy::development();
    policy.max_memory = 32 * 1024;
    let rt = runtime_with(RuntimeConfig::default(), policy);
    let m = manifest("app", |m| m.memory_limit = 64 * 1024);
    let err = rt.load(&wasm(r#"(module (func (export "akira_main")))"#, Some(&m))).unwrap_err();
    assert_eq!(err, LoadError::Grant(Box::new(GrantError::Memory { asked: 65536, allowed: 32768 })));
}

#[test]
fn custom_page_sizes_let_an_app_live_in_a_few_kib() {
    let m = manifest("tiny", |m| m.memory_limit = 4096);
    let rt = runtime();
    let app = rt
        .load(&wasm(
            r#"(module (memory (export "memory") 4096 4096 (pagesize 1))
                 (func (export "akira_main") (result i32) (memory.size)))"#,
            Some(&m),
        ))
        .unwrap();
    let mut instance = rt.instantiate(&app, 0, TestBoard::new()).unwrap();
    assert_eq!(instance.step(), akira_sandbox::Step::Exited(4096));
    assert_eq!(instance.state().limits().memory_peak(), 4096);
}

#[test]
fn apps_belong_to_their_runtime() {
    let app = load(r#"(module (func (export "akira_main")))"#, Some(&manifest("app", |_| {})));
    assert_eq!(runtime().instantiate(&app, 0, TestBoard::new()).err(), Some(LoadError::WrongRuntime));
}

#[test]
fn oversized_module_is_refused() {
    let config = RuntimeConfig { max_module_bytes: 16, ..Default::default() };
    let rt = runtime_with(config, Policy::development());
    let err = rt.load(&wasm(LOG_APP, None)).unwrap_err();
    assert!(matches!(err, LoadError::TooLarge { limit: 16, .. }));
}

#[test]
fn import_error_variants_carry_names() {
    let m = manifest("app", |_| {});
    let wat = r#"(module (import "akira:timer" "now_us" (func (result i64))) (func (export "akira_main")))"#;
    match runtime().load(&wasm(wat, Some(&m))).unwrap_err() {
        LoadError::Import(e) => {
            let ImportError::NotGranted { module, name, capability } = *e else { panic!("{e:?}") };
            assert_eq!((module.as_str(), name.as_str(), capability), ("akira:timer", "now_us", "timer"));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn every_specified_function_is_linked_with_its_specified_type() {
    // An app that imports every function of every built-in module, with
    // the signature the spec gives: the install check accepts it, and
    // wasmi's linker (which compares real types) instantiates it.
    use akira_sandbox::akira_caps::ValType;
    use akira_sandbox::akira_caps::scope::I2cScope;
    let rt = runtime_all();
    let name = |t: &ValType| t.name();
    let mut imports = String::new();
    for spec in rt.bridge().specs() {
        for f in spec.functions {
            let params: Vec<_> = f.wasm_params().map(|t| name(&t)).collect();
            let results: Vec<_> = f.result.wasm().iter().map(name).collect();
            imports.push_str(&format!(
                r#"(import "{}" "{}" (func (param {}) (result {})))"#,
                spec.import,
                f.name,
                params.join(" "),
                results.join(" ")
            ));
        }
    }
    let imported: Vec<_> = rt.bridge().specs().iter().map(|s| s.import).collect();
    assert_eq!(
        imported,
        [
            "akira:log",
            "akira:timer",
            "akira:gpio",
            "akira:sys",
            "akira:i2c",
            "akira:spi",
            "akira:uart",
            "akira:pwm",
            "akira:adc",
            "akira:sensor",
            "akira:rng",
            "akira:crypto",
            "akira:storage",
            "akira:ota",
            "akira:display",
            "akira:hid",
        ]
    );
    let m = manifest("all", |m| {
        m.capabilities.log = true;
        m.capabilities.timer = true;
        m.capabilities.sys = true;
        m.capabilities.gpio = Some(Default::default());
        m.capabilities.i2c = Some(I2cScope::default());
        m.capabilities.spi = Some(Default::default());
        m.capabilities.uart = Some(Default::default());
        m.capabilities.pwm = Some(Default::default());
        m.capabilities.adc = Some(Default::default());
        m.capabilities.sensor = Some(Default::default());
        m.capabilities.rng = true;
        m.capabilities.storage = Some(akira_sandbox::akira_caps::scope::StorageScope::with_quota(1024));
        m.capabilities.ota = true;
        m.capabilities.display = Some(Default::default());
        m.capabilities.hid = Some(Default::default());
    });
    let app = rt.load(&wasm(&format!(r#"(module {imports} (func (export "akira_main")))"#), Some(&m))).unwrap();
    rt.instantiate(&app, 0, TestBoard::new()).expect("every import links");
}

#[test]
fn storage_without_its_capability_is_refused_at_install() {
    let rt = runtime_all();
    let wat = r#"(module (import "akira:storage" "get" (func (param i32 i32 i32 i32) (result i32)))
                 (func (export "akira_main")))"#;
    let m = manifest("nosto", |m| m.capabilities.log = true);
    match rt.load(&wasm(wat, Some(&m))).unwrap_err() {
        LoadError::Import(e) => {
            let ImportError::NotGranted { module, capability, .. } = *e else { panic!("{e:?}") };
            assert_eq!((module.as_str(), capability), ("akira:storage", "storage"));
        }
        e => panic!("{e:?}"),
    }
    let m = manifest("sto", |m| {
        m.capabilities.storage = Some(akira_sandbox::akira_caps::scope::StorageScope::with_quota(64))
    });
    rt.load(&wasm(wat, Some(&m))).expect("granted: linked");
}
