//! The blob's stack bound: the deepest path of stack frames through the
//! compiled code's call graph when it has no cycle, or the largest frame
//! times the call-depth bound when it may recurse.
//!
//! Two views of the calls are checked. The wasm module's (direct calls,
//! and indirect ones to every function a table or `ref.func` can reach
//! with the called type): any cycle there is recursion, whatever clang
//! made of it (a self-call can be resolved inside its section without a
//! relocation). The object's (every call relocation, every function whose
//! address is taken): the frames clang's `-fstack-usage` gives and the
//! calls between them, inlining included. Calls out of the image (wasm
//! imports, the out-of-fuel hook, the trap exit, `memcpy` and its kin) run
//! what `akira_aot::task::SWITCH_BYTES` covers on the device, beyond the
//! bound.

use std::collections::{BTreeMap, BTreeSet};

use wasmparser::{ElementItems, Operator, Parser, Payload};

use crate::AotBuildError;

/// How a blob's stack bound was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StackBoundMethod {
    /// The deepest path of frames through the call graph.
    CallGraph,
    /// The largest frame times the number of C frames the stack can hold
    /// at the call-depth bound (the bound plus 5: the entry, an export
    /// wrapper, the frame that finds the depth exhausted, a bulk-memory
    /// helper and the trap), because the call graph could not bound the
    /// stack (the reason).
    LargestFrameTimesDepth(String),
}

impl std::fmt::Display for StackBoundMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackBoundMethod::CallGraph => f.write_str("deepest path of the call graph"),
            StackBoundMethod::LargestFrameTimesDepth(why) => write!(f, "largest frame x (call depth + 5): {why}"),
        }
    }
}

/// The module's calls at the wasm level: whether it may recurse, and
/// whether it calls through a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WasmCalls {
    /// Why the call graph has a cycle (`None`: it has none).
    pub recursion: Option<String>,
    /// Whether any function calls indirectly (`call_indirect`, `call_ref`).
    pub indirect: bool,
}

/// Reads the calls of `wasm`: direct calls, and indirect ones to every
/// function whose reference exists (element segments, `ref.func`) with a
/// signature equal to the call's type (wasm2c's check compares
/// signatures). Recursion anywhere is reported.
pub(crate) fn wasm_calls(wasm: &[u8]) -> Result<WasmCalls, AotBuildError> {
    let mut signatures: Vec<(Vec<wasmparser::ValType>, Vec<wasmparser::ValType>)> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut imported = 0u32;
    let mut referenced: BTreeSet<u32> = BTreeSet::new();
    // Per defined function: direct callees, and the types it calls indirectly.
    let mut direct: Vec<BTreeSet<u32>> = Vec::new();
    let mut indirect_types: Vec<BTreeSet<u32>> = Vec::new();
    // `call_ref` with a typed reference: any referenced function (any type).
    let mut untyped: Vec<bool> = Vec::new();
    let note_ref = |op: &Operator<'_>, referenced: &mut BTreeSet<u32>| {
        if let Operator::RefFunc { function_index } = op {
            referenced.insert(*function_index);
        }
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(section) => {
                for ty in section.into_iter_err_on_gc_types() {
                    let ty = ty?;
                    signatures.push((ty.params().to_vec(), ty.results().to_vec()));
                }
            }
            Payload::ImportSection(section) => {
                for import in section {
                    if let wasmparser::TypeRef::Func(ty) = import?.ty {
                        func_types.push(ty);
                        imported += 1;
                    }
                }
            }
            Payload::FunctionSection(section) => {
                for ty in section {
                    func_types.push(ty?);
                }
            }
            Payload::GlobalSection(section) => {
                for global in section {
                    for op in global?.init_expr.get_operators_reader() {
                        note_ref(&op?, &mut referenced);
                    }
                }
            }
            Payload::ElementSection(section) => {
                for element in section {
                    match element?.items {
                        ElementItems::Functions(functions) => {
                            for f in functions {
                                referenced.insert(f?);
                            }
                        }
                        ElementItems::Expressions(_, exprs) => {
                            for expr in exprs {
                                for op in expr?.get_operators_reader() {
                                    note_ref(&op?, &mut referenced);
                                }
                            }
                        }
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let (mut calls, mut types, mut any) = (BTreeSet::new(), BTreeSet::new(), false);
                for op in body.get_operators_reader()? {
                    let op = op?;
                    note_ref(&op, &mut referenced);
                    match op {
                        Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                            calls.insert(function_index);
                        }
                        Operator::CallIndirect { type_index, .. } | Operator::ReturnCallIndirect { type_index, .. } => {
                            types.insert(type_index);
                        }
                        Operator::CallRef { .. } | Operator::ReturnCallRef { .. } => any = true,
                        _ => {}
                    }
                }
                direct.push(calls);
                indirect_types.push(types);
                untyped.push(any);
            }
            _ => {}
        }
    }
    let signature = |f: u32| func_types.get(f as usize).and_then(|&t| signatures.get(t as usize));
    let callees = |i: usize| -> Vec<u32> {
        let mut out: BTreeSet<u32> = direct[i].clone();
        for &f in &referenced {
            let typed =
                indirect_types[i].iter().any(|&t| signatures.get(t as usize).is_some_and(|s| signature(f) == Some(s)));
            if untyped[i] || typed {
                out.insert(f);
            }
        }
        out.into_iter().filter(|&f| f >= imported).map(|f| f - imported).collect()
    };
    let graph: Vec<Vec<u32>> = (0..direct.len()).map(callees).collect();
    let recursion =
        find_cycle(&graph).map(|f| format!("wasm function {} is part of a call cycle", f as u32 + imported));
    let indirect = indirect_types.iter().any(|t| !t.is_empty()) || untyped.iter().any(|&u| u);
    Ok(WasmCalls { recursion, indirect })
}

