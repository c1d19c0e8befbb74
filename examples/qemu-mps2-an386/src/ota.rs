//! Over the air: a signed package on UART1 into the OTA store, then run.
//! Only in firmware built with validation (the `validate` feature): apps
//! from elsewhere are always validated.

use alloc::vec;

use akira_caps::Policy;
use akira_ota::frame::{self, FrameReader, MAX_FRAME};
use akira_ota::package::{Accepted, Rights, TrustPolicy, TrustedKey, Vouched};
use akira_ota::protocol::{Detail, Request};
use akira_ota::ram_flash::RamFlash;
use akira_ota::server::{Outcome, Session, SessionConfig, Verifier};
use akira_ota::store::{BlockingFlash, BlockingStore, Region, Staging, Store, StoreConfig};
use akira_sandbox::{RestartPolicy, Runtime, Scheduler};

use crate::board::Mps2;
use akira_bridge::Instant;

use crate::{clock, exit, run_all, uart};

/// The key this firmware trusts for OTA packages (a test key: its secret
/// half is in this directory so CI can sign; never ship it).
const TRUSTED_KEY: [u8; 32] = akira_ota::package::public_key_from_hex(include_str!("../test-signer.pub"));

/// The OTA store's "flash": a RAM region (QEMU has no flash model).
const STORE_SIZE: usize = 256 * 1024;

/// The firmware's install check: the sandbox's full load of the staged
/// image under the signer's policy.
struct FirmwareCheck<'r> {
    runtime: &'r Runtime<Mps2>,
    policy: &'r Policy,
}

type StoreFlash = BlockingFlash<RamFlash<'static, 4, 4096>>;

impl Verifier<StoreFlash> for FirmwareCheck<'_> {
    async fn verify(
        &mut self,
        store: &mut Store<StoreFlash>,
        staging: &mut Staging,
        _: &Accepted,
        _: Option<&Vouched>,
    ) -> Result<(), Detail> {
        let mut wasm = vec![0u8; staging.len() as usize];
        store.read_staged(staging, 0, &mut wasm).await.map_err(|_| detail("cannot read the staged image"))?;
        self.runtime.load_with_policy(&wasm, self.policy).map(|_| ()).map_err(|e| {
            let mut d = Detail::new();
            let _ = core::fmt::write(&mut Cut(&mut d), format_args!("{e}"));
            d
        })
    }
}

struct Cut<'a>(&'a mut Detail);

impl core::fmt::Write for Cut<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

fn detail(text: &str) -> Detail {
    let mut d = Detail::new();
    let _ = core::fmt::write(&mut Cut(&mut d), format_args!("{text}"));
    d
}

/// Waits on UART1 for a signed package, installs it in the OTA store, runs
/// it, and exits with its status.
pub fn over_the_air(sched: &mut Scheduler<Mps2>, board: Mps2, policy: &Policy) -> ! {
    // Zeroed (in .bss, not the image); RamFlash erases it to 0xFF.
    static mut STORE_MEM: [u8; STORE_SIZE] = [0; STORE_SIZE];
    // SAFETY: taken once, here; nothing else refers to the region.
    let store_mem = unsafe { &mut *core::ptr::addr_of_mut!(STORE_MEM) };
    let flash = RamFlash::<4, 4096>::new(store_mem);
    let mut store = BlockingStore::open(
        flash,
        Region { offset: 0, size: STORE_SIZE as u32 },
        StoreConfig { meta_sectors: 2, slots: 3 },
    )
    .unwrap_or_else(|e| panic!("store: {e}"));
    let keys = [TrustedKey { name: "test-signer", public_key: TRUSTED_KEY, policy, rights: Rights::OWNER }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let mut session = Session::new(&trust, SessionConfig::default());
    let mut check = FirmwareCheck { runtime: sched.runtime(), policy };
    let mut link = uart::Uart::new(uart::UART1);
    let mut reader = FrameReader::<MAX_FRAME>::new();
    println!("waiting for a package on UART1 (akira push)");
    let installed = loop {
        let (response, outcome) = match reader.read(&mut link) {
            Ok(bytes) => match frame::decode::<Request<'_>>(bytes) {
                Ok(request) => {
                    let now_ms = clock::micros() / 1000;
                    akira_ota::block_on(session.handle(request, now_ms, store.as_async(), &mut check))
                }
                Err(e) => {
                    (akira_ota::protocol::Response::error(akira_ota::protocol::ErrorCode::BadFrame, e.as_str()), None)
                }
            },
            Err(_) => continue,
        };
        let _ = frame::write_frame(&mut link, &response);
        if let Some(Outcome::Installed { name, image }) = outcome {
            println!("installed {name} {} ({} bytes) from UART1", image.version, image.len);
            break (name, image);
        }
    };

    let (name, image) = installed;
    let mut wasm = vec![0u8; image.len as usize];
    if store.read(&image, 0, &mut wasm).is_err() || !store.verify(&image).unwrap_or(false) {
        panic!("installed image unreadable");
    }
    let app = sched.runtime().load_with_policy(&wasm, policy).unwrap_or_else(|e| panic!("{name}: {e}"));
    drop(wasm);
    if let Err(e) = sched.spawn(app, board, RestartPolicy::never()) {
        panic!("{name}: {e}");
    }
    let code = run_all(sched);
    println!("pushed app {name} exited with {code} at {}", Instant::from_micros(clock::micros()));
    println!("figure stack-high-water-with-ota-bytes {}", crate::stack::high_water());
    exit(code == 0)
}
