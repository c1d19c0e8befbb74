//! Trust on every path through the session: apps bound to their signer,
//! signed management commands (rights, device, replay across a reboot,
//! downgrade permission, key revocation, a closed app list), unsigned
//! management refused, backoff after failed transfers, and a firmware
//! without a validator.

#![cfg(feature = "std")]

use akira_caps::manifest::AppName;
use akira_caps::{Manifest, Policy, Version};
use akira_ota::block_on;
use akira_ota::command::{ANY_DEVICE, Action, Command, DeviceId};
use akira_ota::package::{self, Accepted, KeyId, Rights, TrustPolicy, TrustedKey, Vouched};
use akira_ota::protocol::{Detail, ErrorCode, Request, Response};
use akira_ota::server::{AcceptAll, Backoff, Session, SessionConfig, Verifier};
use akira_ota::store::{BlockingFlash, BlockingStore, Region, Staging, Store, StoreConfig};
use akira_ota::testing::SimFlash;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

const SECTORS: usize = 2 + 4 * 8;
const DEVICE: DeviceId = [0xD0; 8];

fn open(flash: SimFlash) -> BlockingStore<SimFlash> {
    let region = Region { offset: 0, size: (SECTORS * 4096) as u32 };
    BlockingStore::open(flash, region, StoreConfig { meta_sectors: 2, slots: 4 }).unwrap()
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn id(seed: u8) -> KeyId {
    package::key_id(&key(seed).verifying_key().to_bytes())
}

fn name(text: &str) -> AppName {
    AppName::try_from(text).unwrap()
}

fn pkg(app: &str, minor: u16, signer: u8) -> Vec<u8> {
    let mut m = Manifest::new(name(app), Version::new(1, minor, 0));
    m.capabilities.log = true;
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend((0..3000u32).map(|i| (i as u8) ^ signer ^ minor as u8));
    package::build(&m, &wasm, Some(&key(signer)))
}

/// Keys 1 (owner), 2 (install only), 3 (install and take over), 4 (remove
/// only), 5 (install, skip validation).
struct Keys {
    policy: Policy,
}

impl Keys {
    fn new() -> Keys {
        Keys { policy: Policy::development() }
    }

    fn list(&self) -> [TrustedKey<'_>; 5] {
        let k = |seed: u8, rights| TrustedKey {
            name: "k",
            public_key: key(seed).verifying_key().to_bytes(),
            policy: &self.policy,
            rights,
        };
        [
            k(1, Rights::OWNER),
            k(2, Rights::INSTALL),
            k(3, Rights::INSTALL | Rights::TAKE_OVER),
            k(4, Rights::REMOVE),
            k(5, Rights::INSTALL | Rights::SKIP_VALIDATION),
        ]
    }
}

fn config() -> SessionConfig {
    SessionConfig { device: DEVICE, ..SessionConfig::default() }
}

/// One request at time `now` (ms).
fn ask<V: Verifier<BlockingFlash<SimFlash>>>(
    session: &mut Session<'_>,
    store: &mut BlockingStore<SimFlash>,
    verifier: &mut V,
    now: u64,
    request: Request<'_>,
) -> Response {
    block_on(session.handle(request, now, store.as_async(), verifier)).0
}

fn push_with<V: Verifier<BlockingFlash<SimFlash>>>(
    session: &mut Session<'_>,
    store: &mut BlockingStore<SimFlash>,
    verifier: &mut V,
    now: u64,
    pkg: &[u8],
) -> Response {
    let id: [u8; 32] = Sha256::digest(pkg).into();
    let r = ask(session, store, verifier, now, Request::Begin { size: pkg.len() as u32, id });
    let Response::Resume { offset } = r else { return r };
    let mut at = offset as usize;
    loop {
        let end = (at + 512).min(pkg.len());
        match ask(session, store, verifier, now, Request::Chunk { offset: at as u32, data: &pkg[at..end] }) {
            Response::Ack { next } => at = next as usize,
            other => return other,
        }
    }
}

fn push(session: &mut Session<'_>, store: &mut BlockingStore<SimFlash>, pkg: &[u8]) -> Response {
    push_with(session, store, &mut AcceptAll, 0, pkg)
}

fn command(
    session: &mut Session<'_>,
    store: &mut BlockingStore<SimFlash>,
    action: Action,
    signer: u8,
    counter: u64,
) -> Response {
    let blob = Command { action, device: ANY_DEVICE, counter }.sign(&key(signer));
    ask(session, store, &mut AcceptAll, 0, Request::Command { blob: &blob })
}

fn code(r: &Response) -> ErrorCode {
    match r {
        Response::Error { code, .. } => *code,
        other => panic!("not an error: {other:?}"),
    }
}

#[test]
fn a_second_signer_cannot_take_an_app_over() {
    let keys = Keys::new();
    let list = keys.list();
    let trust = TrustPolicy { keys: &list, ..TrustPolicy::default() };
    let mut store = open(SimFlash::new(SECTORS));
    let mut session = Session::new(&trust, config());
    assert!(matches!(push(&mut session, &mut store, &pkg("led", 1, 1)), Response::Installed { .. }));
    store.confirm(&name("led")).unwrap();
    let before = store.flash_mut().bytes().to_vec();
    let state = store.state().clone();

    // Key 2 may install apps, but "led" is key 1's: refused before anything
    // is written, with a message that names both keys.
    let r = push(&mut session, &mut store, &pkg("led", 2, 2));
    assert_eq!(code(&r), ErrorCode::BoundToSigner);
    let Response::Error { detail, .. } = &r else { unreachable!() };
    let hex = |k: KeyId| k.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        detail.as_str(),
        format!("the app is bound to key {}; key {} may not take it over", hex(id(1)), hex(id(2)))
    );
    assert_eq!(store.state(), &state, "store unchanged");
    assert!(store.flash_mut().bytes() == before.as_slice(), "flash unchanged");
    // Its own app is fine.
    assert!(matches!(push(&mut session, &mut store, &pkg("other", 1, 2)), Response::Installed { .. }));

    // Key 3 has take-over: the app is then bound to key 3, and key 1 is the
    // stranger (unless it rolls back to key 1's version).
    assert!(matches!(push(&mut session, &mut store, &pkg("led", 3, 3)), Response::Installed { .. }));
    assert_eq!(store.app("led").unwrap().active.signer, Some(id(3)));
    assert_eq!(code(&push(&mut session, &mut store, &pkg("led", 4, 2))), ErrorCode::BoundToSigner);
    assert_eq!(command(&mut session, &mut store, Action::Rollback(name("led")), 1, 1), Response::Done);
    assert_eq!(store.app("led").unwrap().active.signer, Some(id(1)));
}

