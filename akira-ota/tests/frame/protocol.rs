//! Protocol details: error codes, cut error details, unknown variants.

use super::*;

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
