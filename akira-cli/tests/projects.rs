//! An app project as a newcomer meets it: `akira new` then `akira run`, in
//! Rust and in C; one version (Cargo.toml's); a signing key made inside a
//! git repository.

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

fn have_clang() -> bool {
    let found = Command::new("clang").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: clang is not installed; C apps are built in CI (apt-get install clang lld)");
    }
    found
}

/// `akira run <app>` of a new app: it greets, blinks three times, exits.
fn runs_at_once(dir: &Path, app: &str) {
    let o = akira(dir, &["run", app, "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains(&format!("info: hello from {app}")), "{out}");
    let toggles = out.lines().filter(|l| l.contains("gpio 2 ->")).count();
    assert_eq!(toggles, 6, "on and off three times:\n{out}");
    assert!(out.contains("info: blinked three times"), "{out}");
}

#[test]
fn a_new_rust_app_builds_and_runs_at_once() {
    let dir = workdir("new-rust");
    let o = akira(&dir, &["new", "hello"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("created the Rust app `hello`"), "{out}");
    assert!(out.contains("run it on the simulated board: akira run hello"), "{out}");
    for file in ["Cargo.toml", "Akira.toml", "src/lib.rs", ".gitignore"] {
        assert!(dir.join("hello").join(file).is_file(), "{file}");
    }
    runs_at_once(&dir, "hello");
    // Its one version is Cargo.toml's.
    let o = akira(&dir, &["pack", "hello", "--unsigned"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(dir.join("hello-0.1.0.akpkg").is_file());
}

#[test]
fn a_new_c_app_builds_and_runs_at_once() {
    if !have_clang() {
        return;
    }
    let dir = workdir("new-c");
    let o = akira(&dir, &["new", "hello-c", "--lang", "c"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    for file in ["Akira.toml", "src/main.c", "build.sh", "include/akira.h", ".gitignore"] {
        assert!(dir.join("hello-c").join(file).is_file(), "{file}");
    }
    runs_at_once(&dir, "hello-c");
}

#[test]
fn new_refuses_a_bad_name_and_a_directory_in_use() {
    let dir = workdir("new-refused");
    let o = akira(&dir, &["new", "Hello World"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("`Hello World` cannot name an app"), "{:?}", text(&o));
    let o = akira(&dir, &["new", "1st"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("start it with a letter"), "{:?}", text(&o));
    std::fs::create_dir_all(dir.join("taken")).unwrap();
    std::fs::write(dir.join("taken/notes.txt"), "mine").unwrap();
    let o = akira(&dir, &["new", "taken"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("taken exists and is not empty"), "{:?}", text(&o));
    assert_eq!(std::fs::read_to_string(dir.join("taken/notes.txt")).unwrap(), "mine");
}

#[test]
fn a_c_example_directory_runs_through_its_build_script() {
    if !have_clang() {
        return;
    }
    let app = root().join("examples/apps/c-blinky");
    let o = akira(&root(), &["run", app.to_str().unwrap(), "--virtual-time", "--for", "1s"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("(build.sh)"), "{err}");
    assert!(out.contains("c-blinky     info: LED on"), "{out}");
}
