//! Compiles a wasm module into an AOT blob and prints what it holds.
//!
//! `cargo run -p akira-aot-build --example compile -- app.wasm app.aot [thumbv7em|riscv32imac]`

use akira_aot::format::Blob;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        return Err("usage: compile <app.wasm> <app.aot> [thumbv7em|riscv32imac]".into());
    };
    let mut options = akira_aot_build::Options::default();
    if let Some(target) = args.next() {
        options.target = target.parse()?;
    }
    let wasm = std::fs::read(&input)?;
    let compiled = akira_aot_build::compile(&wasm, &options)?;
    std::fs::write(&output, &compiled.blob)?;
    let blob = Blob::parse(&compiled.blob)?;
    let r = &compiled.report;
    println!("{input}: {} bytes of wasm -> {} bytes of {} blob", wasm.len(), compiled.blob.len(), blob.header.arch);
    println!(
        "image {} B (code {} B, rodata {} B, data {} B), bss {} B, stack bound {} B ({}; largest frame {} B, call depth bound {})",
        blob.header.image_len,
        r.code_len,
        r.rodata_len,
        r.data_len,
        r.bss_len,
        compiled.stack_bound,
        compiled.stack_bound_method,
        compiled.max_frame,
        blob.header.max_call_depth
    );
    println!("device relocations: {:?}; resolved at build time (ELF type: count): {:?}", r.relocs, r.resolved);
    for import in blob.imports() {
        println!(
            "import {:?} {}.{} {:?} -> {:?}",
            import.kind, import.module, import.name, import.params, import.results
        );
    }
    for export in blob.exports() {
        println!("export {} at 0x{:x} {:?} -> {:?}", export.name, export.entry, export.params, export.results);
    }
    Ok(())
}
