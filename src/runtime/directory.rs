//! Each shard's copy of the account directory, reloaded when the file changes.
//!
//! The management commands replace `directory.json` atomically; every shard checks its
//! fingerprint once per `RELOAD_INTERVAL` and, when it changed, parses the new file on a blocking
//! thread so a large directory never stalls the executor.

use super::shard::ShardState;
use crate::accounts::{Directory, DirectoryStore, Fingerprint};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

pub struct DirectoryCache {
    store: DirectoryStore,
    current: RefCell<Rc<Directory>>,
    fingerprint: Cell<Option<Fingerprint>>,
}

impl DirectoryCache {
    /// Starts empty; the shard loads the file before it serves.
    pub fn new(store: DirectoryStore) -> Self {
        DirectoryCache {
            store,
            current: RefCell::new(Rc::new(Directory::default())),
            fingerprint: Cell::new(None),
        }
    }

    pub fn get(&self) -> Rc<Directory> {
        Rc::clone(&self.current.borrow())
    }

    /// Reloads if the file changed. A file that can't be read or parsed is logged and the
    /// previous directory kept: a half-edited file never logs everyone out.
    pub async fn refresh(&self, shard: usize) {
        let Ok(now) = self.store.fingerprint() else {
            return;
        };
        if self.fingerprint.get() == Some(now) {
            return;
        }
        let store = self.store.clone();
        match glommio::executor()
            .spawn_blocking(move || store.load_with_fingerprint())
            .await
        {
            Ok((directory, fingerprint)) => {
                *self.current.borrow_mut() = Rc::new(directory);
                self.fingerprint.set(Some(fingerprint));
                tracing::debug!(shard, "account directory loaded");
            }
            Err(e) => {
                self.fingerprint.set(Some(now));
                tracing::error!(shard, "keeping the previous account directory: {e}");
            }
        }
    }

    pub async fn refresh_forever(state: Rc<ShardState>) {
        loop {
            glommio::timer::sleep(RELOAD_INTERVAL).await;
            state.directory.refresh(state.id).await;
        }
    }
}
