//! Helpers shared by the device's integration tests.

use akira_ota::frame::{self, MAX_FRAME};
use akira_ota::protocol::Request;

/// `requests` as the host sends them: encoded frames, one after the other.
pub fn frames(requests: &[Request<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in requests {
        let mut buf = [0u8; MAX_FRAME];
        let n = frame::encode(r, &mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
    }
    out
}
