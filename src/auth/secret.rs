//! A credential that never shows up in logs and is wiped when dropped.

use std::fmt;

/// A password or other credential received from a peer or read from the account store.
///
/// `Debug` prints `Secret(<redacted>)`, and the bytes are overwritten with zeros on drop. Copies
/// made before the value was wrapped (the read buffer, a reallocated `Vec`) are out of reach of
/// this type; callers keep those short-lived.
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    /// The raw bytes, for the one place that needs them (hashing, comparison).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for Secret {
    fn from(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret(text.into_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for byte in self.0.iter_mut() {
            // SAFETY: `byte` is a valid, aligned, exclusive reference into the vector's
            // initialised bytes. A volatile write is used so the optimiser cannot drop the
            // stores as dead (the buffer is freed right after).
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::from(String::from("hunter2"));
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), b"hunter2");
        assert_eq!(secret.len(), 7);
    }
}
