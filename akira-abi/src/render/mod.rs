//! The ABI written out: `docs/abi.md` ([`markdown`]), `include/akira.h`
//! ([`c_header`]) and the Rust SDK's import declarations
//! ([`rust_imports`], which `akira-app`'s build script writes). Each writes
//! to any [`core::fmt::Write`]; `cargo run -p akira-abi` writes the first
//! two into the repository.

use core::fmt::{self, Write};

use crate::{ABI_VERSION, CItem, ERRORS, Function, MODULES, Module, Ret, Type, WASI};

/// What writes a generated file.
pub type Render = fn(&mut dyn Write) -> fmt::Result;

/// The generated files, relative to the repository's root, and what writes
/// each.
pub const FILES: [(&str, Render); 2] = [("docs/abi.md", |out| markdown(out)), ("include/akira.h", |out| c_header(out))];

/// `docs/abi.md`: the conventions, the error table and each module's
/// section with its function table.
pub fn markdown(out: &mut dyn Write) -> fmt::Result {
    out.write_str(include_str!("intro.md"))?;
    out.write_str("| code | name | meaning |\n|---|---|---|\n")?;
    for e in &ERRORS {
        writeln!(out, "| {} | `{}` | {} |", e.code, e.name, e.meaning)?;
    }
    out.write_str("\n")?;
    out.write_str(include_str!("stability.md"))?;
    for m in MODULES {
        writeln!(out, "\n## `{}` — capability `{}`\n", m.import, m.capability)?;
        if !m.doc.is_empty() {
            writeln!(out, "{}\n", m.doc)?;
        }
        out.write_str("| function | signature | stability | fuel | what it does |\n|---|---|---|---|---|\n")?;
        for f in m.functions {
            let (name, stability) = (f.name, f.stability.name());
            writeln!(out, "| `{name}` | `{}` | {stability} | {} | {} |", Signature(f), f.cost, f.doc)?;
        }
    }
    out.write_str("\n")?;
    out.write_str(include_str!("outro.md"))?;
    wasi_markdown(out)?;
    akiraos_markdown(out)
}

/// The AkiraOS section of `docs/abi.md`: how its apps are translated, and
/// each `env` import with what Akira does with it.
fn akiraos_markdown(out: &mut dyn Write) -> fmt::Result {
    use crate::akiraos::{IMPORTS, Support};
    out.write_str(include_str!("akiraos.md"))?;
    let count = |f: fn(&Support) -> bool| IMPORTS.iter().filter(|i| f(&i.support)).count();
    writeln!(
        out,
        "Of the {} imports of the header: {} translated, {} partly, {} missing, {} refused by design.\n",
        IMPORTS.len(),
        count(|s| matches!(s, Support::Shim(_))),
        count(|s| matches!(s, Support::Partly(_))),
        count(|s| matches!(s, Support::Missing(_))),
        count(|s| matches!(s, Support::Refused(_))),
    )?;
    out.write_str("| import | signature | AkiraOS capability | Akira |\n|---|---|---|---|\n")?;
    for i in IMPORTS {
        let (what, how) = match i.support {
            Support::Shim(how) => ("translated", how),
            Support::Partly(how) => ("partly", how),
            Support::Missing(why) => ("**missing**", why),
            Support::Refused(why) => ("**refused**", why),
        };
        write!(out, "| `{}` | ", i.name)?;
        for (n, sig) in i.signatures().enumerate() {
            out.write_str(if n == 0 { "" } else { " (later header: " })?;
            env_signature(out, sig)?;
            out.write_str(if n == 0 { "" } else { ")" })?;
        }
        writeln!(out, " | {} | {what}: {how} |", i.capability)?;
    }
    Ok(())
}

/// An `env` signature (`ii:i`) as `` `(i32, i32) -> i32` ``.
fn env_signature(out: &mut dyn Write, sig: &str) -> fmt::Result {
    use crate::akiraos::{params, results};
    out.write_str("`(")?;
    for (n, t) in params(sig).enumerate() {
        write!(out, "{}{}", if n == 0 { "" } else { ", " }, t.name())?;
    }
    out.write_str(") -> ")?;
    match results(sig).next() {
        Some(t) => out.write_str(t.name())?,
        None => out.write_str("()")?,
    }
    out.write_str("`")
}

