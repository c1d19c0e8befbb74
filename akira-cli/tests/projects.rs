//! An app project as a newcomer meets it: one version (Cargo.toml's), and
//! a signing key made inside a git repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn akira(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akira")).args(args).current_dir(dir).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A fresh, empty directory for one test.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("akira-projects-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `examples/apps/blinky` copied to `dir/blinky`, its akira-app found by an
/// absolute path, at `version` in its Cargo.toml.
fn blinky_at(dir: &Path, version: &str) -> PathBuf {
    let from = root().join("examples/apps/blinky");
    let app = dir.join("blinky");
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::copy(from.join("src/lib.rs"), app.join("src/lib.rs")).unwrap();
    std::fs::copy(from.join("Akira.toml"), app.join("Akira.toml")).unwrap();
    let cargo = std::fs::read_to_string(from.join("Cargo.toml")).unwrap();
    let akira_app = root().join("akira-app");
    let cargo = cargo
        .replace("version = \"0.1.0\"", &format!("version = \"{version}\""))
        .replace("path = \"../../../akira-app\"", &format!("path = {:?}", akira_app.to_str().unwrap()));
    std::fs::write(app.join("Cargo.toml"), format!("{cargo}\n[workspace]\n")).unwrap();
    app
}

#[test]
fn an_app_has_the_version_of_its_cargo_toml() {
    let dir = workdir("version");
    let app = blinky_at(&dir, "0.2.0");
    // Akira.toml still says 0.1.0: refused before anything is built.
    let o = akira(&dir, &["pack", "blinky", "--unsigned"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}\n{err}");
    assert!(err.contains("`app.version` is 0.1.0 but"), "{err}");
    assert!(err.contains("Cargo.toml says 0.2.0"), "{err}");
    assert!(err.contains("leave `version` out of Akira.toml"), "{err}");
    assert!(!dir.join("blinky-0.1.0.akpkg").exists());

    // Without a version in Akira.toml the app is Cargo.toml's 0.2.0.
    let toml = std::fs::read_to_string(app.join("Akira.toml")).unwrap().replace("version = \"0.1.0\"\n", "");
    std::fs::write(app.join("Akira.toml"), toml).unwrap();
    let o = akira(&dir, &["pack", "blinky", "--unsigned"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("blinky 0.2.0"), "{out}");
    assert!(dir.join("blinky-0.2.0.akpkg").is_file());
}

fn git(dir: &Path, args: &[&str]) -> bool {
    Command::new("git").args(args).current_dir(dir).output().is_ok_and(|o| o.status.success())
}

#[test]
fn keygen_warns_when_git_would_commit_the_secret_key() {
    let dir = workdir("keygen");
    if !git(&dir, &["init", "--quiet"]) {
        eprintln!("SKIPPED: git is not installed");
        return;
    }
    let o = akira(&dir, &["keygen", "-o", "release"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("secret key release.key (keep it private"), "{out}");
    assert!(err.contains("warning: release.key is in a git work tree that does not ignore it"), "{err}");

    // Ignored (as the repository's own .gitignore does): no warning.
    std::fs::write(dir.join(".gitignore"), "*.key\n").unwrap();
    let o = akira(&dir, &["keygen", "-o", "ci"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn the_repository_ignores_keys_packages_flash_images_and_frames_but_not_its_test_key() {
    let ignored = |path: &str| git(&root(), &["check-ignore", "--quiet", "--no-index", path]);
    if !git(&root(), &["rev-parse", "--git-dir"]) {
        eprintln!("SKIPPED: not in a git checkout");
        return;
    }
    for path in
        ["release.key", "examples/apps/blinky/release.key", "blinky-0.1.0.akpkg", "device.flash", "frames/0.png"]
    {
        assert!(ignored(path), "{path} should be ignored");
    }
    assert!(!ignored("examples/qemu-mps2-an386/test-signer.key"), "the QEMU example's committed test key");
}
