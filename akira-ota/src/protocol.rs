//! The messages of the update protocol.
//!
//! A host (the `akira` CLI, a gateway, a phone) sends [`Request`]s; the
//! device answers each with exactly one [`Response`]. Messages are postcard
//! encoded and travel in [`frame`](crate::frame)s. A session looks like:
//!
//! ```text
//! Hello                          -> Hello { protocol, abi, max_chunk, .. }
//! Begin { size, id }             -> Resume { offset }      (0, or where an interrupted transfer stopped)
//! Chunk { offset, data }         -> Ack { next }           (repeat, sending from `next`)
//! Chunk { offset, data } (last)  -> Installed { name, version } | Error { .. }
//! Command { blob }               -> Done | Apps            (a signed management command, see `command`)
//! ```
//!
//! Any request may instead be answered with [`Response::Error`].
//!
//! # Compatibility
//!
//! Postcard encodes enum variants by index and fields by position, so
//! variants and fields are never reordered or removed; new variants are only
//! appended, and incompatible changes bump [`PROTOCOL_VERSION`]. A peer that
//! meets a variant it does not know gets [`FrameError::Decode`] and
//! should answer [`ErrorCode::BadRequest`]. Error codes travel as plain
//! numbers, so a code from a newer device decodes as [`ErrorCode::Unknown`].
//!
//! [`FrameError::Decode`]: crate::frame::FrameError::Decode

use core::fmt;

use akira_caps::manifest::Version;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::frame::MAX_PAYLOAD;

/// Version of this protocol, reported in [`Response::Hello`]. A host refuses
/// to talk to a device with another version.
pub const PROTOCOL_VERSION: u16 = 2;

/// Most package bytes in one [`Request::Chunk`].
pub const MAX_CHUNK: usize = 512;

/// Most apps one [`Response::Apps`] lists (and one device stores).
pub const MAX_APPS: usize = 8;

/// Longest [`Response::Error`] detail, in bytes.
pub const MAX_DETAIL: usize = 120;

/// An app name (1 to 32 characters of `a-z0-9-_`; the device checks the
/// characters, the decoder only the length).
pub type Name = akira_caps::manifest::AppName;

/// Free text in [`Response::Error`].
pub type Detail = heapless::String<MAX_DETAIL>;

/// A request from the host. Each is answered by one [`Response`]; the
/// expected answer is given per variant, [`Response::Error`] being always
/// possible.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Request<'a> {
    /// Opens a session. → [`Response::Hello`].
    Hello,
    /// Lists the installed apps. → [`Response::Apps`].
    List,
    /// Starts a transfer of a package of `size` bytes, or resumes it if the
    /// device holds part of a package with the same `id`; a transfer of
    /// another package in progress is dropped. → [`Response::Resume`] with
    /// the offset to continue from (0 for a new transfer).
    Begin {
        /// Size of the whole package file, in bytes.
        size: u32,
        /// SHA-256 of the whole package file.
        id: [u8; 32],
    },
    /// Package bytes at `offset` (which must be the `next` or `offset` the
    /// device last reported; resending bytes the device already has is
    /// harmless). → [`Response::Ack`], or once the last byte has arrived
    /// [`Response::Installed`] or [`Response::Error`].
    Chunk {
        /// Offset of `data[0]` in the package.
        offset: u32,
        /// At most [`MAX_CHUNK`] bytes.
        #[serde(borrow)]
        data: &'a [u8],
    },
    /// Drops the transfer in progress. → [`Response::Done`].
    Abort,
    /// Protocol 1's unsigned uninstall: always refused with
    /// [`ErrorCode::Unauthorized`]. Send a signed [`Request::Command`].
    Remove {
        /// The app.
        name: Name,
    },
    /// Protocol 1's unsigned confirm: always refused with
    /// [`ErrorCode::Unauthorized`]. Send a signed [`Request::Command`].
    Confirm {
        /// The app.
        name: Name,
    },
    /// Protocol 1's unsigned rollback: always refused with
    /// [`ErrorCode::Unauthorized`]. Send a signed [`Request::Command`].
    Rollback {
        /// The app.
        name: Name,
    },
    /// A signed management command ([`crate::command`]: remove, rollback,
    /// confirm, downgrade permission, key revocation, list), exactly
    /// [`COMMAND_LEN`](crate::command::COMMAND_LEN) bytes. The same bytes
    /// may travel by any other way (an MQTT broker) to the device.
    /// → [`Response::Done`], or [`Response::Apps`] for a signed list.
    Command {
        /// The signed command.
        #[serde(borrow)]
        blob: &'a [u8],
    },
}