/// The WASI section of `docs/abi.md`: what the firmware provides of WASI
/// preview 1, and each function with the part of `wasi` it needs.
fn wasi_markdown(out: &mut dyn Write) -> fmt::Result {
    writeln!(out, "\n# WASI preview 1: `{}` — capability `{}`\n", WASI.import, WASI.capability)?;
    writeln!(out, "{}", WASI.doc)?;
    out.write_str("| function | signature | what the firmware does |\n|---|---|---|\n")?;
    for f in WASI.functions {
        writeln!(out, "| `{}` | `{}` | {} |", f.name, Signature(f), f.doc)?;
    }
    Ok(())
}

/// A function's wasm signature as the docs write it: `(i32, i64) -> i32`.
pub struct Signature<'a>(pub &'a Function);

impl fmt::Display for Signature<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, t) in self.0.wasm_params().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{}", t.name())?;
        }
        match self.0.result.wasm() {
            [] => f.write_str(") -> ()"),
            [one] => write!(f, ") -> {}", one.name()),
            many => {
                f.write_str(") -> (")?;
                for (i, t) in many.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{}", t.name())?;
                }
                f.write_str(")")
            }
        }
    }
}

/// `include/akira.h`: the error codes, and each module's constants and
/// function declarations (`akira_<module>_<function>`, imported from the
/// module under the function's name).
pub fn c_header(out: &mut dyn Write) -> fmt::Result {
    out.write_str(include_str!("header-start.h"))?;
    writeln!(out, "#define AKIRA_ABI_VERSION {ABI_VERSION}\n")?;
    c_heading(out, &"Error codes")?;
    let errors: [CItem; 10] =
        core::array::from_fn(|i| CItem::Define { name: ERRORS[i].name, value: "", comment: ERRORS[i].meaning });
    let values: [(i32, &str); 10] = core::array::from_fn(|i| (ERRORS[i].code, ERRORS[i].name));
    c_defines(out, &errors, |name| values.iter().find(|v| v.1 == name).map(|v| Value::Negative(v.0)))?;
    for m in MODULES {
        out.write_str("\n")?;
        c_module(out, m)?;
    }
    out.write_str("\n")?;
    out.write_str(include_str!("header-end.h"))
}

/// A constant's value: as written, or a negative code in parentheses.
enum Value<'a> {
    Text(&'a str),
    Negative(i32),
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::Negative(n) => write!(f, "({n})"),
        }
    }
}

/// `/* ---- title ------ */`, 77 columns wide (or wider for a long title).
fn c_heading(out: &mut dyn Write, title: &dyn fmt::Display) -> fmt::Result {
    write!(out, "/* ---- {title}")?;
    let mut counted = Counter(0);
    write!(counted, "/* ---- {title}")?;
    if counted.0 + 1 < 74 {
        out.write_char(' ')?;
        for _ in counted.0 + 1..74 {
            out.write_char('-')?;
        }
    }
    out.write_str(" */\n\n")
}

fn c_module(out: &mut dyn Write, m: &Module) -> fmt::Result {
    c_heading(out, &Title(m))?;
    let mut i = 0;
    while i < m.c_items.len() {
        // A run of constants is aligned as one block.
        let run = m.c_items[i..].iter().take_while(|c| matches!(c, CItem::Define { .. })).count();
        if run > 0 {
            c_defines(out, &m.c_items[i..i + run], |_| None)?;
            i += run;
            continue;
        }
        match m.c_items[i] {
            CItem::Blank => out.write_str("\n")?,
            CItem::Comment(text) => c_comment(out, text)?,
            CItem::Text(text) => writeln!(out, "{text}")?,
            CItem::Import(name) => match m.function(name) {
                Some(f) => c_declaration(out, m, f)?,
                None => return Err(fmt::Error),
            },
            CItem::Define { .. } => unreachable!("handled as a run above"),
        }
        i += 1;
    }
    Ok(())
}

/// The heading's text: `akira:i2c (capability `i2c`: bus and 7-bit address)`.
struct Title<'a>(&'a Module);

impl fmt::Display for Title<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{} (capability `{}`", m.import, m.capability)?;
        if !m.scope.is_empty() {
            write!(f, ": {}", m.scope)?;
        }
        f.write_str(")")
    }
}

/// Counts the characters written to it.
struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.chars().count();
        Ok(())
    }
}

