//! `akira new`: a new app directory that builds and runs at once with
//! `akira run <dir>`, from the templates in `templates/`.

use std::path::{Path, PathBuf};

use akira_caps::manifest::is_app_name;
use clap::{Args, ValueEnum};

use crate::Failure;

/// The language of a new app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust with the `akira-app` SDK (cargo, wasm32-unknown-unknown).
    Rust,
    /// C with `akira.h` (clang and lld, through the app's `build.sh`).
    C,
}

/// Arguments of `akira new`.
#[derive(Args)]
pub struct NewArgs {
    /// The new app's directory; its last part is the app's name (1 to 32
    /// characters of a-z, 0-9, '-' and '_').
    path: PathBuf,
    /// The app's language.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    lang: Lang,
}

/// One file of a template: where it goes in the app, and its text with
/// `{{name}}` (and in Cargo.toml `{{akira-app}}`) to fill in.
struct TemplateFile {
    path: &'static str,
    text: &'static str,
    executable: bool,
}

const fn file(path: &'static str, text: &'static str) -> TemplateFile {
    TemplateFile { path, text, executable: false }
}

const RUST: &[TemplateFile] = &[
    file("Cargo.toml", include_str!("../templates/rust/Cargo.toml.in")),
    file("Akira.toml", include_str!("../templates/rust/Akira.toml")),
    file("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
    file(".gitignore", include_str!("../templates/rust/gitignore")),
];

const C: &[TemplateFile] = &[
    file("Akira.toml", include_str!("../templates/c/Akira.toml")),
    file("src/main.c", include_str!("../templates/c/src/main.c")),
    TemplateFile { path: "build.sh", text: include_str!("../templates/c/build.sh"), executable: true },
    // The SDK header of this version of the command, so the app builds on
    // its own.
    file("include/akira.h", include_str!("../templates/c/include/akira.h")),
    file(".gitignore", include_str!("../templates/c/gitignore")),
];

/// The `akira-app` release the Rust template asks for (a test keeps it
/// equal to akira-app's version in this repository).
const AKIRA_APP_VERSION: &str = "0.1.0";

/// The Rust template's dependency on `akira-app`: by path as well when this
/// command runs from a clone of the Akira repository (`cargo install --path
/// akira-cli`, `cargo run -p akira-cli`), so it builds before akira-app is
/// on crates.io; by version only otherwise.
fn akira_app_dependency() -> (String, Option<PathBuf>) {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../akira-app");
    match checkout.join("Cargo.toml").is_file().then(|| checkout.canonicalize()) {
        Some(Ok(path)) => {
            let line = format!("akira-app = {{ version = \"{AKIRA_APP_VERSION}\", path = {:?} }}", path.display());
            (line, Some(path))
        }
        _ => (format!("akira-app = \"{AKIRA_APP_VERSION}\""), None),
    }
}

/// `akira new`.
pub fn new(args: NewArgs) -> Result<u8, Failure> {
    let name = args.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if !is_app_name(name) {
        return Err(Failure::Usage(format!(
            "`{name}` cannot name an app: use 1 to 32 characters of a-z, 0-9, '-' and '_'"
        )));
    }
    if args.lang == Lang::Rust && !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(Failure::Usage(format!("`{name}` cannot name a Rust package: start it with a letter")));
    }
    if args.path.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Failure::Usage(format!("{} exists and is not empty", args.path.display())));
    }
    let (dependency, sdk_path) = akira_app_dependency();
    let template = match args.lang {
        Lang::Rust => RUST,
        Lang::C => C,
    };
    for f in template {
        let path = args.path.join(f.path);
        let text = f.text.replace("{{name}}", name).replace("{{akira-app}}", &dependency);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            std::fs::write(&path, text)?;
            #[cfg(unix)]
            if f.executable {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            }
            Ok(())
        };
        write().map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let dir = args.path.display();
    match args.lang {
        Lang::Rust => {
            println!("created the Rust app `{name}` in {dir}: Cargo.toml, Akira.toml, src/lib.rs");
            match sdk_path {
                Some(path) => println!("akira-app {AKIRA_APP_VERSION} from {}", path.display()),
                None => println!("akira-app {AKIRA_APP_VERSION} from crates.io"),
            }
        }
        Lang::C => {
            println!("created the C app `{name}` in {dir}: Akira.toml, src/main.c, build.sh, include/akira.h");
            println!("build.sh needs clang and lld (Debian: apt-get install clang lld)");
        }
    }
    println!("run it on the simulated board: akira run {dir}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rust_template_asks_for_this_repositorys_akira_app() {
        let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../akira-app/Cargo.toml"))
            .expect("akira-app beside akira-cli");
        let version = manifest.lines().find_map(|l| l.strip_prefix("version = ")).expect("akira-app's version");
        assert_eq!(version.trim_matches('"'), AKIRA_APP_VERSION, "update AKIRA_APP_VERSION with akira-app's release");
    }

    #[test]
    fn templates_fill_every_placeholder() {
        for f in RUST.iter().chain(C) {
            let text = f.text.replace("{{name}}", "x").replace("{{akira-app}}", "y");
            assert!(!text.contains("{{"), "{}: a placeholder left", f.path);
        }
    }
}
