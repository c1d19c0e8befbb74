//! The bridge's functions without an interpreter (built without the
//! `wasmi` feature): a [`Linker`] of plain functions, called directly with
//! a [`Caller`] that lends the app's state, its linear memory and its
//! fuel.
//!
//! Arguments and results travel as `u64` words, as akira-aot's native
//! code passes them (an `i32` in the low half); each function records its
//! wasm signature ([`Linker::signature`]) so the sandbox can check a
//! native import against it when it loads the app.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use akira_caps::{Denial, ValType};

/// What a host function gets for one call: the app's state, its linear
/// memory and the fuel left in its time slice. Made by the sandbox for
/// each call; the same methods as wasmi's `Caller` that modules use.
pub struct Caller<'a, T> {
    data: &'a mut T,
    memory: &'a mut [u8],
    fuel: &'a mut u64,
}

impl<'a, T> Caller<'a, T> {
    /// A call for the app whose state is `data`, linear memory `memory`,
    /// with `fuel` left in its slice (a host call may take some: work it
    /// did for the app).
    pub fn new(data: &'a mut T, memory: &'a mut [u8], fuel: &'a mut u64) -> Self {
        Caller { data, memory, fuel }
    }

    /// The app's state.
    pub fn data(&self) -> &T {
        self.data
    }

    /// The app's state, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.data
    }

    /// The app's linear memory and its state at once.
    pub fn memory_and_data(&mut self) -> (&mut [u8], &mut T) {
        (self.memory, self.data)
    }

    /// Fuel left in the app's slice (never fails: the signature is wasmi's).
    pub fn get_fuel(&self) -> Result<u64, Error> {
        Ok(*self.fuel)
    }

    /// Sets the fuel left in the app's slice.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<(), Error> {
        *self.fuel = fuel;
        Ok(())
    }
}

/// Why a host function ended the app's call instead of returning a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The app exited (`sys.exit`) with this code.
    Exit(i32),
    /// The app waits: the wait is in its state (`AppState::take_wait`).
    Suspended,
    /// A denied call, in strict mode: the app is stopped with a fault.
    Denied(Denial),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Exit(code) => write!(f, "the app exited with code {code}"),
            Error::Suspended => f.write_str("app suspended by a host call"),
            Error::Denied(denial) => denial.fmt(f),
        }
    }
}

impl core::error::Error for Error {}

/// A function defined twice in one [`Linker`] (a module bug).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LinkerError {
    /// The import module.
    pub module: &'static str,
    /// The function.
    pub name: &'static str,
}