/// The device's answer to one [`Request`].
///
/// [`Apps`](Response::Apps) makes this about 600 bytes; there is no
/// allocator to box it, and a device holds one response at a time.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Response {
    /// Answers [`Request::Hello`]: what the device speaks and holds.
    Hello {
        /// The device's [`PROTOCOL_VERSION`].
        protocol: u16,
        /// The app ABI the firmware implements
        /// ([`ABI_VERSION`](akira_caps::manifest::ABI_VERSION)).
        abi: u16,
        /// Most bytes the device accepts per [`Request::Chunk`] (at most
        /// [`MAX_CHUNK`]).
        max_chunk: u16,
        /// Largest package one app slot holds, in bytes.
        slot_bytes: u32,
        /// App slots free for new apps.
        free_slots: u16,
        /// Apps installed.
        apps: u16,
        /// The device's id, which a signed command names (or names every
        /// device).
        device: [u8; 8],
        /// The counter of the last signed command the device accepted; the
        /// next must carry a higher one.
        counter: u64,
        /// Transfers refused or abandoned on this link since the device
        /// started.
        failed_transfers: u32,
    },
    /// Answers [`Request::List`].
    Apps(heapless::Vec<AppStatus, MAX_APPS>),
    /// Answers [`Request::Begin`]: send the package from this offset.
    Resume {
        /// Bytes of the package the device already holds.
        offset: u32,
    },
    /// Answers a [`Request::Chunk`] before the last: send from `next`.
    Ack {
        /// Bytes of the package the device now holds.
        next: u32,
    },
    /// Answers the last [`Request::Chunk`]: the package was verified and
    /// installed (on trial until [`Request::Confirm`]).
    Installed {
        /// The app installed.
        name: Name,
        /// Its new version.
        version: Version,
    },
    /// Answers [`Request::Abort`] and a signed [`Request::Command`].
    Done,
    /// The request failed.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// Human-readable detail, possibly empty.
        detail: Detail,
    },
    /// Answers [`Request::Begin`] after failed transfers on this link: the
    /// device takes no new transfer for this long (backoff that doubles
    /// with each further failure; a success resets it).
    RetryAfter {
        /// Milliseconds to wait.
        ms: u32,
    },
}

impl Response {
    /// An [`Error`](Response::Error) response; `detail` is cut at a
    /// character boundary to [`MAX_DETAIL`] bytes.
    pub fn error(code: ErrorCode, detail: &str) -> Self {
        let mut end = detail.len().min(MAX_DETAIL);
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        let mut text = Detail::new();
        // Cannot fail: at most MAX_DETAIL bytes.
        let _ = text.push_str(&detail[..end]);
        Response::Error { code, detail: text }
    }
}

/// `what`, written into a [`Detail`] and cut at its capacity (for
/// [`Response::Error`] and a [`Verifier`](crate::server::Verifier)'s
/// refusal).
pub fn detail(what: impl fmt::Display) -> Detail {
    /// Writes at most the detail's capacity, dropping the rest.
    struct Cut(Detail);
    impl fmt::Write for Cut {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for ch in s.chars() {
                if self.0.push(ch).is_err() {
                    break;
                }
            }
            Ok(())
        }
    }
    let mut cut = Cut(Detail::new());
    let _ = fmt::Write::write_fmt(&mut cut, format_args!("{what}"));
    cut.0
}

/// One installed app, as listed by [`Response::Apps`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AppStatus {
    /// The app's name.
    pub name: Name,
    /// The version that runs.
    pub version: Version,
    /// Whether that version is confirmed. `false`: on trial; unless it is
    /// confirmed first, it is reverted (to `previous`, or uninstalled if
    /// there is none) at the boot after the last one the device's trial
    /// policy gives it, by default the next boot (see
    /// [`crate::store::Store::boot`]).
    pub confirmed: bool,
    /// The version kept for rollback, if any.
    pub previous: Option<Version>,
    /// Size of the installed package, in bytes.
    pub bytes: u32,
    /// Id of the key that signed the package; `None` if unsigned.
    pub signer: Option<[u8; 8]>,
}

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $text:literal;)*) => {
        /// Why a request failed, in [`Response::Error`].
        ///
        /// Travels as its number ([`code`](Self::code)), a postcard varint
        /// `u16`. Numbers this crate does not know (from a newer device)
        /// decode as [`Unknown`](Self::Unknown) rather than failing, so the
        /// host still gets the error's detail text.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
            /// A number this crate does not know. [`from_u16`](Self::from_u16)
            /// never returns it for a known number.
            Unknown(u16),
        }

        impl ErrorCode {
            /// Every known code, in numeric order.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The code's number on the wire.
            pub const fn code(self) -> u16 {
                match self {
                    $(ErrorCode::$name => $code,)*
                    ErrorCode::Unknown(code) => code,
                }
            }

            /// The code with number `code`; [`Unknown`](Self::Unknown) if
            /// this crate does not know it.
            pub const fn from_u16(code: u16) -> Self {
                match code {
                    $($code => ErrorCode::$name,)*
                    code => ErrorCode::Unknown(code),
                }
            }

            /// A short description.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $text,)*
                    ErrorCode::Unknown(_) => "unknown error",
                }
            }
        }
    };
}