#[test]
fn management_needs_a_signed_command_from_a_key_with_the_right() {
    let keys = Keys::new();
    let list = keys.list();
    let trust = TrustPolicy { keys: &list, ..TrustPolicy::default() };
    let mut store = open(SimFlash::new(SECTORS));
    let mut session = Session::new(&trust, config());
    push(&mut session, &mut store, &pkg("led", 1, 1));
    store.confirm(&name("led")).unwrap();
    push(&mut session, &mut store, &pkg("led", 2, 1));
    let state = store.state().clone();

    // Unsigned, the old way: refused, nothing changes.
    for request in [
        Request::Remove { name: name("led") },
        Request::Rollback { name: name("led") },
        Request::Confirm { name: name("led") },
    ] {
        let r = ask(&mut session, &mut store, &mut AcceptAll, 0, request);
        assert_eq!(code(&r), ErrorCode::Unauthorized);
    }
    assert_eq!(store.state(), &state);

    // Signed by a key without the right, an unknown key, for another
    // device, garbled: refused, nothing changes.
    assert_eq!(code(&command(&mut session, &mut store, Action::Rollback(name("led")), 2, 1)), ErrorCode::Unauthorized);
    assert_eq!(code(&command(&mut session, &mut store, Action::Rollback(name("led")), 4, 1)), ErrorCode::Unauthorized);
    assert_eq!(code(&command(&mut session, &mut store, Action::Rollback(name("led")), 9, 1)), ErrorCode::UnknownKey);
    let elsewhere = Command { action: Action::Remove(name("led")), device: [1; 8], counter: 1 }.sign(&key(1));
    let r = ask(&mut session, &mut store, &mut AcceptAll, 0, Request::Command { blob: &elsewhere });
    assert_eq!(code(&r), ErrorCode::WrongDevice);
    let mut forged = Command { action: Action::Confirm(name("led")), device: ANY_DEVICE, counter: 1 }.sign(&key(1));
    forged[5] = 2; // confirm -> remove, same signature
    let r = ask(&mut session, &mut store, &mut AcceptAll, 0, Request::Command { blob: &forged });
    assert_eq!(code(&r), ErrorCode::BadSignature);
    let r = ask(&mut session, &mut store, &mut AcceptAll, 0, Request::Command { blob: &forged[..100] });
    assert_eq!(code(&r), ErrorCode::BadCommand);
    assert_eq!(store.state(), &state);

    // The owner's rollback, addressed to this device.
    let mine = Command { action: Action::Rollback(name("led")), device: DEVICE, counter: 5 }.sign(&key(1));
    assert_eq!(ask(&mut session, &mut store, &mut AcceptAll, 0, Request::Command { blob: &mine }), Response::Done);
    assert_eq!(store.app("led").unwrap().active.version, Version::new(1, 1, 0));
    // Replayed, or an older counter: refused.
    let r = ask(&mut session, &mut store, &mut AcceptAll, 0, Request::Command { blob: &mine });
    assert_eq!(code(&r), ErrorCode::Replayed);
    assert_eq!(code(&command(&mut session, &mut store, Action::Remove(name("led")), 4, 5)), ErrorCode::Replayed);
    // Key 4 may remove.
    assert_eq!(command(&mut session, &mut store, Action::Remove(name("led")), 4, 6), Response::Done);
    assert!(store.app("led").is_none());

    // The counter survives a reboot: the same command is still a replay.
    let mut store = open(store.into_flash());
    let mut session = Session::new(&trust, config());
    assert_eq!(store.state().counter, 6);
    let Response::Hello { counter, device, .. } = ask(&mut session, &mut store, &mut AcceptAll, 0, Request::Hello)
    else {
        panic!()
    };
    assert_eq!((counter, device), (6, DEVICE));
    let r = ask(&mut session, &mut store, &mut AcceptAll, 0, Request::Command { blob: &mine });
    assert_eq!(code(&r), ErrorCode::Replayed);
}

