//! Writes the seed inputs of the fuzz targets in the workspace's `fuzz/` (run from the
//! workspace root: `cargo run -p akira-ota --features std --example
//! fuzz_seeds`): packages in both formats, signed by the fuzz targets'
//! trusted key (seed `[7; 32]`) and unsigned, each read in pieces of 1 and
//! 64 bytes; and one signed command of each kind.

use std::path::Path;

use akira_caps::manifest::AppName;
use akira_caps::{Manifest, Version};
use akira_ota::command::{ANY_DEVICE, Action, Command};
use akira_ota::package;
use ed25519_dalek::SigningKey;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let key = SigningKey::from_bytes(&[7; 32]);
    let mut manifest = Manifest::new(AppName::try_from("seed").unwrap(), Version::new(1, 0, 0));
    manifest.capabilities.log = true;
    // A small valid module with its manifest section, 200 bytes or so:
    // four 64-byte chunks in format 2.
    let mut wasm =
        b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x03\x02\x01\0\x07\x0e\x01\x0aakira_main\0\0\x0a\x04\x01\x02\0\x0b"
            .to_vec();
    wasm.extend(manifest.custom_section());
    wasm.extend([0, 0x7f, 4]);
    wasm.extend(b"pad!");
    wasm.extend(std::iter::repeat_n(0x5a, 0x7f - 5));

    let dir = root.join("package_reader");
    std::fs::create_dir_all(&dir)?;
    let packages = [
        ("v2-signed", package::build_chunked(&manifest, &wasm, Some(&key), 6)),
        ("v2-unsigned", package::build_chunked(&manifest, &wasm, None, 6)),
        ("v1-signed", package::build_v1(&manifest, &wasm, Some(&key))),
        ("v1-unsigned", package::build_v1(&manifest, &wasm, None)),
    ];
    for (name, pkg) in &packages {
        // First byte: the piece size; second: reader mode (0 = with a validator).
        for split in [1u8, 64] {
            let mut seed = vec![split, 0];
            seed.extend_from_slice(pkg);
            std::fs::write(dir.join(format!("{name}-split{split}")), seed)?;
        }
    }

    let dir = root.join("command");
    std::fs::create_dir_all(&dir)?;
    let app = AppName::try_from("seed").unwrap();
    let actions = [
        ("list", Action::List),
        ("remove", Action::Remove(app.clone())),
        ("rollback", Action::Rollback(app.clone())),
        ("confirm", Action::Confirm(app.clone())),
        ("allow-downgrade", Action::AllowDowngrade(app, Version::new(1, 2, 3))),
        ("revoke", Action::Revoke([1; 8])),
        ("restore", Action::Restore([1; 8])),
    ];
    for (i, (name, action)) in actions.into_iter().enumerate() {
        let device = if i % 2 == 0 { ANY_DEVICE } else { [1; 8] };
        std::fs::write(dir.join(name), Command { action, device, counter: 1000 + i as u64 }.sign(&key))?;
    }
    println!("seeds written to {}", root.display());
    Ok(())
}
