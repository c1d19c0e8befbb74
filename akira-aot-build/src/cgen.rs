//! From wasm to C: the module's interface, wasm2c, and the glue that gives
//! the blob fixed entry points.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use akira_aot::format::ValType;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

use crate::AotBuildError;
use crate::fuel::{CustomPages, FUEL_EXPORT, OUT_OF_FUEL_IMPORT};

/// The module name given to wasm2c: every generated symbol starts `Z_app`.
pub(crate) const MODULE_NAME: &str = "app";

/// A wasm function import or export with its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FuncSig {
    pub module: String,
    pub name: String,
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

/// What the blob needs to know of the module.
#[derive(Clone, Debug, Default)]
pub(crate) struct Interface {
    pub imports: Vec<FuncSig>,
    pub exports: Vec<FuncSig>,
    /// Entries of the type section: wasm2c registers one function type
    /// per entry, the most the runtime's type table has to hold.
    pub func_types: usize,
    /// The most parameters and results of any of those types.
    pub max_type_arity: usize,
}

fn val_type(t: wasmparser::ValType, func: &str) -> Result<ValType, AotBuildError> {
    match t {
        wasmparser::ValType::I32 => Ok(ValType::I32),
        wasmparser::ValType::I64 => Ok(ValType::I64),
        _ => Err(AotBuildError::UnsupportedSignature(func.to_string())),
    }
}

/// Reads the function imports and exports of `wasm` (the instrumented
/// module), with their signatures; refuses what phase 1 does not run.
pub(crate) fn interface(wasm: &[u8]) -> Result<Interface, AotBuildError> {
    let mut types = Vec::new();
    let mut func_types = Vec::new();
    let mut iface = Interface::default();
    let mut import_types = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(section) => {
                for ty in section.into_iter_err_on_gc_types() {
                    types.push(ty?);
                }
            }
            Payload::ImportSection(section) => {
                for import in section {
                    let import = import?;
                    let TypeRef::Func(ty) = import.ty else {
                        return Err(AotBuildError::UnsupportedImport(format!("{}.{}", import.module, import.name)));
                    };
                    func_types.push(ty);
                    // The fuel checks' call is defined by the glue, not
                    // by the device's host functions.
                    if (import.module, import.name) != OUT_OF_FUEL_IMPORT {
                        import_types.push((import.module.to_string(), import.name.to_string(), ty));
                    }
                }
            }
            Payload::FunctionSection(section) => {
                for ty in section {
                    func_types.push(ty?);
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export?;
                    if export.kind == ExternalKind::Func {
                        exports.push((export.name.to_string(), export.index));
                    }
                }
            }
            _ => {}
        }
    }
    let sig = |module: &str, name: &str, ty: u32| -> Result<FuncSig, AotBuildError> {
        let func = types.get(ty as usize).ok_or_else(|| AotBuildError::UnsupportedSignature(name.to_string()))?;
        let params = func.params().iter().map(|&t| val_type(t, name)).collect::<Result<Vec<_>, _>>()?;
        let results = func.results().iter().map(|&t| val_type(t, name)).collect::<Result<Vec<_>, _>>()?;
        if results.len() > 1 || params.len() > 16 || name.len() > 255 || module.len() > 255 {
            return Err(AotBuildError::UnsupportedSignature(name.to_string()));
        }
        Ok(FuncSig { module: module.to_string(), name: name.to_string(), params, results })
    };
    iface.func_types = types.len();
    iface.max_type_arity = types.iter().map(|t| t.params().len() + t.results().len()).max().unwrap_or(0);
    for (module, name, ty) in &import_types {
        iface.imports.push(sig(module, name, *ty)?);
    }
    for (name, index) in &exports {
        let ty = *func_types.get(*index as usize).ok_or(AotBuildError::UnsupportedSignature(name.clone()))?;
        iface.exports.push(sig("", name, ty)?);
    }
    Ok(iface)
}

/// Runs wasm2c on `wasm` in `dir`, giving `app.c` and `app.h`.
pub(crate) fn wasm2c(wasm2c: &Path, wasm: &[u8], dir: &Path) -> Result<(), AotBuildError> {
    let input = dir.join("app.wasm");
    std::fs::write(&input, wasm)?;
    let mut cmd = Command::new(wasm2c);
    let output = dir.join("app.c");
    cmd.arg(&input).arg("-n").arg(MODULE_NAME).arg("-o").arg(&output);
    crate::run_tool(cmd)?;
    let c = std::fs::read_to_string(&output)?;
    std::fs::write(&output, constant_bounds(&c)?)?;
    Ok(())
}