#[test]
fn a_signed_downgrade_permission_lets_one_version_in_once() {
    let keys = Keys::new();
    let list = keys.list();
    let trust = TrustPolicy { keys: &list, ..TrustPolicy::default() };
    let mut store = open(SimFlash::new(SECTORS));
    let mut session = Session::new(&trust, config());
    push(&mut session, &mut store, &pkg("led", 5, 1));
    store.confirm(&name("led")).unwrap();
    let old = pkg("led", 3, 1);
    assert_eq!(code(&push(&mut session, &mut store, &old)), ErrorCode::Downgrade);
    // Key 2 may not grant it; key 1 may, for 1.3.0 only.
    let allow = |v| Action::AllowDowngrade(name("led"), v);
    assert_eq!(code(&command(&mut session, &mut store, allow(Version::new(1, 3, 0)), 2, 1)), ErrorCode::Unauthorized);
    assert_eq!(command(&mut session, &mut store, allow(Version::new(1, 3, 0)), 1, 2), Response::Done);
    assert_eq!(code(&push(&mut session, &mut store, &pkg("led", 4, 1))), ErrorCode::Downgrade);
    assert!(matches!(push(&mut session, &mut store, &old), Response::Installed { .. }));
    store.confirm(&name("led")).unwrap();
    // Used up: 1.3.0 again (or 1.2.0) is a downgrade once more.
    assert_eq!(code(&push(&mut session, &mut store, &pkg("led", 2, 1))), ErrorCode::Downgrade);
    // And a reboot does not bring the permission back with a replay.
    let blob = Command { action: allow(Version::new(1, 2, 0)), device: ANY_DEVICE, counter: 3 }.sign(&key(1));
    assert_eq!(ask(&mut session, &mut store, &mut AcceptAll, 0, Request::Command { blob: &blob }), Response::Done);
    let mut store = open(store.into_flash());
    let mut session = Session::new(&trust, config());
    let r = ask(&mut session, &mut store, &mut AcceptAll, 0, Request::Command { blob: &blob });
    assert_eq!(code(&r), ErrorCode::Replayed);
    assert_eq!(code(&push(&mut session, &mut store, &pkg("led", 2, 1))), ErrorCode::Downgrade);
}

