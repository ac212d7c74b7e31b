//! One shard: a glommio executor pinned to a core, its state, and the requests it serves for
//! the accounts it owns.

use super::control::{ControlReceiver, Order};
use super::directory::DirectoryCache;
use super::mesh::{self, Mesh, MeshBuilderFull, Reply, Request};
use super::partition::PartitionTable;
use super::throttle::LoginThrottle;
use crate::accounts::DirectoryStore;
use crate::auth::password::{hash_password, verify_password};
use crate::auth::sasl::Credentials;
use crate::auth::scram::ScramKeys;
use crate::config::{Config, ListenerConfig};
use crate::mailstore::{Delivery, MailStore};
use crate::net::ConnectionLimits;
use std::cell::RefCell;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

/// Everything a shard is started with; built on the main thread and moved to the shard's.
pub struct ShardInit {
    pub id: usize,
    pub config: Arc<Config>,
    pub partitions: Arc<PartitionTable>,
    pub mesh: MeshBuilderFull,
    pub tls: crate::tls::TlsConfigs,
    pub directory: DirectoryStore,
}

/// What the running shard takes besides its state.
pub struct ShardIo {
    pub control: ControlReceiver,
    /// This shard's socket of each listener whose protocol is served.
    pub listeners: Vec<(ListenerConfig, OwnedFd)>,
}

impl ShardState {
    /// The TLS configuration a new handshake on `listener` uses (the latest, after SIGHUP).
    pub fn tls_for(&self, listener: &ListenerConfig) -> Arc<rustls::ServerConfig> {
        self.tls.borrow().for_listener(listener)
    }
}

/// State that belongs to one shard: only its own executor touches it.
pub struct ShardState {
    pub id: usize,
    pub config: Arc<Config>,
    pub partitions: Arc<PartitionTable>,
    pub directory: DirectoryCache,
    pub tls: RefCell<crate::tls::TlsConfigs>,
    pub throttle: RefCell<LoginThrottle>,
    /// Connections in progress; closed at shutdown to wait for them.
    pub connections: glommio::sync::Gate,
    pub limits: Rc<ConnectionLimits>,
    /// The mail of the accounts this shard owns.
    pub mail: MailStore,
    /// Set when shutdown begins: sessions finish the command in hand and say goodbye.
    pub shutting_down: std::cell::Cell<bool>,
}

pub struct Shard {
    pub state: Rc<ShardState>,
    pub mesh: Rc<Mesh>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error(transparent)]
    Mail(#[from] crate::mailstore::MailStoreError),
    #[error("shard {shard}: cannot set up its control channel: {source}")]
    Control {
        shard: usize,
        source: std::io::Error,
    },
}

impl Shard {
    /// Builds the shard's state (recovering its mail log) and joins the mesh (every shard
    /// must, before any serves).
    pub async fn start(init: ShardInit) -> Result<Rc<Shard>, ShardError> {
        let mail =
            MailStore::open(&init.config.data_dir, init.id, Arc::clone(&init.partitions)).await;
        let limits = ConnectionLimits::new(
            init.config.limits.connections_per_shard_max,
            init.config.limits.connections_per_ip_max,
        );
        let mail = match mail {
            Ok(mail) => mail,
            Err(e) => {
                // Peers wait for every shard at the mesh: join it before failing, so they
                // fail too (their calls to this shard are answered `Gone`) instead of hanging.
                let handler: mesh::Handler = Rc::new(|_| {
                    Box::pin(async { Reply::Unavailable("shard failed to start".into()) })
                });
                let mesh = Mesh::join(init.id, init.mesh, handler).await;
                mesh.close().await;
                return Err(e.into());
            }
        };
        let state = Rc::new(ShardState {
            id: init.id,
            throttle: RefCell::new(LoginThrottle::new(init.config.auth.clone())),
            config: init.config,
            partitions: init.partitions,
            directory: DirectoryCache::new(init.directory),
            tls: RefCell::new(init.tls),
            connections: glommio::sync::Gate::new(),
            limits,
            mail,
            shutting_down: std::cell::Cell::new(false),
        });
        // Loaded before the shard takes requests, so none sees an empty directory.
        state.directory.refresh(state.id).await;
        // The handler needs the whole shard (adopted connections run on it), which does not
        // exist until the mesh does: it gets a weak reference filled in right after.
        let this: Rc<RefCell<std::rc::Weak<Shard>>> = Rc::default();
        let handler: mesh::Handler = {
            let this = Rc::clone(&this);
            Rc::new(move |request| handle(this.borrow().clone(), request))
        };
        let mesh = Mesh::join(init.id, init.mesh, handler).await;
        let shard = Rc::new(Shard { state, mesh });
        *this.borrow_mut() = Rc::downgrade(&shard);
        Ok(shard)
    }
}