error_codes! {
    /// 1: a frame could not be read (CRC, COBS, overlong).
    BadFrame = 1, "bad frame";
    /// 2: the frame held no valid request, or one not valid now.
    BadRequest = 2, "bad request";
    /// 3: the host speaks a protocol version the device does not.
    UnsupportedProtocol = 3, "unsupported protocol version";
    /// 4: a chunk arrived with no transfer begun.
    NoTransfer = 4, "no transfer in progress";
    /// 5: a chunk's offset is not where the device expects data.
    BadOffset = 5, "unexpected chunk offset";
    /// 6: the package or a chunk is larger than the device accepts.
    TooLarge = 6, "too large";
    /// 7: a signed command is malformed.
    BadCommand = 7, "malformed command";
    /// 8: a signed command names another device.
    WrongDevice = 8, "command for another device";
    /// 10: the package is malformed.
    BadPackage = 10, "malformed package";
    /// 11: the package is signed by a key the device does not trust.
    UnknownKey = 11, "unknown signing key";
    /// 12: the package is unsigned and the device requires signatures.
    Unsigned = 12, "package not signed";
    /// 13: the package's signature does not verify.
    BadSignature = 13, "bad signature";
    /// 14: the package's contents do not match its digest.
    BadDigest = 14, "digest mismatch";
    /// 15: the app asks for capabilities beyond its signer's policy.
    NotAllowed = 15, "capability not allowed for signer";
    /// 16: the app was built for an app ABI the firmware lacks.
    WrongAbi = 16, "wrong app ABI";
    /// 17: the app's imports or wasm validation were refused.
    Refused = 17, "app refused";
    /// 18: the command is unsigned, or its signer's rights do not include it.
    Unauthorized = 18, "not authorized";
    /// 19: the command's counter is not above the last accepted one (a replay).
    Replayed = 19, "command replayed";
    /// 20: the package's version is older than the installed one.
    Downgrade = 20, "downgrade refused";
    /// 21: no free app slot, or the package does not fit one.
    NoSpace = 21, "no space";
    /// 22: no app of that name is installed.
    NotFound = 22, "app not found";
    /// 23: the app has no previous version to roll back to.
    NothingToRollBack = 23, "no previous version";
    /// 24: the app's version is not on trial, so there is nothing to confirm.
    NotInTrial = 24, "not on trial";
    /// 25: the app is bound to another signer, and this key may not take it over.
    BoundToSigner = 25, "app bound to another signer";
    /// 26: a chunk of the package does not match its signed hash.
    BadChunk = 26, "chunk does not match its signed hash";
    /// 27: the firmware has no wasm validator and the signer is not trusted to skip it.
    NeedsTrustedSigner = 27, "firmware takes trusted-signer packages only";
    /// 28: the signing key was revoked on this device.
    Revoked = 28, "signing key revoked";
    /// 30: the flash failed.
    Flash = 30, "flash error";
    /// 31: an internal error on the device.
    Internal = 31, "internal error";
}

impl From<u16> for ErrorCode {
    fn from(code: u16) -> Self {
        ErrorCode::from_u16(code)
    }
}

impl From<ErrorCode> for u16 {
    fn from(code: ErrorCode) -> Self {
        code.code()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(code) => write!(f, "unknown error {code}"),
            known => f.write_str(known.as_str()),
        }
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.code())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u16::deserialize(deserializer).map(ErrorCode::from_u16)
    }
}

/// Worst-case postcard sizes, checked against [`MAX_PAYLOAD`] at compile
/// time. Varints: u16 ≤ 3 bytes, u32 ≤ 5, lengths < 16384 ≤ 2.
mod sizes {
    use super::*;

    const VERSION: usize = 3 * 3;
    const NAME: usize = 1 + 32;
    const CHUNK: usize = 1 + 5 + 2 + MAX_CHUNK;
    const COMMAND: usize = 1 + 2 + crate::command::COMMAND_LEN;
    const HELLO: usize = 1 + 3 * 3 + 5 + 3 + 3 + 8 + 10 + 5;
    const APP_STATUS: usize = NAME + VERSION + 1 + (1 + VERSION) + 5 + (1 + 8);
    const APPS: usize = 1 + 1 + MAX_APPS * APP_STATUS;
    const ERROR: usize = 1 + 3 + 1 + MAX_DETAIL;

    const _: () = assert!(CHUNK <= MAX_PAYLOAD);
    const _: () = assert!(COMMAND <= MAX_PAYLOAD);
    const _: () = assert!(HELLO <= MAX_PAYLOAD);
    const _: () = assert!(APPS <= MAX_PAYLOAD);
    const _: () = assert!(ERROR <= MAX_PAYLOAD);
    const _: () = assert!(MAX_CHUNK <= u16::MAX as usize);
}