impl fmt::Display for LinkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`.`{}` is defined twice", self.module, self.name)
    }
}

impl core::error::Error for LinkerError {}

/// A host function: arguments in, result (0 when it has none) out.
pub type Func<T> = Box<dyn Fn(Caller<'_, T>, &[u64]) -> Result<u64, Error>>;

struct Definition<T> {
    module: &'static str,
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
    func: Func<T>,
}

/// The functions one app may call, by import module and name: what the
/// bridge linked for it (the modules it was granted).
pub struct Linker<T> {
    definitions: Vec<Definition<T>>,
}

impl<T> Default for Linker<T> {
    fn default() -> Self {
        Linker { definitions: Vec::new() }
    }
}

impl<T> Linker<T> {
    /// An empty linker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines `module`.`name` as `func`, a closure taking the [`Caller`]
    /// and the function's parameters (`u32`, `i32`, `u64`, `i64`, `f32`,
    /// `f64`) and returning nothing, a value or `Result` of one (as wasmi's
    /// `Linker::func_wrap`).
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &'static str,
        name: &'static str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self, LinkerError> {
        if self.find(module, name).is_some() {
            return Err(LinkerError { module, name });
        }
        let (params, results, func) = func.into_func();
        self.definitions.push(Definition { module, name, params, results, func });
        Ok(self)
    }

    fn find(&self, module: &str, name: &str) -> Option<&Definition<T>> {
        self.definitions.iter().find(|d| d.module == module && d.name == name)
    }

    /// The position of `module`.`name`, for [`Linker::call`]: looked up
    /// once when an app is loaded, never per call.
    pub fn position(&self, module: &str, name: &str) -> Option<usize> {
        self.definitions.iter().position(|d| d.module == module && d.name == name)
    }

    /// The wasm signature (parameters, results) of the function at
    /// `position`.
    pub fn signature(&self, position: usize) -> Option<(&'static [ValType], &'static [ValType])> {
        self.definitions.get(position).map(|d| (d.params, d.results))
    }

    /// Calls the function at `position` with `args` (missing arguments
    /// are 0; [`Linker::signature`] says how many it takes).
    pub fn call(&self, position: usize, caller: Caller<'_, T>, args: &[u64]) -> Option<Result<u64, Error>> {
        self.definitions.get(position).map(|d| (d.func)(caller, args))
    }

    /// How many functions are defined.
    pub fn len(&self) -> usize {
        self.definitions.len()
    }

    /// Whether no function is defined.
    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty()
    }
}

/// A parameter type of a host function.
pub trait Param: Sized {
    /// Its wasm type.
    const TYPE: ValType;
    /// The value from its `u64` word.
    fn from_word(word: u64) -> Self;
}

/// What a host function returns: nothing, a value, or `Result` of either.
pub trait HostResult {
    /// Its wasm result types.
    const TYPES: &'static [ValType];
    /// The result as a `u64` word (0 for nothing), or the trap.
    fn into_word(self) -> Result<u64, Error>;
}

macro_rules! params {
    ($($t:ty => $v:ident, |$w:ident| $from:expr, |$x:ident| $into:expr;)*) => {$(
        impl Param for $t {
            const TYPE: ValType = ValType::$v;
            #[inline]
            fn from_word($w: u64) -> Self {
                $from
            }
        }
        impl HostResult for $t {
            const TYPES: &'static [ValType] = &[ValType::$v];
            #[inline]
            fn into_word(self) -> Result<u64, Error> {
                let $x = self;
                Ok($into)
            }
        }
        impl HostResult for Result<$t, Error> {
            const TYPES: &'static [ValType] = &[ValType::$v];
            #[inline]
            fn into_word(self) -> Result<u64, Error> {
                self.and_then(HostResult::into_word)
            }
        }
    )*};
}

params! {
    u32 => I32, |w| w as u32, |x| u64::from(x);
    i32 => I32, |w| w as u32 as i32, |x| u64::from(x as u32);
    u64 => I64, |w| w, |x| x;
    i64 => I64, |w| w as i64, |x| x as u64;
    f32 => F32, |w| f32::from_bits(w as u32), |x| u64::from(x.to_bits());
    f64 => F64, |w| f64::from_bits(w), |x| x.to_bits();
}

impl HostResult for () {
    const TYPES: &'static [ValType] = &[];
    #[inline]
    fn into_word(self) -> Result<u64, Error> {
        Ok(0)
    }
}

impl HostResult for Result<(), Error> {
    const TYPES: &'static [ValType] = &[];
    #[inline]
    fn into_word(self) -> Result<u64, Error> {
        self.map(|()| 0)
    }
}

/// A closure [`Linker::func_wrap`] takes: `Fn(Caller, P1, ..., Pn) -> R`
/// for up to 10 [`Param`]s and a [`HostResult`].
pub trait IntoFunc<T, Params, Results> {
    /// The function's signature and its type-erased form.
    #[allow(clippy::type_complexity)]
    fn into_func(self) -> (&'static [ValType], &'static [ValType], Func<T>);
}

/// The parameter types of a tuple of [`Param`]s.
trait ParamTypes {
    const TYPES: &'static [ValType];
}

macro_rules! into_func {
    ($($p:ident $a:ident),*) => {
        impl<$($p: Param),*> ParamTypes for ($($p,)*) {
            const TYPES: &'static [ValType] = &[$($p::TYPE),*];
        }

        impl<T, F, R, $($p),*> IntoFunc<T, ($($p,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($p),*) -> R + 'static,
            R: HostResult,
            $($p: Param,)*
        {
            #[allow(unused_mut, unused_variables, non_snake_case)]
            fn into_func(self) -> (&'static [ValType], &'static [ValType], Func<T>) {
                let func: Func<T> = Box::new(move |caller, args: &[u64]| {
                    let mut words = args.iter().copied();
                    $(let $a = $p::from_word(words.next().unwrap_or(0));)*
                    self(caller, $($a),*).into_word()
                });
                (<($($p,)*) as ParamTypes>::TYPES, R::TYPES, func)
            }
        }
    };
}

into_func!();
into_func!(P1 a1);
into_func!(P1 a1, P2 a2);
into_func!(P1 a1, P2 a2, P3 a3);
into_func!(P1 a1, P2 a2, P3 a3, P4 a4);
into_func!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5);
into_func!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6);
into_func!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6, P7 a7);
into_func!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6, P7 a7, P8 a8);
into_func!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6, P7 a7, P8 a8, P9 a9);
into_func!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6, P7 a7, P8 a8, P9 a9, P10 a10);

// The built-in modules link into this `Linker` only in a build without
// wasmi: `cargo test -p akira-bridge --no-default-features --features ...`
// (CI runs it with every module family but `wasi`).
#[cfg(all(test, not(feature = "wasmi")))]
mod tests;
