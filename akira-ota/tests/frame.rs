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

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

#[test]
fn max_frame_is_the_cobs_bound() {
    assert_eq!(MAX_FRAME, 608);
    assert_eq!(frame::cobs_max_len(254), 256);
}

#[test]
fn every_request_round_trips() {
    for request in requests() {
        let wire = encoded(&request);
        assert_eq!(wire.last(), Some(&0));
        assert!(!wire[..wire.len() - 1].contains(&0), "COBS leaves no zero inside {request:?}");
        let mut decoder = FrameDecoder::<MAX_FRAME>::new();
        assert_eq!(decoder.push(&wire), (wire.len(), Some(Ok(wire.len() - 1))));
        assert_eq!(decode::<Request<'_>>(decoder.frame()).unwrap(), request);

        for step in [1, 2, 3, 7, 254, 255] {
            assert_eq!(decode_requests(&wire, step), vec![Ok(own(&request))], "{request:?} in steps of {step}");
        }
    }
}

#[test]
fn every_response_round_trips() {
    for response in responses() {
        let wire = encoded(&response);
        assert!(!wire[..wire.len() - 1].contains(&0));
        for step in [1, 5, 254, wire.len()] {
            assert_eq!(decode_stream::<Response, MAX_FRAME>(&wire, step), vec![Ok(response.clone())]);
        }
    }
}

#[test]
fn several_frames_in_one_slice() {
    let mut stream = Vec::new();
    for request in requests() {
        stream.extend(encoded(&request));
    }
    let expected: Vec<_> = requests().iter().map(|r| Ok(own(r))).collect();
    for step in [1, 13, 600, stream.len()] {
        assert_eq!(decode_requests(&stream, step), expected);
    }

    let mut stream = Vec::new();
    for response in responses() {
        stream.extend(encoded(&response));
        stream.push(0); // lone delimiters between frames are ignored
    }
    let expected: Vec<_> = responses().into_iter().map(Ok).collect();
    assert_eq!(decode_stream::<Response, MAX_FRAME>(&stream, stream.len()), expected);
}

#[test]
fn worst_case_sizes_fit() {
    let worst: [(&str, Vec<u8>); 4] = [
        ("Chunk of MAX_CHUNK non-zero bytes", encoded(&Request::Chunk { offset: u32::MAX, data: &[0xFF; MAX_CHUNK] })),
        ("Apps with MAX_APPS longest entries", encoded(&worst_apps())),
        ("Error with longest detail", encoded(&worst_error())),
        ("Begin", encoded(&Request::Begin { size: u32::MAX, id: [0xFF; 32] })),
    ];
    for (what, wire) in &worst {
        eprintln!("{what}: {} bytes on the wire (MAX_FRAME {MAX_FRAME})", wire.len());
        assert!(wire.len() <= MAX_FRAME);
    }
    let largest = worst.iter().map(|(_, w)| w.len()).max().unwrap();
    eprintln!("largest protocol frame: {largest} bytes");
    // Apps: 2 + 8 * 67 = 538 postcard bytes + 4 CRC + 3 COBS + 1 delimiter.
    assert_eq!(largest, 546);
}

#[test]
fn max_payload_is_enforced_and_max_frame_suffices() {
    // A 600-byte payload of non-zero bytes: the worst COBS case.
    let mut buf = [0u8; MAX_FRAME + 10];
    for fill in [0x01u8, 0xFF, 0x00] {
        let payload = [fill; MAX_PAYLOAD];
        let len = encode(&RawBytes(&payload), &mut buf).unwrap();
        if fill != 0 {
            assert_eq!(len, MAX_FRAME, "worst case hits MAX_FRAME exactly");
        }
        let mut decoder = FrameDecoder::<MAX_FRAME>::new();
        assert_eq!(decoder.push(&buf[..len]), (len, Some(Ok(len - 1))));

        let too_big = [fill; MAX_PAYLOAD + 1];
        assert_eq!(encode(&RawBytes(&too_big), &mut buf), Err(FrameError::TooLarge));
        // TooLarge wins over BufferTooSmall.
        assert_eq!(encode(&RawBytes(&too_big), &mut buf[..10]), Err(FrameError::TooLarge));
    }
}

#[test]
fn buffer_too_small_at_every_length() {
    for response in responses() {
        let needed = encoded(&response).len();
        let mut buf = vec![0u8; needed];
        assert_eq!(encode(&response, &mut buf), Ok(needed));
        for len in 0..needed {
            assert_eq!(encode(&response, &mut buf[..len]), Err(FrameError::BufferTooSmall), "{response:?} into {len}");
        }
    }
}

#[test]
fn chunk_larger_than_max_chunk_still_encodes_up_to_max_payload() {
    // MAX_CHUNK is a protocol limit the device enforces; framing only knows
    // MAX_PAYLOAD.
    let data = [1u8; MAX_PAYLOAD];
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(encode(&Request::Chunk { offset: 0, data: &data }, &mut buf), Err(FrameError::TooLarge));
    assert!(encode(&Request::Chunk { offset: 0, data: &data[..580] }, &mut buf).is_ok());
}

// ---------------------------------------------------------------------------
// Corruption and resynchronisation
// ---------------------------------------------------------------------------

#[test]
fn every_single_bit_flip_is_detected() {
    let samples = [
        encoded(&Request::Hello),
        encoded(&Request::Begin { size: 1000, id: [0x5A; 32] }),
        encoded(&Request::Chunk { offset: 512, data: &CHUNK }),
        encoded(&Request::Chunk { offset: 0, data: &[0; 300] }),
        encoded(&Response::error(ErrorCode::Downgrade, "1.2.3 < 1.3.0")),
        encoded(&worst_apps()),
    ];
    let good_a = encoded(&Request::List);
    let good_b = encoded(&Request::Abort);
    let mut flips = 0;
    for sample in &samples {
        let original = decode_requests(sample, sample.len());
        for byte in 0..sample.len() {
            for bit in 0..8 {
                let mut stream = sample.clone();
                stream[byte] ^= 1 << bit;
                let delimiter_hit = byte == sample.len() - 1;
                stream.extend(&good_a);
                stream.extend(&good_b);
                let results = decode_requests(&stream, stream.len());
                let (bad, good) = results.split_at(results.len() - if delimiter_hit { 1 } else { 2 });
                assert!(
                    bad.iter().all(|r| r.is_err()),
                    "flip of byte {byte} bit {bit} went unnoticed: {bad:?} (original {original:?})"
                );
                if delimiter_hit {
                    // The frame ran into the next one; that one is lost too.
                    assert_eq!(good, [Ok(OwnedRequest::Other("Abort".into()))]);
                } else {
                    assert_eq!(good, [Ok(OwnedRequest::Other("List".into())), Ok(OwnedRequest::Other("Abort".into()))]);
                }
                // The same as a response.
                let as_response = decode_stream::<Response, MAX_FRAME>(&stream[..sample.len()], 1);
                assert!(as_response.iter().all(|r| r.is_err()));
                flips += 1;
            }
        }
    }
    eprintln!("{flips} single-bit flips, all detected");
}

#[test]
fn error_kinds() {
    assert_eq!(decode::<Request<'_>>(&mut []), Err(FrameError::Empty));
    // A zero inside, a run past the end.
    assert_eq!(decode::<Request<'_>>(&mut [2, 0]), Err(FrameError::Cobs));
    assert_eq!(decode::<Request<'_>>(&mut [5, 1, 2]), Err(FrameError::Cobs));
    assert_eq!(decode::<Request<'_>>(&mut [0]), Err(FrameError::Cobs));
    // Too short for a CRC.
    assert_eq!(decode::<Request<'_>>(&mut [4, 1, 2, 3]), Err(FrameError::Crc));
    // A valid CRC over something that is not a Request: bad variant, and
    // trailing bytes.
    for payload in [&[200u8][..], &[0, 0][..], &[1, 1][..]] {
        let mut buf = [0u8; MAX_FRAME];
        let len = encode(&RawBytes(payload), &mut buf).unwrap();
        assert_eq!(decode::<Request<'_>>(&mut buf[..len - 1]), Err(FrameError::Decode), "{payload:?}");
    }
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

#[test]
fn garbage_empty_and_overlong_frames_then_resync() {
    let good = encoded(&Request::Confirm { name: name("blinky") });
    let expect_good = Ok(OwnedRequest::Other(format!("{:?}", Request::Confirm { name: name("blinky") })));

    // Garbage before the first delimiter, e.g. joining mid-stream.
    let mut stream = b"\x13\x37garbage\xff\x01".to_vec();
    stream.push(0);
    stream.extend(&good);
    let results = decode_requests(&stream, 3);
    assert_eq!(results.len(), 2);
    assert!(matches!(results[0], Err(FrameError::Cobs | FrameError::Crc | FrameError::Decode)));
    assert_eq!(results[1], expect_good);

    // Empty frames are skipped.
    let mut stream = vec![0, 0, 0];
    stream.extend(&good);
    stream.extend([0, 0]);
    stream.extend(&good);
    assert_eq!(decode_requests(&stream, 1), vec![expect_good.clone(), expect_good.clone()]);

    // Overlong: reported once, dropped up to the next delimiter.
    for overlong in [MAX_FRAME + 1, MAX_FRAME + 2, 3 * MAX_FRAME] {
        let mut stream = vec![0x42; overlong];
        stream.push(0);
        stream.extend(&good);
        for step in [1, 100, stream.len()] {
            assert_eq!(
                decode_requests(&stream, step),
                vec![Err(FrameError::Overflow), expect_good.clone()],
                "{overlong} in steps of {step}"
            );
        }
    }
    // Exactly N bytes fit.
    let mut stream = vec![0x42; MAX_FRAME];
    stream.push(0);
    let results = decode_requests(&stream, 64);
    assert_eq!(results.len(), 1);
    assert_ne!(results[0], Err(FrameError::Overflow));

    // A small decoder overflows on a frame that fits a large one.
    let big = encoded(&Request::Chunk { offset: 0, data: &CHUNK[..100] });
    let mut stream = big.clone();
    stream.extend(&good);
    let results = decode_stream::<Response, 64>(&stream, stream.len());
    assert_eq!(results[0], Err(FrameError::Overflow));
    assert_eq!(results.len(), 2);
    assert!(results[1].is_err(), "the Confirm is not a Response");
}

#[test]
fn decoder_state() {
    let good = encoded(&Request::Hello);
    let mut decoder = FrameDecoder::<16>::default();
    assert_eq!(decoder.frame(), &mut []);
    assert_eq!(decoder.push(&good[..2]), (2, None));
    assert_eq!(decoder.pending(), 2);
    decoder.reset();
    assert_eq!(decoder.pending(), 0);
    // After reset the tail of the old frame is a frame of its own (garbage).
    let (used, event) = decoder.push(&good[2..]);
    assert_eq!((used, event), (good.len() - 2, Some(Ok(good.len() - 3))));
    assert!(decode::<Request<'_>>(decoder.frame()).is_err());
    assert_eq!(decoder.push(&good), (good.len(), Some(Ok(good.len() - 1))));
    assert_eq!(decode::<Request<'_>>(decoder.frame()), Ok(Request::Hello));
    // The frame stays until the next push, which clears it.
    assert_eq!(decoder.frame().len(), good.len() - 1);
    assert_eq!(decoder.push(&[]), (0, None));
    assert_eq!(decoder.frame(), &mut []);
}

// ---------------------------------------------------------------------------
// Protocol details
// ---------------------------------------------------------------------------

#[test]
fn error_codes() {
    let mut last = 0;
    for &code in ErrorCode::ALL {
        let n = code.code();
        assert!(n > last, "ALL is in numeric order");
        last = n;
        assert_eq!(ErrorCode::from_u16(n), code);
        assert_eq!(u16::from(code), n);
        assert!(!code.to_string().is_empty());
        assert_ne!(code.as_str(), "unknown error");
        let wire = encoded(&Response::error(code, "x"));
        assert_eq!(decode_stream::<Response, MAX_FRAME>(&wire, 1), vec![Ok(Response::error(code, "x"))]);
    }
    assert_eq!(ErrorCode::ALL.len(), 29);
    assert_eq!(ErrorCode::BadFrame.code(), 1);
    assert_eq!(ErrorCode::NotAllowed.code(), 15);
    assert_eq!(ErrorCode::Internal.code(), 31);
    assert_eq!(ErrorCode::Unauthorized.code(), 18);
    assert_eq!(ErrorCode::from_u16(9), ErrorCode::Unknown(9));
    assert_eq!(ErrorCode::Unknown(9).to_string(), "unknown error 9");
    assert_eq!(ErrorCode::Downgrade.to_string(), "downgrade refused");

    // A code from a newer device decodes as Unknown, keeping the detail.
    #[derive(Serialize)]
    enum NewerResponse {
        Hello,
        Apps,
        Resume,
        Ack,
        Installed,
        Done,
        Error { code: u16, detail: &'static str },
    }
    let _ = [NewerResponse::Hello, NewerResponse::Apps, NewerResponse::Resume, NewerResponse::Ack];
    let _ = [NewerResponse::Installed, NewerResponse::Done];
    let wire = encoded(&NewerResponse::Error { code: 4242, detail: "new" });
    assert_eq!(
        decode_stream::<Response, MAX_FRAME>(&wire, wire.len()),
        vec![Ok(Response::Error { code: ErrorCode::Unknown(4242), detail: Detail::try_from("new").unwrap() })]
    );
}

#[test]
fn error_detail_is_cut_at_a_char_boundary() {
    let long = "é".repeat(100); // 200 bytes
    let Response::Error { detail, .. } = Response::error(ErrorCode::Internal, &long) else { unreachable!() };
    assert_eq!(detail.len(), MAX_DETAIL);
    let Response::Error { detail, .. } = Response::error(ErrorCode::Internal, &format!("x{long}")) else {
        unreachable!()
    };
    assert_eq!(detail.len(), MAX_DETAIL - 1);
}

#[test]
fn unknown_request_variant_is_a_decode_error() {
    #[derive(Serialize)]
    enum Future {
        _A,
        _B,
        _C,
        _D,
        _E,
        _F,
        _G,
        _H,
        Newer(u32),
    }
    let wire = encoded(&Future::Newer(5));
    assert_eq!(decode_requests(&wire, 1), vec![Err(FrameError::Decode)]);
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_streams_never_panic(
        // Biased towards 0x00 (delimiter), 0x01 and 0xFF (COBS edge codes).
        stream in prop::collection::vec(any::<u16>().prop_map(|x| match x % 32 { 0..=3 => 0, 4..=7 => 1, 8..=11 => 0xFF, _ => (x >> 8) as u8 }), 0..3000),
        step in 1usize..700,
    ) {
        let _ = decode_requests(&stream, step);
        let _ = decode_stream::<Response, MAX_FRAME>(&stream, step);
        let _ = decode_stream::<Response, 7>(&stream, step);
        let mut whole = stream.clone();
        let _ = decode::<Request<'_>>(&mut whole);
        let mut whole = stream;
        let _ = decode::<Response>(&mut whole);
    }

    #[test]
    fn chunks_round_trip(offset in any::<u32>(), data in prop::collection::vec(any::<u8>(), 0..=MAX_CHUNK), step in 1usize..700) {
        let request = Request::Chunk { offset, data: &data };
        let wire = encoded(&request);
        prop_assert!(wire.len() <= MAX_FRAME);
        prop_assert_eq!(decode_requests(&wire, step), vec![Ok(OwnedRequest::Chunk(offset, data.clone()))]);
    }

    #[test]
    fn good_frame_after_garbage_is_recovered(garbage in prop::collection::vec(any::<u8>(), 0..1500), offset in any::<u32>()) {
        let mut stream = garbage;
        stream.push(0);
        stream.extend(encoded(&Request::Chunk { offset, data: &CHUNK[..64] }));
        let results = decode_requests(&stream, 97);
        prop_assert_eq!(results.last(), Some(&Ok(OwnedRequest::Chunk(offset, CHUNK[..64].to_vec()))));
    }
}

// ---------------------------------------------------------------------------
// Stream helpers
// ---------------------------------------------------------------------------

/// A reader that hands out scripted pieces, one per read (cut to the
/// caller's buffer), then end of stream or an error.
struct Script {
    reads: VecDeque<Vec<u8>>,
    fail_at_end: bool,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Broken;

impl core::fmt::Display for Broken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("broken")
    }
}
impl core::error::Error for Broken {}
impl embedded_io::Error for Broken {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::BrokenPipe
    }
}

impl Script {
    fn new(reads: Vec<Vec<u8>>) -> Self {
        Script { reads: reads.into(), fail_at_end: false }
    }

    fn next(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        let Some(mut piece) = self.reads.pop_front() else {
            return if self.fail_at_end { Err(Broken) } else { Ok(0) };
        };
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        if n < piece.len() {
            piece.drain(..n);
            self.reads.push_front(piece);
        }
        Ok(n)
    }
}

impl embedded_io::ErrorType for Script {
    type Error = Broken;
}
impl embedded_io::Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        self.next(buf)
    }
}
impl embedded_io_async::Read for Script {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        self.next(buf)
    }
}

/// A writer that accepts at most 5 bytes per write and counts flushes.
#[derive(Default)]
struct Sink {
    bytes: Vec<u8>,
    flushes: usize,
}

impl embedded_io::ErrorType for Sink {
    type Error = Infallible;
}
impl embedded_io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(5);
        self.bytes.extend(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        self.flushes += 1;
        Ok(())
    }
}
impl embedded_io_async::Write for Sink {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), Infallible> {
        embedded_io::Write::flush(self)
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn owned(result: Result<Request<'_>, IoError<Broken>>) -> Result<OwnedRequest, IoError<Broken>> {
    result.map(|r| own(&r))
}

#[test]
fn write_frame_writes_whole_frames_and_flushes() {
    let mut sink = Sink::default();
    for request in requests() {
        write_frame(&mut sink, &request).unwrap();
    }
    assert_eq!(sink.flushes, requests().len());
    let expected: Vec<u8> = requests().iter().flat_map(encoded).collect();
    assert_eq!(sink.bytes, expected);

    let mut async_sink = Sink::default();
    for request in requests() {
        block_on(write_frame_async(&mut async_sink, &request)).unwrap();
    }
    assert_eq!(async_sink.bytes, expected);

    let too_big = [1u8; MAX_PAYLOAD];
    let mut sink = Sink::default();
    assert_eq!(
        write_frame(&mut sink, &Request::Chunk { offset: 0, data: &too_big }),
        Err(IoError::Frame(FrameError::TooLarge))
    );
    assert!(sink.bytes.is_empty());
}

#[test]
fn read_two_frames_from_one_read_and_one_frame_over_many() {
    let a = encoded(&Request::Begin { size: 9, id: [3; 32] });
    let b = encoded(&Request::Chunk { offset: 0, data: &CHUNK[..9] });
    let c = encoded(&Request::Chunk { offset: 9, data: &CHUNK[9..300] });
    let d = encoded(&Request::Abort);
    // a and b arrive together; c byte by byte; d with garbage and an
    // overlong frame in front.
    let mut reads = vec![[a.clone(), b.clone()].concat()];
    reads.extend(c.iter().map(|&byte| vec![byte]));
    let mut tail = vec![0x42; MAX_FRAME + 5];
    tail.push(0);
    tail.extend(b"junk\0");
    tail.extend(&d);
    reads.push(tail);

    let expected_ok = [
        Ok(own(&Request::Begin { size: 9, id: [3; 32] })),
        Ok(own(&Request::Chunk { offset: 0, data: &CHUNK[..9] })),
        Ok(own(&Request::Chunk { offset: 9, data: &CHUNK[9..300] })),
    ];

    // Blocking, through read_frame + decode, with a large and a tiny buffer.
    fn run<const B: usize>(reads: Vec<Vec<u8>>) -> Vec<Result<OwnedRequest, IoError<Broken>>> {
        let mut script = Script::new(reads);
        let mut reader = FrameReader::<MAX_FRAME, B>::new();
        let mut out = Vec::new();
        loop {
            let result = match read_frame(&mut script, &mut reader) {
                Ok(frame) => owned(decode(frame).map_err(IoError::Frame)),
                Err(e) => Err(e),
            };
            let end = result == Err(IoError::Closed);
            out.push(result);
            if end {
                return out;
            }
        }
    }
    fn run_async<const B: usize>(reads: Vec<Vec<u8>>) -> Vec<Result<OwnedRequest, IoError<Broken>>> {
        let mut script = Script::new(reads);
        let mut reader = FrameReader::<MAX_FRAME, B>::new();
        let mut out = Vec::new();
        loop {
            let result = block_on(async {
                match read_frame_async(&mut script, &mut reader).await {
                    Ok(frame) => owned(decode(frame).map_err(IoError::Frame)),
                    Err(e) => Err(e),
                }
            });
            let end = result == Err(IoError::Closed);
            out.push(result);
            if end {
                return out;
            }
        }
    }

    for results in
        [run::<64>(reads.clone()), run::<1>(reads.clone()), run_async::<2048>(reads.clone()), run_async::<3>(reads)]
    {
        assert_eq!(results.len(), 7, "{results:?}");
        assert_eq!(results[..3], expected_ok);
        assert_eq!(results[3], Err(IoError::Frame(FrameError::Overflow)));
        assert!(matches!(results[4], Err(IoError::Frame(FrameError::Cobs | FrameError::Crc | FrameError::Decode))));
        assert_eq!(results[5], Ok(own(&Request::Abort)));
        assert_eq!(results[6], Err(IoError::Closed));
    }
}

#[test]
fn read_message_and_errors() {
    let a = encoded(&Request::Remove { name: name("old") });
    let b = encoded(&Request::Chunk { offset: 1, data: b"borrowed" });
    let mut script = Script::new(vec![[a.clone(), b.clone(), a[..3].to_vec()].concat()]);
    script.fail_at_end = true;
    let mut reader: FrameReader<MAX_FRAME> = FrameReader::default();
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Ok(Request::Remove { name: name("old") }));
    {
        // Borrowing from the reader's buffer.
        let request = reader.read_message::<Request<'_>, _>(&mut script).unwrap();
        assert_eq!(request, Request::Chunk { offset: 1, data: b"borrowed" });
    }
    assert_eq!(reader.frame().len(), b.len() - 1);
    // A partial frame, then the stream fails: the error is passed on.
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Err(IoError::Io(Broken)));
    // The partial frame was kept: the rest of it completes it.
    script.reads.push_back(a[3..].to_vec());
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Ok(Request::Remove { name: name("old") }));

    // A frame of the wrong type is a decode error, and reading goes on.
    let mut script = Script::new(vec![[encoded(&Response::Done), a.clone()].concat()]);
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Err(IoError::Frame(FrameError::Decode)));
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Ok(Request::Remove { name: name("old") }));
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Err(IoError::Closed));

    // reset drops buffered bytes.
    let mut script = Script::new(vec![[a.clone(), a.clone()].concat()]);
    assert!(reader.read(&mut script).is_ok());
    reader.reset();
    assert_eq!(reader.read(&mut script), Err(IoError::Closed));

    // Async read_message.
    let mut script = Script::new(vec![b.clone()]);
    let result = block_on(async {
        let r = reader.read_message_async::<Request<'_>, _>(&mut script).await;
        owned(r)
    });
    assert_eq!(result, Ok(own(&Request::Chunk { offset: 1, data: b"borrowed" })));

    // Display and source.
    let e: IoError<Broken> = IoError::Frame(FrameError::Crc);
    assert_eq!(e.to_string(), "framing error: CRC mismatch");
    assert!(core::error::Error::source(&e).is_some());
    assert_eq!(IoError::<Broken>::Closed.to_string(), "stream closed");
    assert_eq!(IoError::Io(Broken).to_string(), "I/O error: broken");
}

#[test]
fn slices_work_as_streams() {
    let a = encoded(&Request::Hello);
    let mut bytes = [a.clone(), a].concat();
    let mut stream: &[u8] = &bytes;
    let mut reader = FrameReader::<MAX_FRAME, 5>::new();
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut stream), Ok(Request::Hello));
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut stream), Ok(Request::Hello));
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut stream), Err(IoError::Closed));

    // Writing into a slice that is too short fails with the writer's error.
    let mut out: &mut [u8] = &mut bytes[..3];
    assert!(matches!(write_frame(&mut out, &Request::Hello), Err(IoError::Io(_))));
}
