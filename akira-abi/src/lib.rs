#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod akiraos;
mod cost;
mod modules;
#[cfg(feature = "render")]
pub mod render;
pub mod wasi;

pub use cost::{Cost, Unit};
pub use modules::*;
pub use wasi::WASI;

/// The ABI version this crate defines (`akira:sys.abi_version`).
pub const ABI_VERSION: u32 = 1;

/// Every built-in module, in documentation order.
pub static MODULES: [&Module; 21] = [
    &LOG, &TIMER, &GPIO, &SYS, &I2C, &SPI, &UART, &PWM, &ADC, &SENSOR, &RNG, &CRYPTO, &STORAGE, &OTA, &DISPLAY, &HID,
    &RF, &BLE, &IPC, &NET, &APP,
];

/// The error codes every function may return (negative), in code order.
pub static ERRORS: [ErrorCode; 10] = [
    ErrorCode { code: -1, name: "AKIRA_EDENIED", meaning: "not granted to this app" },
    ErrorCode { code: -2, name: "AKIRA_ENORES", meaning: "no such resource on this board" },
    ErrorCode { code: -3, name: "AKIRA_EINVAL", meaning: "invalid argument" },
    ErrorCode { code: -4, name: "AKIRA_EFAULT", meaning: "pointer or length outside the app's memory" },
    ErrorCode { code: -5, name: "AKIRA_EIO", meaning: "hardware error" },
    ErrorCode { code: -6, name: "AKIRA_EBUSY", meaning: "resource busy" },
    ErrorCode { code: -7, name: "AKIRA_ETIMEDOUT", meaning: "timed out" },
    ErrorCode { code: -8, name: "AKIRA_ENOSPC", meaning: "no space left" },
    ErrorCode { code: -9, name: "AKIRA_ENOTSUP", meaning: "not supported by this board" },
    ErrorCode { code: -10, name: "AKIRA_E2BIG", meaning: "too large" },
];

/// The built-in module imported as `import` (`akira:gpio`), if any.
pub fn module(import: &str) -> Option<&'static Module> {
    MODULES.iter().copied().find(|m| m.import == import)
}

/// A wasm value type, as the runtime checks an import's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl ValType {
    /// The wasm text name (`i32`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
        }
    }
}

/// How much an app can rely on a function staying as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stability {
    /// Kept for the life of the ABI version.
    Stable,
    /// May change in a minor release; apps using it must be rebuilt.
    Experimental,
}

impl Stability {
    /// Lower-case name, as the docs write it.
    pub const fn name(self) -> &'static str {
        match self {
            Stability::Stable => "stable",
            Stability::Experimental => "experimental",
        }
    }
}

/// A parameter's type: what it means to a C or Rust app, and the wasm
/// type it lowers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Type {
    /// A signed 32-bit integer (`int32_t`): pins, ids, levels, codes.
    I32,
    /// An unsigned 32-bit integer (`uint32_t`): lengths, colours,
    /// coordinates, flags.
    U32,
    /// A signed 64-bit integer (`int64_t`): times in microseconds.
    I64,
    /// A pointer into the app's memory (an `i32` offset in wasm), always
    /// passed with a length or to a fixed size.
    Ptr(Pointee),
}

/// What a pointer parameter points to, as C declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Pointee {
    /// Bytes the firmware reads (`const void *`).
    ConstVoid,
    /// A buffer the firmware writes (`void *`).
    Void,
    /// UTF-8 text the firmware reads (`const char *`).
    ConstChar,
    /// Text the firmware writes (`char *`).
    Char,
    /// A fixed number of bytes the firmware reads (`const uint8_t *`).
    ConstU8,
    /// A fixed number of bytes the firmware writes (`uint8_t *`).
    U8,
    /// `int32_t` values the firmware writes.
    I32,
    /// `int16_t` values the firmware writes.
    I16,
    /// An input event the firmware writes (`akira_hid_event_t *`).
    HidEvent,
}

impl Pointee {
    /// The C type pointed to.
    pub const fn c_type(self) -> &'static str {
        match self {
            Pointee::ConstVoid => "const void",
            Pointee::Void => "void",
            Pointee::ConstChar => "const char",
            Pointee::Char => "char",
            Pointee::ConstU8 => "const uint8_t",
            Pointee::U8 => "uint8_t",
            Pointee::I32 => "int32_t",
            Pointee::I16 => "int16_t",
            Pointee::HidEvent => "akira_hid_event_t",
        }
    }

    /// Whether the firmware only reads it.
    pub const fn reads_only(self) -> bool {
        matches!(self, Pointee::ConstVoid | Pointee::ConstChar | Pointee::ConstU8)
    }
}

impl Type {
    /// The wasm type it lowers to.
    pub const fn wasm(self) -> ValType {
        match self {
            Type::I64 => ValType::I64,
            Type::I32 | Type::U32 | Type::Ptr(_) => ValType::I32,
        }
    }

    /// Whether the firmware only reads what it points to (a `const`
    /// pointee); `false` for every non-pointer.
    pub const fn reads_only(self) -> bool {
        matches!(self, Type::Ptr(pointee) if pointee.reads_only())
    }
}

/// What a function returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Ret {
    /// An `i32`: a value `>= 0`, or a negative error code.
    I32,
    /// An `i64`: a value `>= 0`, or a negative error code.
    I64,
    /// Nothing: the function does not return (`sys.exit`).
    Never,
}

