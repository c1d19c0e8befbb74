//! Corruption and resynchronisation: flipped bits, garbage, empty and overlong frames.

use super::*;

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
