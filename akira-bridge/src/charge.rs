//! What host calls cost: every function's [`Cost`], declared once with the
//! function (`akira-abi`, or a vendor module's [`akira_caps::FnSpec`]), is
//! charged to the calling app by [`host_fn!`](crate::host_fn), the one way modules define
//! their functions.
//!
//! - The **fixed part** is charged on entry, before the function runs, so
//!   a refused call pays it too. It is a constant folded into the code
//!   (looked up in the spec at compile time: a name the spec does not have
//!   fails the build) and recorded as fuel the app owes
//!   ([`AppState::charge_call`]: one add to the app's store data). The
//!   sandbox adds what the app owes to its usage when its slice ends and
//!   takes it out of its next slice, so a loop of cheap calls uses its
//!   budget and its share of the CPU like a loop of instructions.
//! - The **work part** is counted by the function in its unit (bytes
//!   moved, pixels drawn, bytes written to flash: [`AppState::work`]) and
//!   charged after it returns at the declared rate, taken from the slice
//!   at once ([`charge_fuel`]), so an expensive call ends its slice. A
//!   function whose cost has no work part compiles without that step.
//!
//! `akira-sim`'s `every_host_function_pays_its_declared_cost` calls every
//! function of every module with the fuel it declares.

use crate::host::Caller;
pub use akira_abi::{Cost, Unit, cost_of};

use crate::board::Board;
use crate::state::{AppState, Refusal, charge_fuel};

/// Charges the work a call counted ([`AppState::work`]) at `cost`'s rate.
/// [`host_fn!`](crate::host_fn) calls it after a function whose cost has a work part.
#[inline]
pub fn settle_work<B: Board>(caller: &mut Caller<'_, AppState<B>>, cost: Cost) {
    let units = caller.data_mut().take_work();
    if units > 0 {
        charge_fuel(caller, cost.work(units));
    }
}

/// `result`, after counting `units` of work for it ([`AppState::work`])
/// unless the call was refused with an error code: a refused call moved
/// nothing. A call that suspended counts them: its wait moves them.
pub fn counted<B: Board, T>(state: &mut AppState<B>, units: u64, result: Result<T, Refusal>) -> Result<T, Refusal> {
    if !matches!(result, Err(Refusal::Errno(_))) {
        state.work(units);
    }
    result
}

/// Defines a module's function in the engine's [`Linker`](crate::host::Linker) and charges its
/// declared [`Cost`] on every call (see the [module docs](crate::charge)):
///
/// ```rust,ignore
/// host_fn!(linker, SPEC, "write", |c: Caller<'_, AppState<B>>, pin: u32, level: u32| {
///     reply(write(c.data_mut(), pin, level))
/// })?;
/// ```
///
/// `SPEC` is the module's `static` [`akira_caps::ModuleSpec`] and the name
/// a literal: the cost is a constant, and a name the spec does not list is
/// a compile error. The closure is what `Linker::func_wrap` takes, its
/// first parameter the `Caller` (declared `mut` by the macro); it may be
/// `move`. Evaluates to `func_wrap`'s result.
#[macro_export]
macro_rules! host_fn {
    ($linker:expr, $spec:path, $name:literal, move |$(mut)? $c:ident : $cty:ty $(, $arg:ident : $aty:ty)* $(,)?| -> $ret:ty $body:block $(,)?) => {
        $crate::host_fn!(@define $linker, $spec, $name, [move] $c: $cty, [$($arg: $aty),*], [$ret], $body)
    };
    ($linker:expr, $spec:path, $name:literal, move |$(mut)? $c:ident : $cty:ty $(, $arg:ident : $aty:ty)* $(,)?| $body:expr $(,)?) => {
        $crate::host_fn!(@define $linker, $spec, $name, [move] $c: $cty, [$($arg: $aty),*], [], $body)
    };
    ($linker:expr, $spec:path, $name:literal, |$(mut)? $c:ident : $cty:ty $(, $arg:ident : $aty:ty)* $(,)?| -> $ret:ty $body:block $(,)?) => {
        $crate::host_fn!(@define $linker, $spec, $name, [] $c: $cty, [$($arg: $aty),*], [$ret], $body)
    };
    ($linker:expr, $spec:path, $name:literal, |$(mut)? $c:ident : $cty:ty $(, $arg:ident : $aty:ty)* $(,)?| $body:expr $(,)?) => {
        $crate::host_fn!(@define $linker, $spec, $name, [] $c: $cty, [$($arg: $aty),*], [], $body)
    };
    (@define $linker:expr, $spec:path, $name:literal, [$($move:ident)?] $c:ident : $cty:ty, [$($arg:ident : $aty:ty),*], [$($ret:ty)?], $body:expr) => {{
        const COST: $crate::charge::Cost = $crate::charge::cost_of($spec.functions, $name);
        $linker.func_wrap($spec.import, $name, $($move)? |mut $c: $cty $(, $arg: $aty)*| $(-> $ret)? {
            $c.data_mut().charge_call(COST.call());
            let result = $body;
            if !matches!(COST.unit(), $crate::charge::Unit::None) {
                $crate::charge::settle_work(&mut $c, COST);
            }
            result
        })
    }};
}
