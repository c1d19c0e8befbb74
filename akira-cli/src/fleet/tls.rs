//! TLS to the broker for `akira fleet` and `akira sim-device --mqtt`:
//! the broker's certificate checked against a CA the operator names
//! (`--mqtt-ca`), and a client certificate (`--mqtt-cert`, `--mqtt-key`)
//! for brokers that identify clients by it (Mosquitto's
//! `require_certificate` and `use_identity_as_username`). rustls with the
//! ring provider; PEM files.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::Failure;

/// TLS to the broker (all PEM files).
#[derive(Args, Clone, Debug, Default)]
pub struct TlsArgs {
    /// Connect with TLS, trusting the broker's certificate if this CA
    /// signed it.
    #[arg(long, value_name = "CA.pem")]
    pub mqtt_ca: Option<PathBuf>,
    /// The client certificate to present (with `--mqtt-key`).
    #[arg(long, value_name = "CERT.pem", requires_all = ["mqtt_ca", "mqtt_key"])]
    pub mqtt_cert: Option<PathBuf>,
    /// The client certificate's private key (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "KEY.pem", requires = "mqtt_cert")]
    pub mqtt_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The TLS client configuration, or `None` without `--mqtt-ca`
    /// (plain TCP).
    pub fn client_config(&self) -> Result<Option<Arc<ClientConfig>>, Failure> {
        let Some(ca) = &self.mqtt_ca else { return Ok(None) };
        let bad =
            |what: &std::path::Path, e: &dyn std::fmt::Display| Failure::Usage(format!("{}: {e}", what.display()));
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(ca, &e))? {
            roots.add(cert.map_err(|e| bad(ca, &e))?).map_err(|e| bad(ca, &e))?;
        }
        if roots.is_empty() {
            return Err(Failure::Usage(format!("{}: no certificate in it", ca.display())));
        }
        // ring, not aws-lc-rs (rustls 0.23.48 deprecates ring's provider
        // for its lack of post-quantum key exchange): ring builds with a C
        // compiler alone, aws-lc-rs needs cmake and a much larger C build
        // in every CI run. Classical ECDHE is what MQTT brokers offer today.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::Usage(format!("TLS: {e}")))?
            .with_root_certificates(roots);
        let config = match (&self.mqtt_cert, &self.mqtt_key) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| bad(cert, &e))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(cert, &e))?;
                if chain.is_empty() {
                    return Err(Failure::Usage(format!("{}: no certificate in it", cert.display())));
                }
                let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
                builder.with_client_auth_cert(chain, key_der).map_err(|e| bad(cert, &e))?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Some(Arc::new(config)))
    }
}
