//! The blob's stack bound: the deepest path of frames through the call
//! graph for modules that cannot recurse (straight calls, a diamond,
//! calls through a table to functions that call nothing back), the
//! largest frame times the call-depth bound plus one for any that may
//! (direct or mutual recursion, a table function calling through the
//! table with its own type). Needs wasm2c and clang (`.ci/run` installs
//! them).

use akira_aot::format::Blob;
use akira_aot_build::{Compiled, Options, StackBoundMethod, Target, compile};

fn compiled(wat: &str, target: Target) -> Compiled {
    let wasm = wat::parse_str(wat).unwrap();
    compile(&wasm, &Options { target, ..Options::default() }).unwrap()
}

/// The bound is a deepest path: at least the largest frame, far below
/// the largest frame times 65 (the fallback), and in the blob's header.
fn assert_call_graph_bound(wat: &str, what: &str) {
    for target in Target::ALL {
        let c = compiled(wat, target);
        assert_eq!(c.stack_bound_method, StackBoundMethod::CallGraph, "{what} ({target})");
        assert!(c.stack_bound >= c.max_frame, "{what} ({target}): {} < {}", c.stack_bound, c.max_frame);
        assert!(c.stack_bound < c.max_frame * 16, "{what} ({target}): {} vs frame {}", c.stack_bound, c.max_frame);
        assert_eq!(Blob::parse(&c.blob).unwrap().header.stack_bound, c.stack_bound);
    }
}

fn assert_fallback(wat: &str, what: &str) {
    for target in Target::ALL {
        let c = compiled(wat, target);
        assert!(
            matches!(c.stack_bound_method, StackBoundMethod::LargestFrameTimesDepth(_)),
            "{what} ({target}): {:?}",
            c.stack_bound_method
        );
        assert_eq!(c.stack_bound, c.max_frame * 69, "{what} ({target})");
        assert_eq!(Blob::parse(&c.blob).unwrap().header.stack_bound, c.stack_bound);
    }
}

/// Functions with an import call between their work, so each keeps a
/// frame of its own; `$body` is what `$run` does.
fn module(body: &str, extra: &str) -> String {
    format!(
        r#"(module
          (type $work (func (param i32) (result i32)))
          (import "env" "host" (func $host (param i32) (result i32)))
          (memory 1)
          (table 4 funcref)
          {extra}
          (func $leaf (type $work) (i32.mul (call $host (local.get 0)) (local.get 0)))
          (func $mid (type $work) (i32.add (call $leaf (local.get 0)) (call $host (i32.const 7))))
          (func $side (type $work) (i32.xor (call $leaf (local.get 0)) (call $host (i32.const 9))))
          (func (export "run") (type $work) {body}))"#
    )
}

#[test]
fn straight_calls_are_bounded_by_their_deepest_path() {
    assert_call_graph_bound(&module("(call $mid (local.get 0))", ""), "run -> mid -> leaf");
}

#[test]
fn a_diamond_is_bounded_by_its_deeper_side() {
    let diamond = module("(i32.add (call $mid (local.get 0)) (call $side (local.get 0)))", "");
    assert_call_graph_bound(&diamond, "run -> mid, side -> leaf");
}

#[test]
fn indirect_calls_to_functions_that_do_not_call_back_are_bounded() {
    let table = module(
        "(call_indirect (type $work) (local.get 0) (i32.and (local.get 0) (i32.const 3)))",
        "(elem (i32.const 0) $leaf $mid $side $leaf)",
    );
    assert_call_graph_bound(&table, "run -> table (leaf, mid, side)");
}

#[test]
fn recursion_keeps_the_largest_frame_times_the_depth() {
    let direct = r#"(module (func $f (export "run") (param i32) (result i32)
        (if (result i32) (local.get 0) (then (call $f (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 0)))))"#;
    assert_fallback(direct, "direct recursion");
    let mutual = module(
        "(call $even (local.get 0))",
        r#"
        (func $even (type $work) (if (result i32) (local.get 0)
            (then (call $odd (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 1))))
        (func $odd (type $work) (if (result i32) (local.get 0)
            (then (call $even (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 0))))"#,
    );
    assert_fallback(&mutual, "mutual recursion");
}

#[test]
fn a_table_function_calling_through_the_table_keeps_the_old_bound() {
    // $again is in the table with the type it calls: it may call itself.
    let again = module(
        "(call $again (local.get 0))",
        r#"(elem (i32.const 0) $again)
           (func $again (type $work)
             (call_indirect (type $work) (call $host (local.get 0)) (i32.const 0)))"#,
    );
    assert_fallback(&again, "indirect recursion");
}

#[test]
fn the_function_type_table_holds_the_modules_types() {
    // Two types: the table is a few bytes, not 64 entries of 18 (1152 B).
    for target in Target::ALL {
        let c = compiled(&module("(call $mid (local.get 0))", ""), target);
        assert!(c.report.bss_len < 256, "{target}: {} B of zeroed data", c.report.bss_len);
    }
}
