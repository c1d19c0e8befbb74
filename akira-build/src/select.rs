//! A work-around for a wasmi 2.0.0 bug: a 32-bit `select` (`i32` or
//! `f32` operands) whose condition is an `i32.eqz`, or an `i32.eq` /
//! `i32.ne` against zero, of a local, a parameter or a load ignores the
//! condition: `eqz` and `eq 0` always pick the first operand, `ne 0` the
//! second. The smallest module that shows it:
//!
//! ```wat
//! (module (func (export "f") (param i32) (result i32)
//!   (select (i32.const 4) (i32.const 5) (i32.eqz (local.get 0)))))
//! ```
//!
//! `f(1)` is 5; wasmi 2.0.0 (eager and lazy compilation alike) returns 4.
//! `i64` selects, conditions in a local, `if`, `br_if` and the other
//! comparisons are right. Compilers emit the pattern (clang for `c ? a :
//! b` with `c == 0`), so `akira build` rewrites it: an `i32.const 1;
//! i32.and` after the comparison (a 0-or-1 value is unchanged) keeps
//! wasmi from fusing the two. `akira-build/tests/select.rs` checks the
//! bug is still there (drop this pass when a wasmi release fixes it) and
//! that the rewritten module computes what the original means.

use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{Function, Instruction};
use wasmparser::{Operator, Parser};

use crate::BuildError;

/// Rewrites every comparison that feeds a `select` directly (see the
/// module docs); returns the module and how many it rewrote. Bodies
/// without one, and custom sections, are copied byte for byte.
///
/// # Errors
///
/// [`BuildError::Malformed`] if the module cannot be read.
pub fn fix_select_conditions(wasm: &[u8]) -> Result<(Vec<u8>, u32), BuildError> {
    let mut fix = SelectFix { fixed: 0 };
    let mut module = wasm_encoder::Module::new();
    fix.parse_core_module(&mut module, Parser::new(0), wasm)?;
    Ok((module.finish(), fix.fixed))
}

struct SelectFix {
    fixed: u32,
}

fn is_select(op: &Operator<'_>) -> bool {
    matches!(op, Operator::Select | Operator::TypedSelect { .. })
}

fn is_zero_test(op: &Operator<'_>) -> bool {
    matches!(op, Operator::I32Eqz | Operator::I32Eq | Operator::I32Ne)
}

impl Reencode for SelectFix {
    type Error = BuildError;

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        let ops = func.get_operators_reader()?.into_iter().collect::<Result<Vec<_>, _>>()?;
        let affected = ops.windows(2).any(|w| is_zero_test(&w[0]) && is_select(&w[1]));
        if !affected {
            code.raw(func.as_bytes());
            return Ok(());
        }
        let mut locals = Vec::new();
        for local in func.get_locals_reader()? {
            let (n, ty) = local?;
            locals.push((n, self.val_type(ty)?));
        }
        let mut body = Function::new(locals);
        for (i, op) in ops.iter().enumerate() {
            body.instruction(&self.instruction(op.clone())?);
            if is_zero_test(op) && ops.get(i + 1).is_some_and(is_select) {
                body.instruction(&Instruction::I32Const(1));
                body.instruction(&Instruction::I32And);
                self.fixed += 1;
            }
        }
        code.function(&body);
        Ok(())
    }

    /// Copies every custom section unchanged.
    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        module.section(&self.custom_section(section));
        Ok(())
    }
}