/// wasm2c's `RANGE_CHECK` macro (its definition and continuation lines)
/// replaced by `AKIRA_RANGE_CHECK` (rt/akira_bounds.h: the same check
/// against the memory's size as a build-time constant). Output without
/// the macro is refused: its checks would not be the ones documented.
pub(crate) fn constant_bounds(c: &str) -> Result<String, AotBuildError> {
    let mut out = String::with_capacity(c.len());
    let mut lines = c.split_inclusive('\n');
    let mut found = false;
    while let Some(line) = lines.next() {
        if !line.starts_with("#define RANGE_CHECK(") {
            out.push_str(line);
            continue;
        }
        let mut last = line;
        while last.trim_end().ends_with('\\') {
            last = lines.next().unwrap_or("");
        }
        out.push_str("#define RANGE_CHECK(mem, offset, len) AKIRA_RANGE_CHECK(mem, offset, len)\n");
        found = true;
    }
    if found {
        Ok(out)
    } else {
        Err(AotBuildError::Wasm2cOutput("no RANGE_CHECK macro in wasm2c's output (wabt 1.0.32 expected)".into()))
    }
}

/// The C names wasm2c gave the module's imports and exports, in the order
/// of `iface`, and the number of imported modules `instantiate` takes.
pub(crate) struct CNames {
    pub imports: Vec<String>,
    /// Each import's prototype line in wasm2c's header.
    pub import_prototypes: Vec<String>,
    pub exports: Vec<String>,
    pub fuel_accessor: String,
    /// The C name of the fuel checks' out-of-fuel import.
    pub out_of_fuel: String,
    /// The type of the imported-module instance pointer that import takes.
    pub out_of_fuel_instance: String,
    /// The types of `instantiate`'s imported-module instance parameters.
    pub imported_modules: Vec<String>,
}

/// The parameter types in a prototype line (`void f(A*, B*);`: `A*`, `B*`).
fn parameters(line: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (line.find('('), line.rfind(')')) else { return Vec::new() };
    line[open + 1..close].split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// The function name in a prototype line like `u32 Z_appZ_run(Z_app_instance_t*, u32);`.
fn prototype_name(line: &str) -> Option<&str> {
    let before_paren = &line[..line.find('(')?];
    before_paren.rsplit([' ', '*']).next().filter(|n| !n.is_empty())
}

/// Finds the C names in wasm2c's header: each import and export is
/// announced by a comment (`/* import: 'mod' 'name' */`,
/// `/* export: 'name' */`) followed by its prototype.
pub(crate) fn c_names(header: &str, iface: &Interface) -> Result<CNames, AotBuildError> {
    let lines: Vec<&str> = header.lines().collect();
    let after = |marker: &str| -> Option<String> {
        let at = lines.iter().position(|l| l.trim() == marker)?;
        prototype_name(lines.get(at + 1)?).map(str::to_string)
    };
    let missing = |what: &str| AotBuildError::Wasm2cOutput(format!("no declaration for {what} in wasm2c's header"));
    let mut names = CNames {
        imports: Vec::new(),
        import_prototypes: Vec::new(),
        exports: Vec::new(),
        fuel_accessor: String::new(),
        out_of_fuel: String::new(),
        out_of_fuel_instance: String::new(),
        imported_modules: Vec::new(),
    };
    let prototype = |marker: &str| -> Option<String> {
        let at = lines.iter().position(|l| l.trim() == marker)?;
        lines.get(at + 1).map(|l| l.trim().to_string())
    };
    for import in &iface.imports {
        let marker = format!("/* import: '{}' '{}' */", import.module, import.name);
        names.imports.push(after(&marker).ok_or_else(|| missing(&marker))?);
        names.import_prototypes.push(prototype(&marker).unwrap_or_default());
    }
    let (module, name) = OUT_OF_FUEL_IMPORT;
    let marker = format!("/* import: '{module}' '{name}' */");
    let proto = prototype(&marker).ok_or_else(|| missing(&marker))?;
    names.out_of_fuel = prototype_name(&proto).ok_or_else(|| missing(&marker))?.to_string();
    names.out_of_fuel_instance = parameters(&proto).into_iter().next().ok_or_else(|| missing(&marker))?;
    for export in &iface.exports {
        let marker = format!("/* export: '{}' */", export.name);
        names.exports.push(after(&marker).ok_or_else(|| missing(&marker))?);
    }
    let marker = format!("/* export: '{FUEL_EXPORT}' */");
    names.fuel_accessor = after(&marker).ok_or_else(|| missing(&marker))?;
    let instantiate = format!("void Z_{MODULE_NAME}_instantiate(");
    let line = lines.iter().find(|l| l.starts_with(&instantiate)).ok_or_else(|| missing("instantiate"))?;
    names.imported_modules = parameters(line).into_iter().skip(1).collect();
    Ok(names)
}

fn c_type(t: ValType) -> &'static str {
    match t {
        ValType::I32 => "u32",
        _ => "u64",
    }
}

