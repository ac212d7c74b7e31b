//! COMPRESS=DEFLATE (RFC 4978).

use super::driver::{Driver, Next};

impl Driver {
    pub(super) async fn compress(&mut self, tag: &str, _algorithm: &str) -> Next {
        self.bad_in_state(tag, "COMPRESS is not supported");
        Next::Continue
    }
}
