//! The report: each configuration's sections and crates, then every figure
//! beside its budget.

use crate::Measured;

/// `491520` as `491 520`.
fn bytes(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A figure against its budget: `(text, within)`.
fn check(value: Option<u64>, budget: Option<u64>) -> (String, bool) {
    match (value, budget) {
        (Some(v), Some(b)) if v > b => (format!("{} > {} OVER BUDGET", bytes(v), bytes(b)), false),
        (Some(v), Some(b)) => (format!("{} <= {}", bytes(v), bytes(b)), true),
        (Some(v), None) => (bytes(v), true),
        (None, Some(b)) => (format!("not measured (budget {})", bytes(b)), true),
        (None, None) => ("-".to_string(), true),
    }
}

/// Prints the report; `false` when a budget is exceeded.
pub fn print(results: &[Measured<'_>], top: usize, markdown: bool) -> bool {
    for m in results {
        let f = &m.footprint;
        println!(
            "\n{} ({}): {}",
            m.firmware.name,
            m.firmware.opt_level.as_deref().unwrap_or("package opt-level"),
            m.firmware.about
        );
        println!(
            "  .text {}  .rodata {}  .data {}  .bss {}  | flash {} ({:.1} KiB)  RAM {}",
            bytes(f.text),
            bytes(f.rodata),
            bytes(f.data),
            bytes(f.bss),
            bytes(f.flash),
            f.flash as f64 / 1024.0,
            bytes(f.ram)
        );
        if let Some(memory) = &m.memory {
            let heap = memory.heap_per_app().map_or("-".to_string(), bytes);
            println!("  stack high-water {} B, heap per idle app {} B (QEMU)", bytes(memory.stack), heap);
        }
        println!("  flash by crate (the crate that defines the code):");
        let share = |size: u64| size as f64 * 100.0 / f.flash.max(1) as f64;
        // The last entry is the bytes no symbol covers: always shown.
        let (unnamed, named) = f.crates.split_last().map_or((None, &f.crates[..]), |(u, n)| (Some(u), n));
        for (name, size) in named.iter().take(top).chain(unnamed) {
            println!("    {:>9}  {:>5.1} %  {}", bytes(*size), share(*size), name);
        }
        let rest: u64 = named.iter().skip(top).map(|c| c.1).sum();
        if rest > 0 {
            println!("    {:>9}  {:>5.1} %  ({} more crates)", bytes(rest), share(rest), named.len() - top);
        }
    }

    let mut ok = true;
    let mut rows = Vec::new();
    for m in results {
        let budget = &m.firmware.budget;
        let memory = m.memory.as_ref();
        let cells = [
            check(Some(m.footprint.flash), budget.flash),
            check(Some(m.footprint.ram), budget.ram),
            check(memory.map(|x| x.stack), budget.stack),
            check(memory.and_then(|x| x.heap_per_app()), budget.heap_per_app),
        ];
        ok &= cells.iter().all(|c| c.1);
        rows.push((m.firmware.name.as_str(), cells.map(|c| c.0)));
        for (name, size) in m.footprint.crates.iter().filter(|(name, _)| m.firmware.without.contains(name)) {
            println!(
                "\n{}: {} B of `{name}`, which this firmware must not link: OVER BUDGET",
                m.firmware.name,
                bytes(*size)
            );
            ok = false;
        }
    }
    println!("\nbudgets (bytes):");
    for (name, cells) in &rows {
        println!("  {name}");
        for (what, cell) in ["flash", "RAM", "stack", "heap per app"].iter().zip(cells) {
            println!("    {what:<13} {cell}");
        }
    }
    if markdown {
        println!("\n| configuration | flash | RAM (statics) | stack high-water | heap per idle app |");
        println!("|---|---|---|---|---|");
        for (name, cells) in &rows {
            println!("| {name} | {} | {} | {} | {} |", cells[0], cells[1], cells[2], cells[3]);
        }
    }
    println!("\n{}", if ok { "size report: every budget holds" } else { "size report: OVER BUDGET (see above)" });
    ok
}
