//! Orders from the main thread (which handles signals) to a shard: a std channel carries the
//! order, and a byte on a socket pair wakes the shard's executor, which awaits the socket like
//! any other I/O. No lock is taken on the shard's side, and nothing polls.

use std::io::Write;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;

use futures_lite::AsyncReadExt;

#[derive(Debug)]
pub enum Order {
    /// Stop accepting, let in-flight commands finish (bounded), flush, and stop.
    Shutdown,
    /// Use this TLS configuration for connections accepted from now on.
    ReloadTls(crate::tls::TlsConfigs),
}

/// The main thread's end.
pub struct ControlSender {
    orders: mpsc::Sender<Order>,
    wake: UnixStream,
}

/// The shard's end; `Send` until the shard turns it into a glommio stream.
pub struct ControlReceiver {
    orders: mpsc::Receiver<Order>,
    wake: UnixStream,
}

pub fn channel() -> std::io::Result<(ControlSender, ControlReceiver)> {
    let (orders_sender, orders_receiver) = mpsc::channel();
    let (wake_sender, wake_receiver) = UnixStream::pair()?;
    Ok((
        ControlSender {
            orders: orders_sender,
            wake: wake_sender,
        },
        ControlReceiver {
            orders: orders_receiver,
            wake: wake_receiver,
        },
    ))
}

impl ControlSender {
    /// Sends an order; false if the shard has already stopped.
    pub fn send(&mut self, order: Order) -> bool {
        self.orders.send(order).is_ok() && self.wake.write_all(&[1]).is_ok()
    }
}

/// Receives orders inside a shard's executor.
pub struct ShardControl {
    orders: mpsc::Receiver<Order>,
    wake: glommio::net::UnixStream,
}

impl ControlReceiver {
    /// Must be called on the shard's executor.
    pub fn into_shard(self) -> std::io::Result<ShardControl> {
        self.wake.set_nonblocking(true)?;
        // SAFETY: the descriptor is an open, owned Unix stream socket whose ownership moves here.
        let wake = unsafe { glommio::net::UnixStream::from_raw_fd(self.wake.into_raw_fd()) };
        Ok(ShardControl {
            orders: self.orders,
            wake,
        })
    }
}

impl ShardControl {
    /// The next order; `Shutdown` also when the main thread is gone.
    pub async fn next(&mut self) -> Order {
        loop {
            if let Ok(order) = self.orders.try_recv() {
                return order;
            }
            let mut byte = [0u8; 64];
            match self.wake.read(&mut byte).await {
                Ok(0) | Err(_) => return self.orders.try_recv().unwrap_or(Order::Shutdown),
                Ok(_) => {}
            }
        }
    }
}
