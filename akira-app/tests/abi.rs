//! The SDK's error codes are the ABI's error table (`akira-abi`).

use akira_app::Error;

#[test]
fn error_codes_are_the_abi_table_in_order() {
    let sdk = [
        Error::DENIED,
        Error::NO_SUCH_RESOURCE,
        Error::INVALID,
        Error::FAULT,
        Error::IO,
        Error::BUSY,
        Error::TIMED_OUT,
        Error::NO_SPACE,
        Error::UNSUPPORTED,
        Error::TOO_LARGE,
    ];
    assert_eq!(sdk.len(), akira_abi::ERRORS.len(), "every ABI error has an SDK constant");
    for (e, abi) in sdk.iter().zip(&akira_abi::ERRORS) {
        assert_eq!(e.code(), abi.code, "{}", abi.name);
    }
}
