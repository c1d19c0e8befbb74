//! wasmi 2.0.0's `select` bug and `fix_select_conditions`, which works
//! around it (see `akira_build::fix_select_conditions`).

use akira_build::fix_select_conditions;

/// Runs `f(x)` of `wat` (one exported `f: i32 -> i32`) on wasmi for each
/// `x`.
fn run(wasm: &[u8], xs: &[i32]) -> Vec<i32> {
    let engine = wasmi::Engine::default();
    let module = wasmi::Module::new(&engine, wasm).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let instance = wasmi::Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<i32, i32>(&store, "f").unwrap();
    xs.iter().map(|x| f.call(&mut store, *x).unwrap()).collect()
}

fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (memory 1) (func (export "f") (param i32) (result i32) (local i32)
            (i32.store (i32.const 100) (local.get 0))
            (local.set 1 (local.get 0))
            {body}))"#
    ))
    .unwrap()
}

const XS: [i32; 4] = [0, 1, -2, 7];

/// A function body and what the spec says it computes.
type Case = (&'static str, fn(i32) -> i32);

/// Selects whose condition tests a value against zero, in the forms
/// compilers emit, with what the spec says each computes.
fn cases() -> Vec<Case> {
    vec![
        ("(select (i32.const 4) (i32.const 5) (i32.eqz (local.get 0)))", |x| if x == 0 { 4 } else { 5 }),
        ("(select (i32.const 4) (local.get 1) (i32.eqz (local.get 1)))", |x| if x == 0 { 4 } else { x }),
        ("(select (local.get 1) (i32.const 4) (i32.eqz (local.get 1)))", |x| if x == 0 { x } else { 4 }),
        ("(select (i32.const 4) (i32.const 5) (i32.eqz (i32.load (i32.const 100))))", |x| if x == 0 { 4 } else { 5 }),
        ("(select (i32.const 4) (i32.const 5) (i32.eq (local.get 0) (i32.const 0)))", |x| if x == 0 { 4 } else { 5 }),
        ("(select (i32.const 4) (i32.const 5) (i32.eq (i32.const 0) (local.get 0)))", |x| if x == 0 { 4 } else { 5 }),
        ("(select (i32.const 4) (i32.const 5) (i32.ne (local.get 0) (i32.const 0)))", |x| if x != 0 { 4 } else { 5 }),
        ("(select (local.get 1) (i32.const 4) (i32.ne (local.get 1) (i32.const 0)))", |x| if x != 0 { x } else { 4 }),
        ("(select (result i32) (i32.const 4) (i32.const 5) (i32.eqz (local.get 0)))", |x| if x == 0 { 4 } else { 5 }),
        (
            "(i32.trunc_f32_s (select (f32.const 4) (f32.const 5) (i32.eqz (local.get 0))))",
            |x| if x == 0 { 4 } else { 5 },
        ),
        ("(select (i32.const 4) (i32.const 5) (i32.eq (local.get 0) (i32.const 7)))", |x| if x == 7 { 4 } else { 5 }),
    ]
}

/// The bug, smallest form (see the module docs of `fix_select_conditions`
/// for what it covers). It fails on wasmi 2.0.0; once a wasmi release
/// passes it, drop `#[ignore]` and the work-around.
#[test]
#[ignore = "wasmi 2.0.0 bug: a 32-bit select whose condition is i32.eqz (or eq/ne 0) ignores it"]
fn wasmi_selects_by_an_eqz_condition() {
    let wasm = wat::parse_str(
        r#"(module (func (export "f") (param i32) (result i32)
            (select (i32.const 4) (i32.const 5) (i32.eqz (local.get 0)))))"#,
    )
    .unwrap();
    assert_eq!(run(&wasm, &[0, 1]), [4, 5]);
}

#[test]
fn rewritten_selects_compute_what_the_spec_says_on_wasmi() {
    let mut wrong_before = 0;
    for (body, want) in cases() {
        let wasm = module(body);
        let spec: Vec<i32> = XS.iter().map(|x| want(*x)).collect();
        if run(&wasm, &XS) != spec {
            wrong_before += 1;
        }
        let (fixed, n) = fix_select_conditions(&wasm).unwrap();
        assert_eq!(n, 1, "{body}");
        assert_eq!(run(&fixed, &XS), spec, "{body}");
    }
    // While wasmi has the bug, most cases show it (the last one, against
    // 7, never did); the assertion above is what the rewrite guarantees.
    eprintln!("{wrong_before} of {} cases wrong without the rewrite", cases().len());
}

#[test]
fn bodies_without_the_pattern_and_custom_sections_are_copied_byte_for_byte() {
    let mut wasm = wat::parse_str(
        r#"(module (func (export "f") (param i32) (result i32)
            (select (i32.const 4) (i32.const 5) (local.get 0))))"#,
    )
    .unwrap();
    // A custom section the copy keeps.
    wasm.extend([0, 6, 4, b'n', b'o', b't', b'e', 9]);
    let (fixed, n) = fix_select_conditions(&wasm).unwrap();
    assert_eq!((n, fixed), (0, wasm));
}

#[test]
fn malformed_modules_are_errors() {
    assert!(fix_select_conditions(b"\0asm\x01\0\0\0\x0a\x05").is_err());
}
