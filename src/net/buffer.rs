//! The input buffer of a connection: bytes read and not yet consumed by the protocol session,
//! never more than a fixed capacity (the session consumes over-long lines as they arrive).

use super::Connection;
use std::io;

pub struct InputBuffer {
    /// Empty while released (an idle connection holds no buffer).
    data: Box<[u8]>,
    capacity_octets: usize,
    start: usize,
    end: usize,
}

impl InputBuffer {
    pub fn new(capacity_octets: usize) -> Self {
        assert!(capacity_octets > 0);
        InputBuffer {
            data: vec![0; capacity_octets].into_boxed_slice(),
            capacity_octets,
            start: 0,
            end: 0,
        }
    }

    /// Starts with `bytes` (input carried over from another shard), which must fit.
    pub fn with_input(capacity_octets: usize, bytes: &[u8]) -> Self {
        let mut buffer = InputBuffer::new(capacity_octets.max(bytes.len()));
        buffer.data[..bytes.len()].copy_from_slice(bytes);
        buffer.end = bytes.len();
        buffer
    }

    pub fn unread(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub fn consume(&mut self, octets: usize) {
        assert!(
            octets <= self.end - self.start,
            "consumed more than was read"
        );
        self.start += octets;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops everything unread (after STARTTLS: pipelined plaintext must not be executed).
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    pub fn is_full(&self) -> bool {
        !self.data.is_empty() && self.start == 0 && self.end == self.data.len()
    }

    /// Frees the buffer while nothing is unread (an idle connection); `fill` allocates it
    /// again when data arrives.
    pub fn release(&mut self) {
        if self.start == self.end {
            self.data = Box::default();
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads more from the connection; `Ok(0)` at the end of the stream. Never called while
    /// full: a session must consume before asking for more.
    pub async fn fill(&mut self, connection: &mut Connection) -> io::Result<usize> {
        assert!(
            !self.is_full(),
            "the session consumes before the buffer is read into"
        );
        if self.data.is_empty() {
            self.data = vec![0; self.capacity_octets].into_boxed_slice();
        }
        if self.end == self.data.len() {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = connection.read(&mut self.data[self.end..]).await?;
        self.end += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_and_carry_over() {
        let mut buffer = InputBuffer::with_input(8, b"abcdef");
        buffer.consume(2);
        assert_eq!(buffer.unread(), b"cdef");
        buffer.consume(4);
        assert!(buffer.unread().is_empty());
        assert!(!buffer.is_full());
    }

    #[test]
    fn released_buffer_comes_back_on_fill() {
        let mut buffer = InputBuffer::new(8);
        buffer.release();
        assert!(buffer.unread().is_empty() && !buffer.is_full());
        let mut carried = InputBuffer::with_input(8, b"ab");
        carried.release();
        assert_eq!(carried.unread(), b"ab", "unread input is never released");
    }
}
