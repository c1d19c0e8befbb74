//! Property tests: arbitrary streams never panic; chunks round trip; recovery after garbage.

use super::*;

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
