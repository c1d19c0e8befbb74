//! Arbitrary bytes through `FrameDecoder`, each frame decoded as a `Request`
//! and as a `Response`. Besides not panicking, a frame that does decode must
//! re-encode and decode to the same message.
//!
//! Random bytes almost never carry a valid CRC, so when the first byte's top
//! bit is set the rest is instead taken as a message's postcard bytes and
//! framed properly first: that mode fuzzes the message decoding behind the
//! CRC check.

#![no_main]

use akira_ota::frame::{FrameDecoder, MAX_FRAME, decode, encode};
use akira_ota::protocol::{Request, Response};
use libfuzzer_sys::fuzz_target;
use serde::ser::{Serialize, SerializeTuple, Serializer};

/// Serialises its bytes as they are, making them a frame's payload.
struct Raw<'a>(&'a [u8]);

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut tuple = s.serialize_tuple(self.0.len())?;
        for byte in self.0 {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }
}

fn check_frame(frame: &[u8]) {
    let mut copy = [0u8; MAX_FRAME];
    copy[..frame.len()].copy_from_slice(frame);
    if let Ok(request) = decode::<Request<'_>>(&mut copy[..frame.len()]) {
        let mut wire = [0u8; MAX_FRAME];
        let len = encode(&request, &mut wire).expect("a decoded request re-encodes");
        assert_eq!(wire[len - 1], 0);
        assert_eq!(decode::<Request<'_>>(&mut wire[..len - 1]), Ok(request));
    }
    let mut copy = [0u8; MAX_FRAME];
    copy[..frame.len()].copy_from_slice(frame);
    if let Ok(response) = decode::<Response>(&mut copy[..frame.len()]) {
        let mut wire = [0u8; MAX_FRAME];
        let len = encode(&response, &mut wire).expect("a decoded response re-encodes");
        assert_eq!(decode::<Response>(&mut wire[..len - 1]), Ok(response));
    }
}

fn run<const N: usize>(data: &[u8], step: usize) {
    let mut decoder = FrameDecoder::<N>::new();
    for mut piece in data.chunks(step) {
        while !piece.is_empty() {
            let (used, event) = decoder.push(piece);
            assert!(used >= 1 && used <= piece.len());
            piece = &piece[used..];
            match event {
                Some(Ok(len)) => {
                    assert!(len >= 1 && len <= N);
                    let frame = decoder.frame();
                    assert_eq!(frame.len(), len);
                    assert!(!frame.contains(&0));
                    check_frame(frame);
                }
                Some(Err(_)) => assert!(decoder.frame().is_empty()),
                None => assert!(piece.is_empty()),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, stream)) = data.split_first() else { return };
    if mode & 0x80 != 0 {
        let mut wire = [0u8; MAX_FRAME];
        if let Ok(len) = encode(&Raw(stream), &mut wire) {
            run::<MAX_FRAME>(&wire[..len], usize::from(mode & 0x7F) + 1);
        }
        return;
    }
    // Otherwise it picks the size of the pieces the stream arrives in.
    let step = usize::from(mode % 64) + 1;
    run::<MAX_FRAME>(stream, step);
    run::<32>(stream, step);
    // The whole input as one frame, delimiters and all.
    if stream.len() <= MAX_FRAME {
        check_frame(stream);
    }
});
