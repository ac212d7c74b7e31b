//! IDLE (RFC 2177): the session waits on its mailbox's change event and the socket at once,
//! with no polling; a delivery, flag change or expunge wakes it and the updates go out.

use super::driver::{Driver, Next, SessionState};
use super::selected::Sync;
use futures_lite::future;

enum Wake {
    Input(std::io::Result<usize>),
    Changed,
}

impl Driver {
    pub(super) async fn idle(&mut self, tag: &str) -> Next {
        if !self.require_authenticated(tag) {
            return Next::Continue;
        }
        self.out.extend_from_slice(b"+ idling\r\n");
        loop {
            self.sync(Sync::Full);
            if self.flush().await.is_err() {
                return Next::Close;
            }
            // A line may already be waiting.
            if let Some(end) = memchr::memchr(b'\n', self.input.unread()) {
                let line = self.input.unread()[..end].to_vec();
                self.input.consume(end + 1);
                let line = line.strip_suffix(b"\r").unwrap_or(&line);
                if line.eq_ignore_ascii_case(b"DONE") {
                    self.ok(tag, "IDLE terminated");
                } else {
                    self.bad_in_state(tag, "Expected DONE");
                }
                return Next::Continue;
            }
            if self.input.is_full() {
                self.input.consume(self.input.unread().len());
                self.bad_in_state(tag, "Expected DONE");
                return Next::Continue;
            }
            if self.shard.state.shutting_down.get() {
                return Next::Continue;
            }
            self.input.release();
            if self.out.capacity() > 0 {
                self.out = Vec::new();
            }
            let event = match &self.state {
                SessionState::Selected(_, selected) => {
                    let store = self.shard.state.mail.store();
                    store.watch(selected.key).map(|e| (e, selected.generation))
                }
                _ => None,
            };
            let changed = async {
                match event {
                    Some((event, generation)) => {
                        event.changed(generation).await;
                    }
                    None => future::pending::<()>().await,
                }
                Wake::Changed
            };
            // The read is cancel-safe: glommio reads the socket synchronously once it is ready.
            let read = async { Wake::Input(self.input.fill(&mut self.connection).await) };
            match future::or(read, changed).await {
                Wake::Input(Ok(0) | Err(_)) => return Next::Close,
                Wake::Input(Ok(_)) | Wake::Changed => {}
            }
        }
    }
}