#[test]
fn a_revoked_key_is_refused_until_restored() {
    let keys = Keys::new();
    let list = keys.list();
    let trust = TrustPolicy { keys: &list, ..TrustPolicy::default() };
    let mut store = open(SimFlash::new(SECTORS));
    let mut session = Session::new(&trust, config());
    // Only a key with the policy right revokes; not itself, not a stranger.
    assert_eq!(code(&command(&mut session, &mut store, Action::Revoke(id(2)), 2, 1)), ErrorCode::Unauthorized);
    assert_eq!(code(&command(&mut session, &mut store, Action::Revoke(id(1)), 1, 2)), ErrorCode::BadCommand);
    assert_eq!(code(&command(&mut session, &mut store, Action::Revoke(id(9)), 1, 3)), ErrorCode::BadCommand);
    assert_eq!(command(&mut session, &mut store, Action::Revoke(id(4)), 1, 4), Response::Done);
    assert_eq!(command(&mut session, &mut store, Action::Revoke(id(2)), 1, 5), Response::Done);
    let r = push(&mut session, &mut store, &pkg("app", 1, 2));
    assert_eq!(code(&r), ErrorCode::Revoked);
    assert!(store.apps().is_empty());
    // Revocation persists; the revoked key's commands are refused too.
    let mut store = open(store.into_flash());
    let mut session = Session::new(&trust, config());
    assert!(store.state().is_revoked(&id(2)));
    assert_eq!(code(&command(&mut session, &mut store, Action::Remove(name("app")), 4, 6)), ErrorCode::Revoked);
    assert_eq!(command(&mut session, &mut store, Action::Restore(id(2)), 1, 7), Response::Done);
    assert!(matches!(push(&mut session, &mut store, &pkg("app", 1, 2)), Response::Installed { .. }));
}

#[test]
fn a_closed_list_needs_a_signed_request_whose_counter_stays_in_ram() {
    let keys = Keys::new();
    let list = keys.list();
    let trust = TrustPolicy { keys: &list, list_needs_signature: true, ..TrustPolicy::default() };
    let mut store = open(SimFlash::new(SECTORS));
    let mut session = Session::new(&trust, config());
    push(&mut session, &mut store, &pkg("led", 1, 1));
    assert_eq!(code(&ask(&mut session, &mut store, &mut AcceptAll, 0, Request::List)), ErrorCode::Unauthorized);
    assert_eq!(code(&command(&mut session, &mut store, Action::List, 2, 1)), ErrorCode::Unauthorized);
    let journal = store.journal_position();
    let r = command(&mut session, &mut store, Action::List, 1, 10);
    assert!(matches!(r, Response::Apps(ref apps) if apps.len() == 1), "{r:?}");
    assert_eq!(store.journal_position(), journal, "a list writes nothing");
    assert_eq!(code(&command(&mut session, &mut store, Action::List, 1, 10)), ErrorCode::Replayed);
    // The next command must still be above it.
    assert_eq!(code(&command(&mut session, &mut store, Action::Confirm(name("led")), 1, 9)), ErrorCode::Replayed);
    assert_eq!(command(&mut session, &mut store, Action::Confirm(name("led")), 1, 11), Response::Done);
}

#[test]
fn failed_transfers_are_counted_and_backed_off() {
    let keys = Keys::new();
    let list = keys.list();
    let trust = TrustPolicy { keys: &list, ..TrustPolicy::default() };
    let mut store = open(SimFlash::new(SECTORS));
    let backoff = Backoff { free_failures: 2, first_ms: 1000, max_ms: 4000 };
    let mut session = Session::new(&trust, SessionConfig { backoff, ..config() });
    let mut bad = pkg("led", 1, 1);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let attempt = |session: &mut Session<'_>, store: &mut BlockingStore<SimFlash>, now| {
        push_with(session, store, &mut AcceptAll, now, &bad)
    };
    // Two free failures, then 1 s, 2 s, 4 s, 4 s.
    assert_eq!(code(&attempt(&mut session, &mut store, 0)), ErrorCode::BadChunk);
    assert_eq!(code(&attempt(&mut session, &mut store, 0)), ErrorCode::BadChunk);
    assert_eq!(code(&attempt(&mut session, &mut store, 0)), ErrorCode::BadChunk);
    assert_eq!(attempt(&mut session, &mut store, 400), Response::RetryAfter { ms: 600 });
    assert_eq!(code(&attempt(&mut session, &mut store, 1000)), ErrorCode::BadChunk);
    assert_eq!(attempt(&mut session, &mut store, 2999), Response::RetryAfter { ms: 1 });
    assert_eq!(code(&attempt(&mut session, &mut store, 3000)), ErrorCode::BadChunk);
    assert_eq!(code(&attempt(&mut session, &mut store, 7000)), ErrorCode::BadChunk);
    assert_eq!(attempt(&mut session, &mut store, 7000), Response::RetryAfter { ms: 4000 });
    let Response::Hello { failed_transfers, .. } = ask(&mut session, &mut store, &mut AcceptAll, 7000, Request::Hello)
    else {
        panic!()
    };
    assert_eq!(failed_transfers, 6);
    // A good package after the wait resets the backoff.
    assert!(matches!(
        push_with(&mut session, &mut store, &mut AcceptAll, 11_000, &pkg("good", 1, 1)),
        Response::Installed { .. }
    ));
    assert_eq!(code(&attempt(&mut session, &mut store, 11_000)), ErrorCode::BadChunk);
    assert_eq!(session.failed_transfers(), 7);
}