/// Symbol of the instantiation entry point in the glue.
pub(crate) const INSTANTIATE_SYMBOL: &str = "akira_aot_instantiate";

/// Symbol of export `i`'s entry point in the glue.
pub(crate) fn export_symbol(i: usize) -> String {
    format!("akira_aot_export_{i}")
}

/// The translation unit the blob is compiled from: the module, the
/// runtime, and entry points with one C signature each. `memory_bytes` is
/// the size of the module's memory (0 without one), which its bounds
/// checks compare against.
pub(crate) fn glue(iface: &Interface, names: &CNames, custom_pages: Option<CustomPages>, memory_bytes: u64) -> String {
    let m = MODULE_NAME;
    let mut c = String::new();
    c.push_str("/* Generated by akira-aot-build: the module, the runtime and the entry points. */\n");
    let _ = writeln!(c, "#define AKIRA_MEMORY_BOUND {memory_bytes}ull\n#include \"akira_bounds.h\"");
    // The module calls its imports through wrappers (defined below) that
    // hand the fuel counter to the device around each host call.
    for (i, name) in names.imports.iter().enumerate() {
        let _ = writeln!(c, "#define {name} akira_import_{i}");
    }
    // The fuel checks' out-of-fuel call goes straight to the device's
    // `akira_aot_out_of_fuel`, with the counter's address as the
    // "instance" of the imported module (set at instantiation below): it
    // traps in a compute call (`akira_aot::Trap::OutOfFuel`), or ends the
    // task's time slice and returns with the next slice's fuel in the
    // counter.
    let _ = writeln!(c, "#define {} akira_aot_out_of_fuel", names.out_of_fuel);
    c.push_str("#include \"app.c\"\n");
    if let Some(p) = custom_pages {
        let _ = writeln!(
            c,
            "#define AKIRA_MEMORY_BYTES {}u\n#define AKIRA_MEMORY_PAGES {}u\n#define AKIRA_MEMORY_MAX_PAGES {}u",
            p.bytes, p.initial, p.maximum
        );
    }
    // The runtime's function-type table holds the module's types, no more
    // (it traps at instantiation if wasm2c registered more).
    let _ = writeln!(
        c,
        "#define AKIRA_MAX_FUNC_TYPES {}\n#define AKIRA_MAX_TYPE_ARITY {}",
        iface.func_types.max(1),
        iface.max_type_arity.max(1)
    );
    c.push_str("#include \"akira_rt.c\"\n\n");
    let _ = writeln!(c, "static Z_{m}_instance_t akira_instance;");
    c.push_str("static int32_t *akira_fuel_out;\n");
    c.push_str("WASM_RT_NO_RETURN void akira_aot_trap(uint32_t code);\n\n");
    import_wrappers(&mut c, names);
    // A trap hands the remaining fuel back (running out of fuel is not a
    // trap here: the checks call `out_of_fuel`).
    let _ = writeln!(
        c,
        "void wasm_rt_trap(wasm_rt_trap_t code) {{\n  \
         if (akira_fuel_out) *akira_fuel_out = (int32_t)*{fuel}(&akira_instance);\n  \
         akira_aot_trap((uint32_t)code);\n}}\n",
        fuel = names.fuel_accessor
    );
    let fuel_fn = &names.fuel_accessor;
    let nulls: String = names
        .imported_modules
        .iter()
        .map(|t| {
            if *t == names.out_of_fuel_instance {
                format!(", ({t}){fuel_fn}(&akira_instance)")
            } else {
                ", NULL".into()
            }
        })
        .collect();
    let _ = writeln!(
        c,
        "void {INSTANTIATE_SYMBOL}(void) {{\n  akira_fuel_out = NULL;\n  wasm_rt_call_stack_depth = 0;\n  \
         Z_{m}_init_module();\n  Z_{m}_instantiate(&akira_instance{nulls});\n}}\n"
    );
    for (i, (export, cname)) in iface.exports.iter().zip(&names.exports).enumerate() {
        let args: String =
            export.params.iter().enumerate().map(|(j, &t)| format!(", ({})args[{j}]", c_type(t))).collect();
        let call = format!("{cname}(&akira_instance{args})");
        let (store, value) = if export.results.is_empty() {
            (format!("{call};"), "0")
        } else {
            (format!("uint64_t result = (uint64_t){call};"), "result")
        };
        let _ = writeln!(
            c,
            "uint64_t {sym}(const uint64_t *args, int32_t *fuel) {{\n  (void)args;\n  akira_fuel_out = fuel;\n  \
             *{fuel_fn}(&akira_instance) = (u32)*fuel;\n  wasm_rt_call_stack_depth = 0;\n  {store}\n  \
             *fuel = (int32_t)*{fuel_fn}(&akira_instance);\n  akira_fuel_out = NULL;\n  return {value};\n}}\n",
            sym = export_symbol(i),
            fuel_fn = names.fuel_accessor,
        );
    }
    c
}

