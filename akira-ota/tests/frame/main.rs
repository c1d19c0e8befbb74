//! Framing (COBS + CRC-32 + postcard) and protocol messages: round trips,
//! corruption, resynchronisation and the stream helpers.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use akira_caps::manifest::Version;
use akira_ota::frame::{
    self, FrameDecoder, FrameError, FrameReader, IoError, MAX_FRAME, MAX_PAYLOAD, decode, encode, read_frame,
    read_frame_async, write_frame, write_frame_async,
};
use akira_ota::protocol::{
    AppStatus, Detail, ErrorCode, MAX_APPS, MAX_CHUNK, MAX_DETAIL, Name, PROTOCOL_VERSION, Request, Response,
};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

mod corruption;
mod properties;
mod protocol;
mod round_trips;
mod stream;

// ---------------------------------------------------------------------------
// Samples
// ---------------------------------------------------------------------------

fn name(s: &str) -> Name {
    Name::try_from(s).unwrap()
}

static CHUNK: [u8; MAX_CHUNK] = {
    let mut data = [0u8; MAX_CHUNK];
    let mut i = 0;
    while i < MAX_CHUNK {
        data[i] = (i * 7 % 256) as u8;
        i += 1;
    }
    data
};

/// Every request variant, with extreme values where it matters.
fn requests() -> Vec<Request<'static>> {
    vec![
        Request::Hello,
        Request::List,
        Request::Begin { size: 123_456, id: [0xA5; 32] },
        Request::Begin { size: u32::MAX, id: [0; 32] },
        Request::Chunk { offset: 0, data: &[] },
        Request::Chunk { offset: 4096, data: b"\0asm\x01\0\0\0" },
        Request::Chunk { offset: u32::MAX, data: &CHUNK },
        Request::Chunk { offset: u32::MAX, data: &[0xFF; MAX_CHUNK] },
        Request::Chunk { offset: 7, data: &[0; MAX_CHUNK] },
        Request::Abort,
        Request::Remove { name: name("blinky") },
        Request::Confirm { name: name("a") },
        Request::Rollback { name: name("abcdefghijklmnopqrstuvwxyz-_0123") },
        Request::Command { blob: &[0xFF; akira_ota::command::COMMAND_LEN] },
    ]
}

fn worst_app(i: usize) -> AppStatus {
    let mut n = Name::new();
    for _ in 0..32 {
        n.push(char::from(b'a' + i as u8)).unwrap();
    }
    AppStatus {
        name: n,
        version: Version::new(u16::MAX, u16::MAX, u16::MAX),
        confirmed: true,
        previous: Some(Version::new(u16::MAX, u16::MAX, u16::MAX)),
        bytes: u32::MAX,
        signer: Some([0xFF; 8]),
    }
}

fn worst_apps() -> Response {
    Response::Apps((0..MAX_APPS).map(worst_app).collect())
}

fn worst_error() -> Response {
    Response::Error {
        code: ErrorCode::Unknown(u16::MAX),
        detail: Detail::try_from("x".repeat(MAX_DETAIL).as_str()).unwrap(),
    }
}

/// Every response variant.
fn responses() -> Vec<Response> {
    let mut apps = heapless::Vec::new();
    apps.push(AppStatus {
        name: name("blinky"),
        version: Version::new(1, 2, 3),
        confirmed: false,
        previous: Some(Version::new(1, 2, 2)),
        bytes: 4321,
        signer: Some([1, 2, 3, 4, 5, 6, 7, 8]),
    })
    .unwrap();
    apps.push(AppStatus {
        name: name("thermo"),
        version: Version::new(0, 1, 0),
        confirmed: true,
        previous: None,
        bytes: 0,
        signer: None,
    })
    .unwrap();
    vec![
        Response::Hello {
            protocol: PROTOCOL_VERSION,
            abi: akira_caps::manifest::ABI_VERSION,
            max_chunk: MAX_CHUNK as u16,
            slot_bytes: 128 * 1024,
            free_slots: 3,
            apps: 2,
            device: [0xFF; 8],
            counter: u64::MAX,
            failed_transfers: u32::MAX,
        },
        Response::RetryAfter { ms: u32::MAX },
        Response::Apps(heapless::Vec::new()),
        Response::Apps(apps),
        worst_apps(),
        Response::Resume { offset: 0 },
        Response::Resume { offset: 1 << 20 },
        Response::Ack { next: u32::MAX },
        Response::Installed { name: name("blinky"), version: Version::new(2, 0, 0) },
        Response::Done,
        Response::error(ErrorCode::BadSignature, "signature does not verify"),
        Response::error(ErrorCode::Unknown(999), ""),
        worst_error(),
    ]
}

fn encoded<T: Serialize>(message: &T) -> Vec<u8> {
    let mut buf = [0u8; MAX_FRAME];
    let len = encode(message, &mut buf).unwrap();
    buf[..len].to_vec()
}

/// Pushes `stream` through a decoder in pieces of `step` bytes and decodes
/// every frame (as `T`) or error, in order.
fn decode_stream<T, const N: usize>(stream: &[u8], step: usize) -> Vec<Result<T, FrameError>>
where
    T: for<'a> Deserialize<'a>,
{
    let mut decoder = FrameDecoder::<N>::new();
    let mut out = Vec::new();
    for mut piece in stream.chunks(step) {
        while !piece.is_empty() {
            let (used, event) = decoder.push(piece);
            assert!(used > 0 && used <= piece.len());
            piece = &piece[used..];
            match event {
                Some(Ok(len)) => {
                    assert!(len > 0 && len <= N);
                    assert_eq!(decoder.frame().len(), len);
                    out.push(decode::<T>(decoder.frame()));
                }
                Some(Err(e)) => {
                    assert_eq!(decoder.frame().len(), 0);
                    out.push(Err(e));
                }
                None => assert!(piece.is_empty()),
            }
        }
    }
    out
}

/// Requests borrow from the frame, so decode them into an owned mirror.
#[derive(Debug, Clone, PartialEq)]
enum OwnedRequest {
    Chunk(u32, Vec<u8>),
    Other(String),
}

fn own(request: &Request<'_>) -> OwnedRequest {
    match request {
        Request::Chunk { offset, data } => OwnedRequest::Chunk(*offset, data.to_vec()),
        other => OwnedRequest::Other(format!("{other:?}")),
    }
}

fn decode_requests(stream: &[u8], step: usize) -> Vec<Result<OwnedRequest, FrameError>> {
    let mut decoder = FrameDecoder::<MAX_FRAME>::new();
    let mut out = Vec::new();
    for mut piece in stream.chunks(step) {
        while !piece.is_empty() {
            let (used, event) = decoder.push(piece);
            piece = &piece[used..];
            match event {
                Some(Ok(_)) => out.push(decode::<Request<'_>>(decoder.frame()).map(|r| own(&r))),
                Some(Err(e)) => out.push(Err(e)),
                None => {}
            }
        }
    }
    out
}

/// Serialises its bytes as they are (a tuple of u8).
struct RawBytes<'a>(&'a [u8]);

impl Serialize for RawBytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(self.0.len())?;
        for b in self.0 {
            t.serialize_element(b)?;
        }
        t.end()
    }
}