/// Records whether a trusted signer vouched for the staged image, and
/// that the proof covers exactly its bytes.
#[derive(Default)]
struct Probe {
    vouched: Vec<bool>,
}

impl Verifier<BlockingFlash<SimFlash>> for Probe {
    async fn verify(
        &mut self,
        store: &mut Store<BlockingFlash<SimFlash>>,
        staging: &mut Staging,
        _: &Accepted,
        vouched: Option<&Vouched>,
    ) -> Result<(), Detail> {
        if let Some(proof) = vouched {
            use akira_caps::VouchedWasm;
            let mut wasm = vec![0; staging.len() as usize];
            store.read_staged(staging, 0, &mut wasm).await.map_err(|_| Detail::new())?;
            assert!(proof.covers(&wasm));
            wasm[9] ^= 1;
            assert!(!proof.covers(&wasm));
            assert_eq!(proof.signer(), id(5));
        }
        self.vouched.push(vouched.is_some());
        Ok(())
    }
}

#[test]
fn without_a_validator_only_trusted_signers_install() {
    let keys = Keys::new();
    let list = keys.list();
    let dev = Policy::development();
    let trust = TrustPolicy { keys: &list, unsigned: Some(&dev), ..TrustPolicy::default() };
    let mut store = open(SimFlash::new(SECTORS));
    let before = store.flash_mut().bytes().to_vec();
    let mut session = Session::new(&trust, SessionConfig { validator: false, ..config() });
    let mut probe = Probe::default();
    let unsigned = {
        let mut m = Manifest::new(name("led"), Version::new(1, 0, 0));
        m.capabilities.log = true;
        package::build(&m, b"\0asm\x01\0\0\0 a module", None)
    };
    for pkg in [pkg("led", 1, 1), pkg("led", 1, 2), unsigned] {
        let r = push_with(&mut session, &mut store, &mut probe, 0, &pkg);
        assert_eq!(code(&r), ErrorCode::NeedsTrustedSigner);
        let Response::Error { detail, .. } = r else { unreachable!() };
        assert!(detail.starts_with("this firmware has no wasm validator"), "{detail}");
    }
    assert!(store.flash_mut().bytes() == before.as_slice(), "refused at the header: nothing written");
    assert!(probe.vouched.is_empty());
    assert!(matches!(
        push_with(&mut session, &mut store, &mut probe, 0, &pkg("led", 1, 5)),
        Response::Installed { .. }
    ));
    assert_eq!(probe.vouched, [true]);
    // With a validator the same keys install, vouched only for key 5.
    let mut session = Session::new(&trust, config());
    push_with(&mut session, &mut store, &mut probe, 0, &pkg("other", 1, 2));
    push_with(&mut session, &mut store, &mut probe, 0, &pkg("led", 2, 5));
    assert_eq!(probe.vouched, [true, false, true]);
    // The store vouches for an installed image of key 5 only.
    let five = store.app("led").unwrap().active.clone();
    let two = store.app("other").unwrap().active.clone();
    assert_eq!(store.vouch(&five, &trust).unwrap().map(|v| v.signer()), Some(id(5)));
    assert_eq!(store.vouch(&two, &trust).unwrap(), None);
}

#[test]
fn a_command_has_one_encoding() {
    // Found by the `command` fuzz target: a confirm with a non-zero unused
    // argument byte parsed as the same command.
    let blob = Command { action: Action::Confirm(name("led")), device: ANY_DEVICE, counter: 1 }.sign(&key(1));
    assert!(Command::parse(&blob).is_ok());
    for at in [7, 40, 64, 66, 71] {
        let mut odd = blob;
        odd[at] = 0x10;
        assert_eq!(Command::parse(&odd), Err(akira_ota::command::CommandError::Malformed), "byte {at}");
    }
    let downgrade = Action::AllowDowngrade(name("led"), Version::new(1, 2, 3));
    let mut odd = Command { action: downgrade, device: ANY_DEVICE, counter: 1 }.sign(&key(1));
    odd[70] = 1;
    assert!(Command::parse(&odd).is_err());
}
