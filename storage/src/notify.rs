//! A single-threaded change event: a generation counter plus the wakers of those waiting for
//! it to move. Waiting costs one slot (a `Waker`) and no polling; `notify` wakes every waiter
//! once, however many changes it stands for (one wake-up per batch).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
pub struct Event {
    generation: Cell<u64>,
    slots: RefCell<Slots>,
}

#[derive(Default)]
struct Slots {
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Event {
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    /// The current generation; pass it to `changed` to wait for anything after it.
    pub fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// Advances the generation and wakes every waiter.
    pub fn notify(&self) {
        self.generation.set(self.generation.get() + 1);
        let wakers: Vec<Waker> = {
            let mut slots = self.slots.borrow_mut();
            slots.wakers.iter_mut().filter_map(Option::take).collect()
        };
        // Woken outside the borrow: a waker may run code that waits again.
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Resolves with the new generation once it is past `since`.
    pub fn changed(self: &Rc<Self>, since: u64) -> Changed {
        Changed {
            event: self.clone(),
            since,
            slot: None,
        }
    }

    /// Returns once `done` says so: asked now and after every notification, so none between
    /// the question and the wait is missed.
    pub async fn until(self: &Rc<Self>, mut done: impl FnMut() -> bool) {
        loop {
            let generation = self.generation();
            if done() {
                return;
            }
            self.changed(generation).await;
        }
    }

    /// Waiters currently registered (for tests and metrics).
    pub fn waiters(&self) -> usize {
        let slots = self.slots.borrow();
        slots.wakers.len() - slots.free.len()
    }
}

pub struct Changed {
    event: Rc<Event>,
    since: u64,
    slot: Option<usize>,
}

impl Future for Changed {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<u64> {
        let generation = self.event.generation();
        if generation > self.since {
            self.release();
            return Poll::Ready(generation);
        }
        let event = self.event.clone();
        let mut slots = event.slots.borrow_mut();
        let slot = match self.slot {
            Some(slot) => slot,
            None => {
                let slot = slots.free.pop().unwrap_or_else(|| {
                    slots.wakers.push(None);
                    slots.wakers.len() - 1
                });
                self.slot = Some(slot);
                slot
            }
        };
        slots.wakers[slot] = Some(context.waker().clone());
        Poll::Pending
    }
}

impl Changed {
    fn release(&mut self) {
        if let Some(slot) = self.slot.take() {
            let mut slots = self.event.slots.borrow_mut();
            slots.wakers[slot] = None;
            slots.free.push(slot);
        }
    }
}

impl Drop for Changed {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_wake_on_notify_and_free_their_slot() {
        glommio::LocalExecutor::default().run(async {
            let event = Event::new();
            let since = event.generation();
            let waiter = glommio::spawn_local({
                let event = event.clone();
                async move { event.changed(since).await }
            });
            glommio::yield_if_needed().await;
            futures_lite::future::yield_now().await;
            assert_eq!(event.waiters(), 1);
            event.notify();
            assert_eq!(waiter.await, since + 1);
            assert_eq!(event.waiters(), 0);
            // Already past: resolves at once.
            assert_eq!(event.changed(since).await, since + 1);
        });
    }
}