/// The functions of the C translation unit `sources` (wasm2c's output,
/// the runtime, the glue) that may make an indirect call once clang has
/// inlined what it likes: those whose body holds wasm2c's
/// `CALL_INDIRECT(`, and those whose body names one of them (a call that
/// may be inlined). `None` if the text holds indirect calls outside any
/// function definition it recognises (output not as expected).
pub(crate) fn indirect_callers(sources: &[&str]) -> Option<IndirectCallers> {
    // wasm2c's functions start at column 0 (`type name(params) {`) and end
    // with a `}` line; preprocessor lines are skipped.
    let mut bodies: BTreeMap<String, String> = BTreeMap::new();
    let mut outside = 0usize;
    for text in sources {
        let mut current: Option<(String, String)> = None;
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            match &mut current {
                Some((name, body)) => {
                    if line == "}" {
                        bodies.entry(std::mem::take(name)).or_default().push_str(body);
                        current = None;
                    } else {
                        body.push_str(line);
                        body.push('\n');
                    }
                }
                None => {
                    let head = !line.starts_with([' ', '\t', '/', '*', '}']) && line.trim_end().ends_with('{');
                    match head.then(|| function_name(line)).flatten() {
                        Some(name) => current = Some((name.to_string(), String::new())),
                        None => outside += line.matches(CALL_INDIRECT).count(),
                    }
                }
            }
        }
    }
    if outside > 0 {
        return None;
    }
    let mut callers: BTreeSet<String> =
        bodies.iter().filter(|(_, body)| body.contains(CALL_INDIRECT)).map(|(name, _)| name.clone()).collect();
    // Whoever names a caller may have it inlined: to a fixed point.
    loop {
        let more: Vec<String> = bodies
            .iter()
            .filter(|(name, body)| !callers.contains(*name) && identifiers(body).any(|id| callers.contains(id)))
            .map(|(name, _)| name.clone())
            .collect();
        if more.is_empty() {
            return Some(IndirectCallers { callers, defined: bodies.into_keys().collect() });
        }
        callers.extend(more);
    }
}

/// The functions of a C translation unit that may call indirectly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndirectCallers {
    /// Those whose code may hold an indirect call.
    pub callers: BTreeSet<String>,
    /// Every function the text defines (one it does not, clang made).
    pub defined: BTreeSet<String>,
}

impl IndirectCallers {
    /// Whether the compiled function `name` may call indirectly: one of
    /// [`Self::callers`], or a function the text does not define.
    pub fn may_call(&self, name: &str) -> bool {
        self.callers.contains(name) || !self.defined.contains(name)
    }
}

/// How wasm2c 1.0.32 spells an indirect call (a macro calling the
/// table entry's function pointer).
const CALL_INDIRECT: &str = "CALL_INDIRECT(";

/// The name in a definition's first line (`static u32 w2c_f(T* i) {`).
fn function_name(line: &str) -> Option<&str> {
    let before = line[..line.find('(')?].trim_end();
    let name = before.rsplit([' ', '*']).next()?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// The C identifiers in `text`.
fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty())
}