/// A shard's life: serve until told to shut down, then drain and leave the mesh.
pub async fn run(init: ShardInit, io: ShardIo) -> Result<(), ShardError> {
    let id = init.id;
    let mut control = io
        .control
        .into_shard()
        .map_err(|source| ShardError::Control { shard: id, source })?;
    let listeners = io.listeners;
    let shard = Shard::start(init).await?;
    let refresher =
        glommio::spawn_local(DirectoryCache::refresh_forever(Rc::clone(&shard.state))).detach();
    let accepting = super::sessions::start(&shard, listeners);
    while let Order::ReloadTls(config) = control.next().await {
        *shard.state.tls.borrow_mut() = config;
        tracing::info!(shard = id, "TLS certificates reloaded");
    }
    shard.state.shutting_down.set(true);
    for accept in accepting {
        accept.cancel();
    }
    refresher.cancel();
    let grace = shard.state.config.shutdown_grace;
    let drained = glommio::timer::timeout(grace, async {
        shard.state.connections.close().await.ok();
        Ok(())
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            shard = id,
            "connections still open after {grace:?}; closing them"
        );
    }
    // After the barrier no shard sends deliveries here any more: close the log, which waits
    // for writes in flight and writes an index checkpoint so the next start replays nothing.
    shard.mesh.close().await;
    if let Err(e) = shard.state.mail.store().close().await {
        tracing::error!(shard = id, "closing the mail log: {e}");
    }
    Ok(())
}

/// Runs a request from the mesh (or from this shard itself) on the account's owner.
fn handle(shard: std::rc::Weak<Shard>, request: Request) -> Pin<Box<dyn Future<Output = Reply>>> {
    Box::pin(async move {
        let Some(shard) = shard.upgrade() else {
            return Reply::Unavailable("shard is stopping".to_string());
        };
        let state = &shard.state;
        match request {
            Request::Ping { partition } => Reply::Pong {
                shard: state.id,
                partition,
            },
            Request::VerifyPassword { address, password } => {
                debug_assert_eq!(state.partitions.owner_of(&address), state.id);
                let stored = state
                    .directory
                    .get()
                    .account(&address)
                    .map(|account| account.password.clone());
                let verified = glommio::executor()
                    .spawn_blocking(move || match stored {
                        Some(stored) => {
                            verify_password(&stored, password.expose()).unwrap_or(false)
                        }
                        None => {
                            // The same work as for a real account, so timing does not tell
                            // whether the address exists.
                            let _ = verify_password(unknown_account_hash(), password.expose());
                            false
                        }
                    })
                    .await;
                Reply::Verified(verified)
            }
            Request::Credentials { address } => {
                debug_assert_eq!(state.partitions.owner_of(&address), state.id);
                let directory = state.directory.get();
                let account = directory.account(&address);
                Reply::Credentials(Credentials {
                    stored_password: account.map(|a| a.password.clone()),
                    scram: account
                        .and_then(|a| a.scram_sha256.as_deref())
                        .and_then(|s| ScramKeys::parse(s).ok()),
                })
            }
            Request::DeliveryBegin { address } => {
                let opened = match Delivery::begin(&state.mail, &address).await {
                    Ok(delivery) => state.mail.deliveries.insert(delivery),
                    Err(e) => Err(e),
                };
                Reply::DeliveryOpened(opened)
            }
            Request::DeliveryChunk { id, bytes } => {
                let Some(mut delivery) = state.mail.deliveries.take(id) else {
                    return Reply::Unavailable(format!("no delivery {id}"));
                };
                let written = delivery.write(&bytes).await;
                if written.is_ok() {
                    state.mail.deliveries.put_back(id, delivery);
                }
                Reply::DeliveryWritten(written)
            }
            Request::DeliveryCommit {
                id,
                internal_date_secs,
                envelope,
            } => match state.mail.deliveries.take(id) {
                Some(delivery) => {
                    Reply::Delivered(delivery.commit(internal_date_secs, envelope).await)
                }
                None => Reply::Unavailable(format!("no delivery {id}")),
            },
            Request::DeliveryAbort { id } => {
                drop(state.mail.deliveries.take(id));
                Reply::Done
            }
            Request::Adopt(adoption) => {
                crate::net::adopt(&shard, *adoption);
                Reply::Done
            }
        }
    })
}

/// A hash to verify against when the account does not exist.
fn unknown_account_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(b"no such account").unwrap_or_default())
}
