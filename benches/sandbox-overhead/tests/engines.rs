//! Every engine runs a kernel to the same checksum, on the same fuel, and
//! the sandbox engines really run it in many slices.
//!
//! The kernel is small so the tests stay quick in unoptimised builds.

use sandbox_overhead::{Engine, run};

/// Adds `i * i` for odd `i` and subtracts even `i`, for `i` in 0..1 000.
const KERNEL: &str = r#"(module
    (memory (export "memory") 1)
    (func (export "akira_main") (result i32)
        (local $i i32) (local $acc i32)
        (loop $l
            (if (i32.and (local.get $i) (i32.const 1))
                (then (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $i)))))
                (else (local.set $acc (i32.sub (local.get $acc) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
        (local.get $acc)))"#;

fn expected() -> i32 {
    (0..1_000i32)
        .fold(0i32, |acc, i| if i & 1 == 1 { acc.wrapping_add(i.wrapping_mul(i)) } else { acc.wrapping_sub(i) })
}

#[test]
fn every_engine_computes_the_same_result() {
    let wasm = wat::parse_str(KERNEL).unwrap();
    for engine in Engine::ALL.into_iter().filter(|e| e.available()) {
        let outcome = run(engine, &wasm, 100).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert_eq!(outcome.result, expected(), "{engine}");
    }
}

#[test]
fn the_sandbox_slices_and_meters_like_raw_wasmi() {
    let wasm = wat::parse_str(KERNEL).unwrap();
    let raw = run(Engine::WasmiFuel, &wasm, 100).unwrap();
    assert!(raw.fuel > 1_000, "fuel is metered: {}", raw.fuel);
    for engine in [Engine::WasmiSliced, Engine::Sandbox, Engine::Scheduler] {
        let sliced = run(engine, &wasm, 100).unwrap();
        assert_eq!(sliced.fuel, raw.fuel, "{engine} uses the same fuel");
        // A slice ends early when its next block costs more than is left.
        let least = raw.fuel.div_ceil(100);
        assert!((least..2 * least).contains(&sliced.slices), "{engine} runs in 100-fuel slices: {}", sliced.slices);
    }
}

#[test]
fn engines_have_names() {
    for engine in Engine::ALL {
        assert_eq!(engine.name().parse::<Engine>(), Ok(engine));
    }
    assert!("wasm4".parse::<Engine>().is_err());
}
