//! The mesh: bounded lock-free channels between every pair of shards (glommio's channel mesh),
//! carrying typed requests to the shard that owns the data and their replies back.
//!
//! A call to another shard sends `Envelope::Request` with an id and waits on a local one-slot
//! channel kept in this shard's pending table; the owner runs the request (each on its own task,
//! at most `REMOTE_REQUESTS_IN_FLIGHT_MAX` at once) and answers with `Envelope::Reply`. A call to
//! the calling shard itself runs the handler directly. Channels are bounded, so a flooded owner
//! slows its callers down instead of queueing without limit.

use crate::auth::secret::Secret;
use futures_lite::StreamExt;
use glommio::channels::channel_mesh::{Full, MeshBuilder, Receivers, Senders};
use glommio::channels::local_channel::{self, LocalSender};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// Messages queued per direction between two shards before senders wait.
pub const CHANNEL_CAPACITY: usize = 1024;
/// Requests from other shards this shard runs at once; more wait in the channel.
pub const REMOTE_REQUESTS_IN_FLIGHT_MAX: u64 = 4096;
const _: () = assert!(REMOTE_REQUESTS_IN_FLIGHT_MAX as usize >= CHANNEL_CAPACITY);

/// Work one shard asks of another. Grows as protocols need owner-side operations.
#[derive(Debug)]
pub enum Request {
    /// Answers with the shard that ran it: proves routing in tests and health checks.
    Ping {
        partition: u32,
    },
    /// Checks an account's password on the shard that owns it (hashing runs off the executor).
    VerifyPassword {
        address: String,
        password: Secret,
    },
    /// The stored secrets CRAM-MD5 and SCRAM need.
    Credentials {
        address: String,
    },
    /// Starts streaming a message to an account's INBOX on its owner.
    DeliveryBegin {
        address: String,
    },
    DeliveryChunk {
        id: u64,
        bytes: Vec<u8>,
    },
    /// Answered once the message is durable.
    DeliveryCommit {
        id: u64,
        internal_date_secs: i64,
        /// RFC 3461 DSN parameters kept with the message.
        envelope: Vec<u8>,
    },
    DeliveryAbort {
        id: u64,
    },
    /// Takes over a client connection whose account this shard owns.
    Adopt(Box<crate::net::Adoption>),
}

#[derive(Debug)]
pub enum Reply {
    Pong {
        shard: usize,
        partition: u32,
    },
    Verified(bool),
    Credentials(crate::auth::sasl::Credentials),
    DeliveryOpened(Result<u64, crate::mailstore::DeliveryError>),
    DeliveryWritten(Result<(), crate::mailstore::DeliveryError>),
    Delivered(Result<u32, crate::mailstore::DeliveryError>),
    Done,
    /// The owner could not run the request (shutting down, or the request failed there).
    Unavailable(String),
}

#[derive(Debug)]
pub enum Envelope {
    Request {
        id: u64,
        request: Request,
    },
    Reply {
        id: u64,
        reply: Reply,
    },
    /// The sender will make no more requests (it is shutting down), but still answers ours.
    Done,
}

pub type MeshBuilderFull = MeshBuilder<Envelope, Full>;

pub fn builder(shards: usize) -> MeshBuilderFull {
    MeshBuilder::full(shards, CHANNEL_CAPACITY)
}

/// Runs a request on this shard.
pub type Handler = Rc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Reply>>>>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MeshError {
    #[error("shard {0} does not exist")]
    NoSuchShard(usize),
    #[error("shard {0} is not answering (shutting down)")]
    Gone(usize),
}

pub struct Mesh {
    shard: usize,
    shards: usize,
    senders: Option<Senders<Envelope>>,
    pending: RefCell<HashMap<(usize, u64), LocalSender<Reply>>>,
    /// The tasks reading each peer's channel.
    serving: glommio::sync::Gate,
    next_id: Cell<u64>,
    handler: Handler,
    /// Requests from peers being run now.
    running: glommio::sync::Gate,
    /// One message per peer that has sent `Done`.
    peers_done: (LocalSender<()>, local_channel::LocalReceiver<()>),
}

