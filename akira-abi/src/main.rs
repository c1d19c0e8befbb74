//! Writes the files generated from the ABI (`docs/abi.md`,
//! `include/akira.h`) into the repository: `cargo run -p akira-abi`.
//! `cargo test -p akira-abi` fails while they are not current.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (file, render) in akira_abi::render::FILES {
        let mut text = String::new();
        if render(&mut text).is_err() {
            eprintln!("akira-abi: could not render {file}");
            return ExitCode::FAILURE;
        }
        let path = root.join(file);
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| old == text);
        if unchanged {
            println!("{file}: current");
        } else if let Err(e) = std::fs::write(&path, text) {
            eprintln!("akira-abi: {}: {e}", path.display());
            return ExitCode::FAILURE;
        } else {
            println!("{file}: written");
        }
    }
    ExitCode::SUCCESS
}