/// One wrapper per import: the fuel left goes out to the device's counter
/// (`*akira_fuel_out`) before the host call and comes back from it after,
/// so the device sees what the code spent and can refuel it while the
/// call waits (its CPU budget counts from the last wait, as the
/// interpreter's does).
fn import_wrappers(c: &mut String, names: &CNames) {
    let fuel = &names.fuel_accessor;
    for (i, (name, proto)) in names.imports.iter().zip(&names.import_prototypes).enumerate() {
        let (Some(open), Some(close)) = (proto.find('('), proto.rfind(')')) else { continue };
        let ret = proto[..open].trim_end().strip_suffix(name.as_str()).unwrap_or("u32").trim();
        let params: Vec<&str> = proto[open + 1..close].split(',').map(str::trim).collect();
        let decl: Vec<String> = params.iter().enumerate().map(|(j, t)| format!("{t} a{j}")).collect();
        let args: Vec<String> = (0..params.len()).map(|j| format!("a{j}")).collect();
        let call = format!("{name}({})", args.join(", "));
        let (store, give) =
            if ret == "void" { (format!("{call};"), "") } else { (format!("{ret} r = {call};"), "\n  return r;") };
        let _ = writeln!(
            c,
            "#undef {name}\n{ret} {name}({});\n{ret} akira_import_{i}({}) {{\n  \
             if (akira_fuel_out) *akira_fuel_out = (int32_t)*{fuel}(&akira_instance);\n  {store}\n  \
             if (akira_fuel_out) *{fuel}(&akira_instance) = (u32)*akira_fuel_out;{give}\n}}\n",
            params.join(", "),
            decl.join(", "),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prototype_names_are_found() {
        assert_eq!(prototype_name("u32 Z_appZ_run(Z_app_instance_t*, u32);"), Some("Z_appZ_run"));
        assert_eq!(prototype_name("u32* Z_appZ_akira_fuel(Z_app_instance_t* instance);"), Some("Z_appZ_akira_fuel"));
        assert_eq!(prototype_name("void Z_appZ_go(Z_app_instance_t*);"), Some("Z_appZ_go"));
    }

    #[test]
    fn range_check_is_pointed_at_the_constant_bound() {
        let c = "#define TRAP(x) x\n#define RANGE_CHECK(mem, offset, len)   \\\n  if (UNLIKELY(offset + (uint64_t)len > mem->size)) \\\n    TRAP(OOB);\n\n#define MEMCHECK(mem, a, t) RANGE_CHECK(mem, a, sizeof(t))\n";
        let out = constant_bounds(c).unwrap();
        assert_eq!(
            out,
            "#define TRAP(x) x\n#define RANGE_CHECK(mem, offset, len) AKIRA_RANGE_CHECK(mem, offset, len)\n\n\
             #define MEMCHECK(mem, a, t) RANGE_CHECK(mem, a, sizeof(t))\n"
        );
        assert!(matches!(constant_bounds("#define MEMCHECK(mem, a, t)\n"), Err(AotBuildError::Wasm2cOutput(_))));
    }
}
