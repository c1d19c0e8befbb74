//! The install check: an app is loaded in full (validated, or vouched for
//! by a trusted signer; granted under its signer's policy; with its native
//! code if that signer is trusted with it) before its package is accepted.

use alloc::vec;

use akira_bridge::Board;
use akira_caps::Policy;
use akira_ota::package::{Accepted, KeyId, TrustPolicy, Vouched};
use akira_ota::protocol::{Detail, detail};
use akira_ota::server::Verifier;
use akira_ota::store::{Staging, Store};
use akira_sandbox::{LoadError, LoadedApp, Runtime};
use embedded_storage_async::nor_flash::NorFlash;

/// The policy a signer's apps are granted under.
pub(crate) fn policy_for<'a>(trust: &'a TrustPolicy<'a>, signer: Option<KeyId>) -> Option<&'a Policy> {
    match signer {
        Some(id) => trust.find(&id).map(|k| k.policy),
        None => trust.unsigned,
    }
}

/// The install check: the sandbox's full load of the staged image under
/// its signer's policy, without validation when a trusted signer vouched
/// for it. The loaded app is kept, so the device starts it without
/// compiling it again.
pub(crate) struct Check<'a, B: Board> {
    pub(crate) runtime: &'a Runtime<B>,
    pub(crate) trust: &'a TrustPolicy<'a>,
    pub(crate) loaded: &'a mut Option<(LoadedApp, bool)>,
}

impl<B: Board, F: NorFlash> Verifier<F> for Check<'_, B> {
    async fn verify(
        &mut self,
        store: &mut Store<F>,
        staging: &mut Staging,
        app: &Accepted,
        vouched: Option<&Vouched>,
    ) -> Result<(), Detail> {
        let policy = policy_for(self.trust, app.signer).ok_or_else(|| detail("no policy for this signer"))?;
        let mut wasm = vec![0u8; staging.len() as usize];
        store.read_staged(staging, 0, &mut wasm).await.map_err(detail)?;
        let loaded = load(
            self.runtime,
            &wasm,
            vouched,
            policy,
            #[cfg(feature = "aot")]
            app.signer.map(|_| app.rights),
        )
        .map_err(detail)?;
        if loaded.manifest() != &app.manifest {
            return Err(detail("the manifest inside the wasm differs from the package's"));
        }
        *self.loaded = Some((loaded, vouched.is_none()));
        Ok(())
    }
}

/// Loads `wasm` under `policy`, with its native code (feature `aot`) if
/// its signer's `rights` include `Rights::NATIVE_CODE` and the package has
/// any: a key without the right never gets native code run. Malformed
/// native code from a trusted signer refuses the app, and so does a
/// firmware without the interpreter an app without native code.
pub(crate) fn load<B: Board>(
    runtime: &Runtime<B>,
    wasm: &[u8],
    vouched: Option<&Vouched>,
    policy: &Policy,
    #[cfg(feature = "aot")] rights: Option<akira_ota::package::Rights>,
) -> Result<LoadedApp, LoadError> {
    let loaded = load_wasm(runtime, wasm, vouched, policy);
    #[cfg(feature = "aot")]
    let loaded = loaded.and_then(|app| match akira_aot::trust::blob_for_signer(rights, wasm) {
        Ok(blob) => app.with_native_code(blob.bytes()),
        Err(akira_aot::trust::TrustError::Format(e)) => Err(LoadError::Instantiate(alloc::format!("native code: {e}"))),
        // Not trusted with native code, or none: interpreted.
        Err(_) => Ok(app),
    });
    // A firmware without the interpreter runs native code only: an app
    // without any from a signer trusted with it is refused at install.
    loaded.and_then(|app| {
        if app.has_native_code() || Runtime::<B>::INTERPRETS { Ok(app) } else { Err(LoadError::NeedsNativeCode) }
    })
}

/// Loads `wasm` under `policy`. A firmware with the validator validates
/// every app, trusted signers' included; one without it loads only what a
/// trusted signer vouched for (its session refuses other packages at the
/// header), without validation.
fn load_wasm<B: Board>(
    runtime: &Runtime<B>,
    wasm: &[u8],
    vouched: Option<&Vouched>,
    policy: &Policy,
) -> Result<LoadedApp, LoadError> {
    #[cfg(feature = "validate")]
    {
        let _ = vouched;
        runtime.load_with_policy(wasm, policy)
    }
    #[cfg(not(feature = "validate"))]
    match vouched {
        Some(proof) => runtime.load_vouched(wasm, proof, policy),
        None => Err(LoadError::Instantiate(
            "this firmware has no wasm validator; the app's signer is not trusted to skip it".into(),
        )),
    }
}
