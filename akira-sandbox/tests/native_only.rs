//! A firmware without the interpreter (`--no-default-features --features
//! aot`): apps load from the native code their wasm carries, checked as
//! the interpreter checks the wasm (manifest, grants, imports against the
//! bridge's specs, entry point, memory limit), and run only with native
//! code from a signer trusted with it. On this host nothing native runs:
//! instantiating says so. (QEMU runs the native-only firmware end to end:
//! examples/qemu-mps2-an386's `native` configuration.)
#![cfg(all(feature = "aot", not(feature = "wasmi")))]

use akira_aot::format::write::{BlobSpec, ExportSpec, ImportSpec};
use akira_aot::format::{Arch, ImportKind, ValType};
use akira_bridge::{AppInfo, Board, Bridge, Edge, Edges, Errno, Gpio, Instant, Level, PinMode};
use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Policy, Version};
use akira_sandbox::{LoadError, LoadedApp, Runtime, RuntimeConfig};

#[derive(Clone, Default)]
struct Pins;

impl Board for Pins {
    fn now(&self) -> Instant {
        Instant::from_micros(0)
    }
    fn log(&mut self, _: &AppInfo, _: Level, _: &str) {}
}

impl Gpio for Pins {
    fn configure(&mut self, _: u32, _: PinMode) -> Result<(), Errno> {
        Ok(())
    }
    fn read(&mut self, _: u32) -> Result<bool, Errno> {
        Ok(false)
    }
    fn write(&mut self, _: u32, _: bool) -> Result<(), Errno> {
        Ok(())
    }
    fn toggle(&mut self, _: u32) -> Result<bool, Errno> {
        Ok(false)
    }
    fn take_edge(&mut self, _: u32, _: Edges) -> Result<Option<Edge>, Errno> {
        Ok(None)
    }
}

fn runtime() -> Runtime<Pins> {
    Runtime::new(RuntimeConfig::default(), Bridge::with_builtins(), Policy::development())
}

/// `gpio.write(pin, level) -> i32`, or with `params` instead.
fn gpio_write(params: Vec<ValType>) -> ImportSpec {
    ImportSpec {
        kind: ImportKind::WasmFunction,
        module: "akira:gpio".into(),
        name: "write".into(),
        params,
        results: vec![ValType::I32],
    }
}

/// A blob importing `imports`, exporting `export` (`akira_main`: `bx lr`).
fn blob(imports: Vec<ImportSpec>, export: &str) -> Vec<u8> {
    BlobSpec {
        arch: Arch::ThumbV7em,
        image: vec![0x70, 0x47, 0x00, 0xbf],
        bss_len: 0,
        image_align: 4,
        stack_bound: 64,
        max_call_depth: 1,
        instantiate: 1,
        relocs: vec![],
        imports,
        exports: vec![ExportSpec { name: export.into(), entry: 1, params: vec![], results: vec![] }],
    }
    .to_bytes()
}

/// A manifest granting output pin 2 when `gpio`, with `memory_limit`.
fn manifest(gpio: bool, memory_limit: u32) -> Manifest {
    let mut m = Manifest::new(AppName::try_from("native").unwrap(), Version::new(1, 0, 0));
    if gpio {
        m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    }
    m.memory_limit = memory_limit;
    m
}

/// A custom section `name` holding `data`.
fn section(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let mut out = vec![0];
    let mut len = body.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        out.push(if len == 0 { byte } else { byte | 0x80 });
        if len == 0 {
            break;
        }
    }
    out.extend(body);
    out
}

/// A module with `pages` pages of 64 KiB, the manifest and the blob.
fn app_wasm(pages: u32, manifest: &Manifest, blob: Option<&[u8]>) -> Vec<u8> {
    let mut wasm = wat::parse_str(format!("(module (memory (export \"memory\") {pages}))")).unwrap();
    wasm.extend(manifest.custom_section());
    if let Some(blob) = blob {
        wasm.extend(section("akira.aot", blob));
    }
    wasm
}

fn load(wasm: &[u8]) -> Result<LoadedApp, LoadError> {
    // SAFETY: without the interpreter nothing is compiled from the wasm;
    // the loader only walks its sections.
    unsafe { runtime().load_unchecked(wasm) }
}

#[test]
fn apps_load_from_their_native_code_and_run_only_with_a_trusted_signers() {
    const { assert!(!Runtime::<Pins>::INTERPRETS) };
    let native = blob(vec![gpio_write(vec![ValType::I32, ValType::I32])], "akira_main");
    let app = load(&app_wasm(1, &manifest(true, 65536), Some(&native))).unwrap();
    assert_eq!(app.manifest().name.as_str(), "native");
    assert!(!app.has_native_code(), "not until a trusted signer's code is given");
    assert_eq!(runtime().instantiate(&app, 1, Pins).err(), Some(LoadError::NeedsNativeCode));
    let other = blob(vec![], "akira_main");
    assert!(app.clone().with_native_code(&other).is_err(), "only the code the app carries");
    let app = app.with_native_code(&native).unwrap();
    assert!(app.has_native_code());
    match runtime().instantiate(&app, 1, Pins) {
        Err(LoadError::Instantiate(why)) => assert!(why.contains("CPU"), "{why}"),
        other => panic!("native code ran on the host: {:?}", other.err()),
    }
}

#[test]
fn an_app_without_native_code_is_refused() {
    assert_eq!(load(&app_wasm(1, &manifest(true, 65536), None)).err(), Some(LoadError::NeedsNativeCode));
}

#[test]
fn native_imports_are_checked_as_the_interpreter_checks_wasm_imports() {
    let write = blob(vec![gpio_write(vec![ValType::I32, ValType::I32])], "akira_main");
    let ungranted = load(&app_wasm(1, &manifest(false, 65536), Some(&write)));
    assert!(matches!(ungranted, Err(LoadError::Import(_))), "{ungranted:?}");
    let mistyped = blob(vec![gpio_write(vec![ValType::I64, ValType::I32])], "akira_main");
    let mistyped = load(&app_wasm(1, &manifest(true, 65536), Some(&mistyped)));
    assert!(matches!(mistyped, Err(LoadError::Import(_))), "{mistyped:?}");
}

#[test]
fn the_entry_point_memory_limit_and_manifest_are_checked() {
    let no_entry = blob(vec![], "main");
    assert_eq!(load(&app_wasm(1, &manifest(true, 65536), Some(&no_entry))).err(), Some(LoadError::NoEntry));
    let native = blob(vec![], "akira_main");
    let too_big = load(&app_wasm(2, &manifest(true, 65536), Some(&native)));
    assert_eq!(too_big.err(), Some(LoadError::MemoryLimit { declared: 131072, limit: 65536 }));
    let mut twice = app_wasm(1, &manifest(true, 65536), Some(&native));
    twice.extend(manifest(true, 65536).custom_section());
    assert_eq!(load(&twice).err(), Some(LoadError::DuplicateManifest));
    let mut truncated = app_wasm(1, &manifest(true, 65536), Some(&native));
    truncated.pop();
    assert!(matches!(load(&truncated), Err(LoadError::InvalidWasm(_))));
}