impl Ret {
    /// The wasm result types.
    pub const fn wasm(self) -> &'static [ValType] {
        match self {
            Ret::I32 => &[ValType::I32],
            Ret::I64 => &[ValType::I64],
            Ret::Never => &[],
        }
    }
}

/// One parameter of a function. Its name is kept with feature `docs`
/// only: a firmware checks types, never names, and keeps its flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Param {
    /// Its name, as the docs, the C header and the Rust declarations use it.
    #[cfg(feature = "docs")]
    pub name: &'static str,
    /// Its type.
    pub ty: Type,
}

impl Param {
    /// A parameter `name` of type `ty` (the name is dropped without
    /// feature `docs`).
    pub const fn new(name: &'static str, ty: Type) -> Param {
        #[cfg(not(feature = "docs"))]
        let _ = name;
        Param {
            #[cfg(feature = "docs")]
            name,
            ty,
        }
    }
}

/// One function a module offers apps. Its documentation is kept with
/// feature `docs` only (firmware crates leave it out of their flash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Function {
    /// Its name within the module (the wasm import name).
    pub name: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
    /// What it returns.
    pub result: Ret,
    /// How stable it is.
    pub stability: Stability,
    /// What a call costs the app in fuel: declared here, with the
    /// function, and charged by the firmware on every call.
    pub cost: Cost,
    /// What it does (Markdown, one paragraph), for `docs/abi.md`.
    #[cfg(feature = "docs")]
    pub doc: &'static str,
    /// The comment the C header puts above its declaration (plain text,
    /// lines as written; empty for none).
    #[cfg(feature = "docs")]
    pub c_doc: &'static str,
}

impl Function {
    /// An experimental function without a C comment, of cost
    /// [`Cost::CHEAP`]: what a vendor module declares
    /// (`Function::new("set", &[..], Ret::I32, "set(valve, open): ...")`,
    /// with [`Function::costing`] for a call that does more work).
    pub const fn new(name: &'static str, params: &'static [Param], result: Ret, doc: &'static str) -> Function {
        #[cfg(not(feature = "docs"))]
        let _ = doc;
        Function {
            name,
            params,
            result,
            stability: Stability::Experimental,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc,
            #[cfg(feature = "docs")]
            c_doc: "",
        }
    }

    /// The same function at cost `cost`.
    pub const fn costing(self, cost: Cost) -> Function {
        Function { cost, ..self }
    }

    /// The wasm parameter types, in order.
    pub fn wasm_params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.params.iter().map(|p| p.ty.wasm())
    }

    /// Whether an import of wasm type `params -> results` is this
    /// function's signature.
    pub fn has_signature(&self, params: &[ValType], results: &[ValType]) -> bool {
        self.params.len() == params.len()
            && self.wasm_params().zip(params).all(|(a, b)| a == *b)
            && self.result.wasm() == results
    }
}

/// The cost of the function called `name` among `functions`, for a
/// `const` (the firmware folds each call's fixed charge into its code):
/// a name that is not there fails the build.
pub const fn cost_of(functions: &[Function], name: &str) -> Cost {
    let mut i = 0;
    while i < functions.len() {
        if str_eq(functions[i].name, name) {
            return functions[i].cost;
        }
        i += 1;
    }
    panic!("no function of that name: the cost of a function is looked up by its declared name")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// One module of the ABI: its import name, the capability that unlocks it,
/// its functions, and what the docs and the C header say about it.
#[derive(Debug)]
pub struct Module {
    /// Short name (`gpio`).
    pub name: &'static str,
    /// The wasm import module name (`akira:gpio`).
    pub import: &'static str,
    /// The manifest capability that unlocks it (`gpio`).
    pub capability: &'static str,
    /// What the capability's scope is, in a few words (`bus and 7-bit
    /// address`); empty when it has none worth naming.
    pub scope: &'static str,
    /// The module's section in `docs/abi.md` before its function table
    /// (Markdown; may be empty).
    pub doc: &'static str,
    /// Its functions, in documentation order.
    pub functions: &'static [Function],
    /// The module's part of `include/akira.h`, in order.
    pub c_items: &'static [CItem],
}

impl Module {
    /// The function called `name`, if the module has one.
    pub fn function(&self, name: &str) -> Option<&'static Function> {
        self.functions.iter().find(|f| f.name == name)
    }
}

/// One piece of a module's part of the C header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CItem {
    /// An empty line.
    Blank,
    /// A comment (plain text, lines as written).
    Comment(&'static str),
    /// A constant: `#define name value /* comment */`.
    Define {
        /// Its name (`AKIRA_GPIO_OUTPUT`).
        name: &'static str,
        /// Its value, as C (`1`, `0x02`).
        value: &'static str,
        /// What it is (plain text; empty for none).
        comment: &'static str,
    },
    /// C written out (a struct or a function-like macro), with any
    /// comment it carries.
    Text(&'static str),
    /// The declaration of the module's function of this name, with its
    /// [`Function::c_doc`].
    Import(&'static str),
}

/// One error code of the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ErrorCode {
    /// The code (negative).
    pub code: i32,
    /// Its C name (`AKIRA_EDENIED`).
    pub name: &'static str,
    /// What it means.
    pub meaning: &'static str,
}