/// A node on a cycle of `graph` (`graph[n]`: the nodes `n` calls), if any.
pub(crate) fn find_cycle(graph: &[Vec<u32>]) -> Option<usize> {
    // 0: unvisited, 1: on the current path, 2: done. Iterative: a deep
    // call chain must not overflow this tool's own stack.
    let mut state = vec![0u8; graph.len()];
    for root in 0..graph.len() {
        if state[root] != 0 {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&callee) = graph[node].get(*next) {
                *next += 1;
                let callee = callee as usize;
                match state.get(callee) {
                    Some(1) => return Some(callee),
                    Some(0) => {
                        state[callee] = 1;
                        path.push((callee, 0));
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                path.pop();
            }
        }
    }
    None
}

/// The deepest path of frames through `graph` (`graph[n]`: what `n`
/// calls, `frames[n]`: its frame), from any function; `None` on a cycle.
pub(crate) fn deepest_path(graph: &[Vec<u32>], frames: &[u32]) -> Option<u32> {
    if find_cycle(graph).is_some() {
        return None;
    }
    // Acyclic: each function's deepest path once its callees' are known
    // (post-order, iterative).
    let mut depth: Vec<Option<u32>> = vec![None; graph.len()];
    for root in 0..graph.len() {
        let mut stack = vec![root];
        while let Some(&node) = stack.last() {
            if depth[node].is_some() {
                stack.pop();
                continue;
            }
            let pending: Vec<usize> = graph[node].iter().map(|&c| c as usize).filter(|&c| depth[c].is_none()).collect();
            if pending.is_empty() {
                let below = graph[node].iter().filter_map(|&c| depth[c as usize]).max().unwrap_or(0);
                depth[node] = Some(frames[node].saturating_add(below));
                stack.pop();
            } else {
                stack.extend(pending);
            }
        }
    }
    depth.into_iter().flatten().max().or(Some(0))
}

/// The frame of each function in clang's `-fstack-usage` report, by name;
/// a frame of unbounded size (`dynamic`) is an error.
pub(crate) fn frames(stack_usage: &str) -> Result<BTreeMap<String, u32>, AotBuildError> {
    let mut frames = BTreeMap::new();
    for line in stack_usage.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.rsplit('\t');
        let (Some(qualifier), Some(bytes), Some(place)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(AotBuildError::Link(format!("bad stack usage line {line:?}")));
        };
        if qualifier.trim() == "dynamic" {
            return Err(AotBuildError::UnboundedStack(line.to_string()));
        }
        let bytes: u32 =
            bytes.trim().parse().map_err(|_| AotBuildError::Link(format!("bad stack usage line {line:?}")))?;
        let name = place.rsplit(':').next().unwrap_or(place).to_string();
        let frame = frames.entry(name).or_insert(0);
        *frame = bytes.max(*frame);
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepest_path_takes_the_heaviest_branch_of_a_diamond() {
        // 0 calls 1 and 2, both call 3.
        let graph = vec![vec![1, 2], vec![3], vec![3], vec![]];
        assert_eq!(deepest_path(&graph, &[10, 100, 20, 5]), Some(115));
        assert_eq!(deepest_path(&[vec![1], vec![0]], &[1, 1]), None);
        assert_eq!(deepest_path(&[vec![0]], &[1]), None);
        assert_eq!(deepest_path(&[], &[]), Some(0));
    }

    /// Every path's frames, enumerated (small acyclic graphs only).
    fn brute_force(graph: &[Vec<u32>], frames: &[u32], node: usize) -> u32 {
        frames[node] + graph[node].iter().map(|&c| brute_force(graph, frames, c as usize)).max().unwrap_or(0)
    }

    proptest::proptest! {
        #[test]
        fn deepest_path_is_the_heaviest_path_and_cycles_have_none(
            n in 1usize..9,
            edges in proptest::collection::vec((0usize..9, 0usize..9), 0..20),
            frames in proptest::collection::vec(0u32..500, 9),
            back in proptest::option::of((0usize..9, 0usize..9)),
        ) {
            // Forward edges only: acyclic.
            let mut graph = vec![Vec::new(); n];
            for (a, b) in edges {
                let (a, b) = (a % n, b % n);
                if a < b && !graph[a].contains(&(b as u32)) {
                    graph[a].push(b as u32);
                }
            }
            let frames = &frames[..n];
            let expected = (0..n).map(|i| brute_force(&graph, frames, i)).max();
            proptest::prop_assert_eq!(deepest_path(&graph, frames), expected);
            // A backward (or self) edge closes a cycle when its target
            // reaches its source.
            if let Some((a, b)) = back {
                let (a, b) = (a % n, b % n);
                let (from, to) = (a.max(b), a.min(b));
                let reaches = |start: usize| {
                    let mut seen = vec![false; n];
                    let mut todo = vec![start];
                    while let Some(x) = todo.pop() {
                        if !std::mem::replace(&mut seen[x], true) {
                            todo.extend(graph[x].iter().map(|&c| c as usize));
                        }
                    }
                    seen[from]
                };
                let cyclic = reaches(to);
                graph[from].push(to as u32);
                proptest::prop_assert_eq!(deepest_path(&graph, frames).is_none(), cyclic);
                proptest::prop_assert_eq!(find_cycle(&graph).is_some(), cyclic);
            }
        }
    }

    #[test]
    fn deep_chains_do_not_overflow_the_analysis() {
        let n = 100_000;
        let graph: Vec<Vec<u32>> = (0..n).map(|i| if i + 1 < n { vec![i as u32 + 1] } else { vec![] }).collect();
        assert_eq!(deepest_path(&graph, &vec![1; n]), Some(n as u32));
    }

    #[test]
    fn stack_usage_lines_are_read_by_function() {
        let su = "glue.c:10:5:w2c_f\t48\tstatic\n./app.c:20:5:akira_aot_export_0\t120\tstatic\n";
        let frames = frames(su).unwrap();
        assert_eq!(frames["w2c_f"], 48);
        assert_eq!(frames["akira_aot_export_0"], 120);
        assert!(matches!(super::frames("glue.c:1:1:f\t8\tdynamic\n"), Err(AotBuildError::UnboundedStack(_))));
    }

    #[test]
    fn indirect_callers_include_whoever_may_inline_them() {
        let app = "#define CALL_INDIRECT(t, x) t(x)\nstatic u32 w2c_a(T* i, u32 p) {\n  return p;\n}\n\
                   static u32 w2c_run(T* i, u32 p) {\n  return CALL_INDIRECT(i->w2c_T0, p);\n}\n\
                   u32 Z_appZ_run(T* i, u32 p) {\n  return w2c_run(i, p);\n}\n";
        let glue = "uint64_t akira_aot_export_0(const uint64_t *args) {\n  return Z_appZ_run(0, 1);\n}\n\
                    void wasm_rt_trap(int code) {\n  akira_aot_trap(code);\n}\n";
        let found = indirect_callers(&[app, glue]).unwrap();
        assert_eq!(found.callers, ["Z_appZ_run", "akira_aot_export_0", "w2c_run"].map(String::from).into());
        assert!(found.may_call("w2c_run") && found.may_call("made_by_clang"));
        assert!(!found.may_call("w2c_a") && !found.may_call("wasm_rt_trap"));
        assert_eq!(indirect_callers(&["int x = CALL_INDIRECT(t, 1);\n"]), None);
    }

    fn calls(wat: &str) -> WasmCalls {
        wasm_calls(&wat::parse_str(wat).unwrap()).unwrap()
    }

    #[test]
    fn recursion_is_found_through_direct_and_indirect_calls() {
        let straight = calls("(module (func $a call $b) (func $b))");
        assert_eq!(straight, WasmCalls { recursion: None, indirect: false });
        assert!(calls("(module (func $a call $b) (func $b call $a))").recursion.is_some());
        assert!(calls("(module (func $a call $a))").recursion.is_some());
        // $a calls through the table; $a itself is in it with that type.
        let through_table = calls(
            "(module (type $t (func)) (table 1 funcref) (elem (i32.const 0) $a)
               (func $a (type $t) i32.const 0 call_indirect (type $t)))",
        );
        assert!(through_table.recursion.is_some() && through_table.indirect);
        // Another type: the table's function cannot be the target.
        let other_type = calls(
            "(module (type $t (func)) (type $u (func (param i32))) (table 1 funcref) (elem (i32.const 0) $a)
               (func $a (type $t) i32.const 0 i32.const 0 call_indirect (type $u)))",
        );
        assert_eq!(other_type, WasmCalls { recursion: None, indirect: true });
    }
}
