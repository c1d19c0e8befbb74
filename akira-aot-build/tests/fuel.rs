//! The fuel instrumentation, run under wasmi: what a device's compiled
//! code does with the counter, the interpreter does with the same wasm.

use akira_aot_build::fuel::{FUEL_EXPORT, instrument};
use wasmi::{Engine, Linker, Module, Store};

fn run(wat: &str, fuel: i32, arg: i32) -> (Result<i32, wasmi::Error>, i32) {
    let wasm = instrument(&wat::parse_str(wat).unwrap()).unwrap();
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm[..]).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module).unwrap();
    let counter = instance.get_global(&store, FUEL_EXPORT).unwrap();
    counter.set(&mut store, fuel.into()).unwrap();
    let f = instance.get_typed_func::<i32, i32>(&store, "f").unwrap();
    let result = f.call(&mut store, arg);
    let left = counter.get(&store).i32().unwrap();
    (result, left)
}

const COUNT_DOWN: &str = r#"(module
  (global $other (mut i32) (i32.const 7))
  (func (export "f") (param $n i32) (result i32)
    (loop $l (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))
    (global.get $other)))"#;

#[test]
fn each_entry_and_loop_iteration_costs_one_unit() {
    // One entry and ten iterations.
    let (result, left) = run(COUNT_DOWN, 100, 10);
    assert_eq!(result.unwrap(), 7, "the module's own global is untouched");
    assert_eq!(left, 89);
}

#[test]
fn exhausted_fuel_traps_and_leaves_the_counter_negative() {
    let (result, left) = run(COUNT_DOWN, 5, 10);
    assert!(result.is_err());
    assert_eq!(left, -1);
}

#[test]
fn modules_without_globals_or_exports_get_both_sections() {
    let (result, left) = run(r#"(module (func (export "f") (param i32) (result i32) (local.get 0)))"#, 3, 42);
    assert_eq!(result.unwrap(), 42);
    assert_eq!(left, 2);
}
