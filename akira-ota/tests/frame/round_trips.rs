//! Round trips: every message encodes and decodes to itself, within the frame bounds.

use super::*;

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
