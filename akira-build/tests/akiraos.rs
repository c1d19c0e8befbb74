//! AkiraOS apps translated: each shim run in wasmi against recording
//! Akira imports.

use akira_build::akiraos::{Profile, translate};

/// An AkiraOS-style module: `env` imports, `main(argc, argv)`, one page,
/// a shadow stack, its JSON manifest.
fn app(imports: &str, main: &str, caps: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
            {imports}
            (memory (export "memory") 1 1)
            (global $sp (mut i32) (i32.const 8192))
            (data (i32.const 1024) "count.txt\00hello\00key\00")
            (func (export "main") (param i32 i32) (result i32) {main}))"#
    );
    let mut wasm = wat::parse_str(wat).unwrap();
    let json = format!(r#"{{"name":"t","version":"1.0.0","capabilities":[{caps}],"memory_quota":65536}}"#);
    wasm.extend(custom(".akira.manifest", json.as_bytes()));
    wasm
}

fn custom(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend(name.as_bytes());
    body.extend(data);
    let mut out = vec![0u8];
    let mut n = body.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        out.push(if n > 0 { b | 0x80 } else { b });
        if n == 0 {
            break;
        }
    }
    out.extend(body);
    out
}

/// Runs `akira_main` with every Akira import answering `answer` (and WASI
/// `path_open` writing fd 4), recording the calls.
fn run(wasm: &[u8], answer: i32) -> (i32, Vec<String>) {
    let engine = wasmi::Engine::new(wasmi::Config::default().wasm_custom_page_sizes(true));
    let module = wasmi::Module::new(&engine, wasm).unwrap();
    let mut store = wasmi::Store::new(&engine, Vec::<String>::new());
    let mut linker: wasmi::Linker<Vec<String>> = wasmi::Linker::new(&engine);
    for import in module.imports() {
        let wasmi::ExternType::Func(ty) = import.ty() else { panic!("{import:?}") };
        let name = format!("{}.{}", import.module(), import.name());
        let writes_fd = name == "wasi_snapshot_preview1.path_open";
        linker
            .func_new(import.module(), import.name(), ty.clone(), move |mut c, args, out| {
                let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
                c.data_mut().push(format!("{name}({})", args.join(", ")));
                if writes_fd {
                    let memory = c.get_export("memory").and_then(|e| e.into_memory()).unwrap();
                    let at = match c.data().last().and_then(|s| s.rsplit(", ").next().map(String::from)) {
                        Some(a) => a.trim_start_matches("I32(").trim_end_matches("))").parse::<usize>().unwrap(),
                        None => 0,
                    };
                    memory.write(&mut c, at, &4u32.to_le_bytes()).unwrap();
                }
                if let Some(o) = out.first_mut() {
                    *o = match o {
                        wasmi::Val::I64(_) => wasmi::Val::I64(answer.into()),
                        _ => wasmi::Val::I32(answer),
                    };
                }
                Ok(())
            })
            .unwrap();
    }
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let main = instance.get_typed_func::<(), i32>(&store, "akira_main").unwrap();
    let code = main.call(&mut store, ()).unwrap();
    (code, store.into_data())
}

#[test]
fn storage_open_returns_the_descriptor_or_errno() {
    let wasm = app(
        r#"(import "env" "storage_open" (func $open (param i32 i32) (result i32)))"#,
        "(call $open (i32.const 1024) (i32.const 1))",
        r#""storage.*""#,
    );
    let t = translate(&wasm, &Profile::simulator()).unwrap();
    let (code, calls) = run(&t.wasm, 0);
    assert_eq!(code, 4, "{calls:?}");
    let (code, _) = run(&t.wasm, 44);
    assert_eq!(code, -2, "NOENT as -ENOENT");
}
