//! The fuel instrumentation, run under wasmi: what a device's compiled
//! code does with the counter, the interpreter does with the same wasm.

use akira_aot_build::fuel::{FUEL_EXPORT, OUT_OF_FUEL_IMPORT, instrument};
use wasmi::{Caller, Engine, Extern, Linker, Module, Store};

/// Runs export `f` of `wat`, instrumented, with `fuel`. Each time the
/// counter runs out, the out-of-fuel import refuels it from `slices`
/// (as the device does between a task's time slices) or, when none are
/// left, traps (as it does in a compute call). Returns the result, the
/// counter left, and how many times the fuel ran out.
fn run_in_slices(wat: &str, fuel: i32, slices: &[i32], arg: i32) -> (Result<i32, wasmi::Error>, i32, usize) {
    let wasm = instrument(&wat::parse_str(wat).unwrap()).unwrap();
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm[..]).unwrap();
    let mut store = Store::new(&engine, (slices.to_vec(), 0usize));
    let mut linker = Linker::<(Vec<i32>, usize)>::new(&engine);
    let (import_module, import_name) = OUT_OF_FUEL_IMPORT;
    linker
        .func_wrap(import_module, import_name, |mut caller: Caller<'_, (Vec<i32>, usize)>| {
            let counter = caller.get_export(FUEL_EXPORT).and_then(Extern::into_global).unwrap();
            assert!(counter.get(&caller).i32().unwrap() < 0, "called only when the counter ran out");
            caller.data_mut().1 += 1;
            let (slices, used) = caller.data().clone();
            match slices.get(used - 1) {
                Some(&next) => {
                    counter.set(&mut caller, next.into()).unwrap();
                    Ok(())
                }
                None => Err(wasmi::Error::new("out of fuel")),
            }
        })
        .unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let counter = instance.get_global(&store, FUEL_EXPORT).unwrap();
    counter.set(&mut store, fuel.into()).unwrap();
    let f = instance.get_typed_func::<i32, i32>(&store, "f").unwrap();
    let result = f.call(&mut store, arg);
    let left = counter.get(&store).i32().unwrap();
    (result, left, store.data().1)
}

fn run(wat: &str, fuel: i32, arg: i32) -> (Result<i32, wasmi::Error>, i32) {
    let (result, left, _) = run_in_slices(wat, fuel, &[], arg);
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
fn exhausted_fuel_calls_out_and_leaves_the_counter_negative() {
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

#[test]
fn refuelled_code_goes_on_where_its_fuel_ran_out() {
    // Eleven units in all: slices of 4, 4 and 4 run it to the end, with
    // the fuel running out twice.
    let (result, left, ran_out) = run_in_slices(COUNT_DOWN, 4, &[4, 4], 10);
    assert_eq!(result.unwrap(), 7);
    assert_eq!(ran_out, 2);
    assert_eq!(left, 4 + 4 + 4 - 11 + 2, "the two checks that found the counter empty were free");
}

#[test]
fn calls_and_their_indices_survive_the_new_import() {
    // An imported function before the module's own: calls, exports, the
    // start function and table entries keep pointing at the same code.
    let wat = r#"(module
      (import "env" "id" (func $id (param i32) (result i32)))
      (table 1 funcref) (elem (i32.const 0) $double)
      (global $g (mut i32) (i32.const 0))
      (type $t (func (param i32) (result i32)))
      (func $double (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
      (func $start (global.set $g (i32.const 5)))
      (start $start)
      (func (export "f") (param i32) (result i32)
        (i32.add (global.get $g) (call_indirect (type $t) (call $id (local.get 0)) (i32.const 0)))))"#;
    let wasm = instrument(&wat::parse_str(wat).unwrap()).unwrap();
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm[..]).unwrap();
    let imports: Vec<_> = module.imports().map(|i| (i.module().to_string(), i.name().to_string())).collect();
    let (m, n) = OUT_OF_FUEL_IMPORT;
    assert_eq!(imports, [("env".to_string(), "id".to_string()), (m.to_string(), n.to_string())]);
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::<()>::new(&engine);
    linker.func_wrap("env", "id", |x: i32| x).unwrap();
    // Out of fuel: a new slice of 100 units (the start function runs
    // before anyone sets the counter, so it runs out at once).
    linker
        .func_wrap(m, n, |mut caller: Caller<'_, ()>| {
            let counter = caller.get_export(FUEL_EXPORT).and_then(Extern::into_global).unwrap();
            counter.set(&mut caller, 100.into()).unwrap();
        })
        .unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<i32, i32>(&store, "f").unwrap();
    assert_eq!(f.call(&mut store, 3).unwrap(), 5 + 6);
}

#[test]
fn the_out_of_fuel_module_name_is_reserved() {
    let wat = r#"(module (import "akira_aot" "anything" (func)))"#;
    let err = instrument(&wat::parse_str(wat).unwrap()).unwrap_err();
    assert!(matches!(err, akira_aot_build::AotBuildError::ReservedImport("akira_aot")), "{err}");
}
