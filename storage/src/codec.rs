//! Little-endian field encoding with bounded, panic-free decoding.
//!
//! Every read checks the remaining length first; counts and lengths read from disk are checked
//! against what is left in the input before anything is allocated, so a hostile or damaged
//! payload costs at most its own size.

/// Why a payload could not be decoded. Always the data's fault, never a bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed payload: {0}")]
pub struct Malformed(pub &'static str);

/// Appends fields to a buffer.
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out }
    }
    /// Octets in the buffer (including what was there before this writer).
    pub fn len(&self) -> usize {
        self.out.len()
    }
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }
    pub fn u8(&mut self, value: u8) {
        self.out.push(value);
    }
    pub fn u16(&mut self, value: u16) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }
    pub fn u32(&mut self, value: u32) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }
    pub fn u64(&mut self, value: u64) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }
    pub fn i64(&mut self, value: i64) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }
    /// A length-prefixed (u32) byte string. Callers bound the length before encoding.
    pub fn bytes(&mut self, value: &[u8]) {
        let octets = u32::try_from(value.len()).expect("field length bounded by record limits");
        self.u32(octets);
        self.out.extend_from_slice(value);
    }
    pub fn text(&mut self, value: &str) {
        self.bytes(value.as_bytes());
    }
    /// Raw bytes without a length prefix (the rest of a payload).
    pub fn raw(&mut self, value: &[u8]) {
        self.out.extend_from_slice(value);
    }
}

/// Reads fields from a slice; never panics.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }
    pub fn take(&mut self, octets: usize, what: &'static str) -> Result<&'a [u8], Malformed> {
        if octets > self.bytes.len() {
            return Err(Malformed(what));
        }
        let (head, tail) = self.bytes.split_at(octets);
        self.bytes = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Malformed> {
        let slice = self.take(N, what)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }
    pub fn u8(&mut self, what: &'static str) -> Result<u8, Malformed> {
        Ok(self.array::<1>(what)?[0])
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, Malformed> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub fn u64(&mut self, what: &'static str) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub fn i64(&mut self, what: &'static str) -> Result<i64, Malformed> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }
    /// A length-prefixed byte string of at most `octets_max` octets.
    pub fn bytes(&mut self, octets_max: usize, what: &'static str) -> Result<&'a [u8], Malformed> {
        let octets = self.u32(what)? as usize;
        if octets > octets_max {
            return Err(Malformed(what));
        }
        self.take(octets, what)
    }
    pub fn text(&mut self, octets_max: usize, what: &'static str) -> Result<String, Malformed> {
        let bytes = self.bytes(octets_max, what)?;
        let text = std::str::from_utf8(bytes).map_err(|_| Malformed(what))?;
        Ok(text.to_owned())
    }
    /// A u32 element count, bounded by `count_max` and by what the remaining input can hold
    /// at `element_octets_min` each, so a damaged count cannot trigger a huge allocation.
    pub fn count(
        &mut self,
        count_max: usize,
        element_octets_min: usize,
        what: &'static str,
    ) -> Result<usize, Malformed> {
        let count = self.u32(what)? as usize;
        let fits = count.saturating_mul(element_octets_min.max(1)) <= self.bytes.len();
        if count > count_max || !fits {
            return Err(Malformed(what));
        }
        Ok(count)
    }
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
    pub fn finish(&self, what: &'static str) -> Result<(), Malformed> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Malformed(what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let mut out = Vec::new();
        let mut writer = Writer::new(&mut out);
        writer.u32(7);
        writer.text("INBOX");
        writer.i64(-3);
        let mut reader = Reader::new(&out);
        assert_eq!(reader.u32("a"), Ok(7));
        assert_eq!(reader.text(5, "b").as_deref(), Ok("INBOX"));
        assert_eq!(reader.i64("c"), Ok(-3));
        assert!(reader.finish("d").is_ok());
        assert!(Reader::new(&out).u64("e").is_ok());
        let mut short = Reader::new(&out[..6]);
        short.u32("f").ok();
        assert_eq!(short.text(64, "g"), Err(Malformed("g")));
        let mut huge = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert!(huge.count(usize::MAX, 1, "h").is_err());
    }
}