/// `#define`s with their comments aligned one column after the longest.
fn c_defines(out: &mut dyn Write, defines: &[CItem], value: impl Fn(&str) -> Option<Value<'static>>) -> fmt::Result {
    let text = |c: &CItem| match *c {
        CItem::Define { name, value: v, comment } => (name, value(name).unwrap_or(Value::Text(v)), comment),
        _ => ("", Value::Text(""), ""),
    };
    let width = defines
        .iter()
        .map(|c| {
            let (name, v, _) = text(c);
            let mut n = Counter(0);
            let _ = write!(n, "#define {name} {v}");
            n.0
        })
        .max()
        .unwrap_or(0);
    for c in defines {
        let (name, v, comment) = text(c);
        let mut n = Counter(0);
        let _ = write!(n, "#define {name} {v}");
        write!(out, "#define {name} {v}")?;
        if !comment.is_empty() {
            for _ in n.0..=width {
                out.write_char(' ')?;
            }
            write!(out, "/* {comment} */")?;
        }
        out.write_str("\n")?;
    }
    Ok(())
}

/// A C comment: `/* text */` on one line, else ` * `-continued lines.
fn c_comment(out: &mut dyn Write, text: &str) -> fmt::Result {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    write!(out, "/* {first}")?;
    for line in lines {
        if line.is_empty() {
            out.write_str("\n *")?;
        } else {
            write!(out, "\n * {line}")?;
        }
    }
    out.write_str(" */\n")
}

fn c_type(ty: Type) -> &'static str {
    match ty {
        Type::I32 => "int32_t",
        Type::U32 => "uint32_t",
        Type::I64 => "int64_t",
        Type::Ptr(pointee) => pointee.c_type(),
    }
}

/// `AKIRA_IMPORT("akira:gpio", "read") int32_t akira_gpio_read(int32_t pin);`
fn c_declaration(out: &mut dyn Write, m: &Module, f: &Function) -> fmt::Result {
    if !f.c_doc.is_empty() {
        c_comment(out, f.c_doc)?;
    }
    let ret = match f.result {
        Ret::I32 => "int32_t",
        Ret::I64 => "int64_t",
        Ret::Never => "__attribute__((noreturn)) void",
    };
    write!(out, "AKIRA_IMPORT(\"{}\", \"{}\") {ret} akira_{}_{}(", m.import, f.name, m.name, f.name)?;
    if f.params.is_empty() {
        out.write_str("void")?;
    }
    for (i, p) in f.params.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        match p.ty {
            Type::Ptr(_) => write!(out, "{sep}{} *{}", c_type(p.ty), p.name)?,
            _ => write!(out, "{sep}{} {}", c_type(p.ty), p.name)?,
        }
    }
    out.write_str(");\n")
}

/// The Rust SDK's declarations: one module per ABI module, named after it,
/// holding an `extern "C"` block linked to the import module. Integers are
/// `i32`/`i64` (the wasm types), pointers `*const u8` or `*mut u8`, and
/// `sys.exit` returns `!`.
pub fn rust_imports(out: &mut dyn Write) -> fmt::Result {
    writeln!(out, "// Generated from the akira-abi crate by akira-app's build script: do not edit.")?;
    for m in MODULES {
        writeln!(out, "\n/// `{}` (generated from `akira-abi`).", m.import)?;
        writeln!(out, "#[allow(dead_code)]\npub(crate) mod {} {{", m.name)?;
        writeln!(out, "    #[link(wasm_import_module = \"{}\")]\n    unsafe extern \"C\" {{", m.import)?;
        for f in m.functions {
            write!(out, "        pub fn {}(", f.name)?;
            for (i, p) in f.params.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let ty = match p.ty {
                    Type::I32 | Type::U32 => "i32",
                    Type::I64 => "i64",
                    Type::Ptr(_) if p.ty.reads_only() => "*const u8",
                    Type::Ptr(_) => "*mut u8",
                };
                write!(out, "{sep}{}: {ty}", p.name)?;
            }
            let ret = match f.result {
                Ret::I32 => " -> i32",
                Ret::I64 => " -> i64",
                Ret::Never => " -> !",
            };
            writeln!(out, "){ret};")?;
        }
        writeln!(out, "    }}\n}}")?;
    }
    Ok(())
}
