//! Byte searches for the framers. (`memchr` is not a dependency of this crate; these loops
//! are simple enough for the compiler to vectorise well.)

pub fn find_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&octet| octet == needle)
}

/// The first CR or LF.
pub fn find_cr_or_lf(haystack: &[u8]) -> Option<usize> {
    haystack
        .iter()
        .position(|&octet| octet == b'\r' || octet == b'\n')
}

pub fn find_crlfcrlf(haystack: &[u8]) -> Option<usize> {
    haystack.windows(4).position(|window| window == b"\r\n\r\n")
}
