//! `akira inspect`: what an app declares and imports, and whether it would
//! be installed.

use std::path::PathBuf;

use akira_caps::imports::{ImportKind, check_import};
use akira_caps::{CapabilitySet, ValType};
use akira_sandbox::bridge_types;
use clap::Args;
use wasmi::{ExternType, Module};

use crate::build::prepare;
use crate::{Failure, describe};

/// Arguments of `akira inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// An app directory (built first) or a `.wasm` file.
    app: PathBuf,
    /// Embed this Akira.toml into a `.wasm` app first.
    #[arg(long, value_name = "AKIRA_TOML")]
    manifest: Option<PathBuf>,
    /// Board profile for an AkiraOS app (TOML: its pins, ports and
    /// buses on this board); the simulated board's by default.
    #[arg(long, value_name = "PROFILE_TOML")]
    profile: Option<PathBuf>,
    /// Device policy file for the verdict; the default allows every
    /// built-in capability.
    #[arg(long, value_name = "POLICY_TOML")]
    policy: Option<PathBuf>,
}

fn signature(params: &[ValType], results: &[ValType]) -> String {
    let join = |l: &[ValType]| l.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
    format!("({}) -> ({})", join(params), join(results))
}

/// Runs `akira inspect`; 0 when the app would be installed, 4 when not.
pub fn inspect(args: InspectArgs) -> Result<u8, Failure> {
    let prepared = prepare(&args.app, args.manifest.as_deref(), args.profile.as_deref())?;
    crate::run::report_build(&prepared);
    let policy = crate::run::load_policy(args.policy.as_deref())?;
    let runtime = akira_sim::runtime(policy);

    let empty = CapabilitySet::default();
    match &prepared.manifest {
        Some(m) => {
            println!("app           {} {} (ABI {})", m.name, m.version, m.abi);
            println!(
                "limits        memory {}, stack {}, heap {}, cpu budget {} fuel between waits",
                describe::bytes(m.memory_limit.into()),
                describe::bytes(m.stack_size.into()),
                describe::bytes(m.heap_size.into()),
                m.cpu_budget
            );
            println!("capabilities");
            for (name, scope) in describe::capabilities(&m.capabilities) {
                println!("  {name:<12}{scope}");
            }
        }
        None => println!("app           no akira.manifest section: granted nothing"),
    }
    let caps = prepared.manifest.as_ref().map_or(&empty, |m| &m.capabilities);

    // List every import with its own verdict, then the overall one.
    let module =
        Module::new(runtime.engine(), &prepared.wasm).map_err(|e| Failure::Refused(format!("invalid wasm: {e}")))?;
    let imports: Vec<_> = module.imports().collect();
    println!("abi           {}", describe::abi(imports.iter().map(|i| i.module()), &prepared.wasm));
    println!("imports ({})", imports.len());
    for import in &imports {
        let (line, verdict) = match import.ty() {
            ExternType::Func(f) => {
                let (params, results) = (bridge_types(f.params()), bridge_types(f.results()));
                let kind = ImportKind::Func { params: &params, results: &results };
                let verdict = check_import(runtime.bridge().specs(), caps, import.module(), import.name(), kind);
                (format!("{}.{} {}", import.module(), import.name(), signature(&params, &results)), verdict)
            }
            _ => {
                let verdict =
                    check_import(runtime.bridge().specs(), caps, import.module(), import.name(), ImportKind::Other);
                (format!("{}.{} (not a function)", import.module(), import.name()), verdict)
            }
        };
        match verdict {
            Ok(_) => println!("  ok       {line}"),
            Err(e) => println!("  REFUSED  {line}: {e}"),
        }
    }
    match runtime.load(&prepared.wasm) {
        Ok(_) => {
            println!("verdict       installable");
            Ok(0)
        }
        Err(e) => {
            println!("verdict       REFUSED: {e}");
            Ok(4)
        }
    }
}