impl Mesh {
    /// Joins the mesh (every shard must call this) and starts serving requests from peers.
    /// Shards must be created in shard order so that glommio's peer ids equal shard ids.
    pub async fn join(shard: usize, builder: MeshBuilderFull, handler: Handler) -> Rc<Mesh> {
        let shards = builder.nr_peers();
        let (senders, receivers) = if shards > 1 {
            let (s, r) = builder.join().await.expect("joining the shard mesh");
            assert_eq!(s.peer_id(), shard, "mesh peer id must equal shard id");
            (Some(s), Some(r))
        } else {
            (None, None)
        };
        let mesh = Rc::new(Mesh {
            shard,
            shards,
            senders,
            pending: RefCell::new(HashMap::new()),
            next_id: Cell::new(0),
            handler,
            serving: glommio::sync::Gate::new(),
            running: glommio::sync::Gate::new(),
            peers_done: local_channel::new_bounded(shards.max(1)),
        });
        if let Some(receivers) = receivers {
            Mesh::serve(&mesh, receivers);
        }
        mesh
    }

    pub fn shard(&self) -> usize {
        self.shard
    }

    pub fn shards(&self) -> usize {
        self.shards
    }

    /// Runs `request` on `shard` and returns its reply.
    pub async fn call(&self, shard: usize, request: Request) -> Result<Reply, MeshError> {
        if shard >= self.shards {
            return Err(MeshError::NoSuchShard(shard));
        }
        if shard == self.shard {
            return Ok((self.handler)(request).await);
        }
        let senders = self.senders.as_ref().ok_or(MeshError::NoSuchShard(shard))?;
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (reply_sender, reply_receiver) = local_channel::new_bounded(1);
        self.pending.borrow_mut().insert((shard, id), reply_sender);
        if senders
            .send_to(shard, Envelope::Request { id, request })
            .await
            .is_err()
        {
            self.pending.borrow_mut().remove(&(shard, id));
            return Err(MeshError::Gone(shard));
        }
        reply_receiver.recv().await.ok_or(MeshError::Gone(shard))
    }

    /// One task per peer reads its channel: requests are run on their own tasks, replies complete
    /// the pending call they answer.
    fn serve(mesh: &Rc<Mesh>, mut receivers: Receivers<Envelope>) {
        let permits = Rc::new(glommio::sync::Semaphore::new(REMOTE_REQUESTS_IN_FLIGHT_MAX));
        for (peer, mut stream) in receivers.streams() {
            let task_mesh = Rc::clone(mesh);
            let permits = Rc::clone(&permits);
            let task = mesh.serving.spawn(async move {
                let mesh = task_mesh;
                while let Some(envelope) = stream.next().await {
                    match envelope {
                        Envelope::Reply { id, reply } => mesh.complete(peer, id, reply),
                        Envelope::Done => {
                            // Capacity is one per peer, and each peer sends Done once.
                            let _ = mesh.peers_done.0.try_send(());
                        }
                        Envelope::Request { id, request } => {
                            let Ok(permit) = permits.acquire_static_permit(1).await else {
                                break;
                            };
                            let runner = Rc::clone(&mesh);
                            let spawned = mesh.running.spawn(async move {
                                let reply = (runner.handler)(request).await;
                                if let Some(senders) = &runner.senders {
                                    // The caller may have given up; then nobody waits.
                                    let _ =
                                        senders.send_to(peer, Envelope::Reply { id, reply }).await;
                                }
                                drop(permit);
                            });
                            // Closed only after every peer sent Done, so no request comes later.
                            if let Ok(task) = spawned {
                                task.detach();
                            }
                        }
                    }
                }
                // The peer closed its side: calls to it can no longer be answered.
                mesh.pending
                    .borrow_mut()
                    .retain(|&(shard, _), _| shard != peer);
            });
            // The gate closes only in `close`, after `serve` has returned.
            task.expect("the serving gate is open while serving starts")
                .detach();
        }
    }

    fn complete(&self, peer: usize, id: u64, reply: Reply) {
        if let Some(sender) = self.pending.borrow_mut().remove(&(peer, id)) {
            // The waiting call may have been dropped (its connection closed); that is fine.
            let _ = sender.try_send(reply);
        }
    }

    /// Shutdown barrier, called once by each shard when it will make no more calls. It tells
    /// every peer so, keeps answering their requests until each has said the same, waits for the
    /// requests it is running, and only then closes its channels and waits for theirs to close.
    /// So no shard leaves while another may still need it.
    pub async fn close(&self) {
        let Some(senders) = &self.senders else {
            return;
        };
        for peer in (0..self.shards).filter(|&p| p != self.shard) {
            // A peer that is already gone needs no notice.
            let _ = senders.send_to(peer, Envelope::Done).await;
        }
        for _ in 1..self.shards {
            if self.peers_done.1.recv().await.is_none() {
                break;
            }
        }
        // Err only if already closed, which is fine.
        let _ = self.running.close().await;
        senders.close();
        let _ = self.serving.close().await;
    }
}
