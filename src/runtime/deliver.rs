//! Delivering a message to an account from whichever shard the SMTP/LMTP connection is on: the
//! content goes straight into the local log when this shard owns the account, or in chunks over
//! the mesh to the owner. Either way `commit` returns only once the copy is durable.

use super::mesh::{Mesh, MeshError, Reply, Request};
use super::shard::Shard;
use crate::mailstore::{Delivery, DeliveryError};
use std::rc::Rc;

pub enum OutgoingDelivery {
    Local(Delivery),
    Remote(RemoteDelivery),
}

/// A delivery streamed to another shard.
pub struct RemoteDelivery {
    mesh: Rc<Mesh>,
    shard: usize,
    id: u64,
    /// Set once committed or failed, so dropping does not abort it again.
    finished: bool,
}

impl Shard {
    /// Starts a delivery to `address` (a normalised account address).
    pub async fn begin_delivery(&self, address: &str) -> Result<OutgoingDelivery, DeliveryError> {
        let owner = self.state.partitions.owner_of(address);
        if owner == self.state.id {
            return Ok(OutgoingDelivery::Local(
                Delivery::begin(&self.state.mail, address).await?,
            ));
        }
        let request = Request::DeliveryBegin {
            address: address.to_string(),
        };
        match self.mesh.call(owner, request).await {
            Ok(Reply::DeliveryOpened(Ok(id))) => Ok(OutgoingDelivery::Remote(RemoteDelivery {
                mesh: Rc::clone(&self.mesh),
                shard: owner,
                id,
                finished: false,
            })),
            Ok(Reply::DeliveryOpened(Err(e))) => Err(e),
            other => Err(unexpected(other)),
        }
    }
}

impl OutgoingDelivery {
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), DeliveryError> {
        match self {
            OutgoingDelivery::Local(delivery) => delivery.write(bytes).await,
            OutgoingDelivery::Remote(remote) => remote.write(bytes).await,
        }
    }

    /// Returns the message's UID once it is durable.
    pub async fn commit(
        self,
        internal_date_secs: i64,
        envelope: Vec<u8>,
    ) -> Result<u32, DeliveryError> {
        match self {
            OutgoingDelivery::Local(delivery) => {
                delivery.commit(internal_date_secs, envelope).await
            }
            OutgoingDelivery::Remote(mut remote) => {
                remote.commit(internal_date_secs, envelope).await
            }
        }
    }
}

impl RemoteDelivery {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), DeliveryError> {
        let request = Request::DeliveryChunk {
            id: self.id,
            bytes: bytes.to_vec(),
        };
        match self.mesh.call(self.shard, request).await {
            Ok(Reply::DeliveryWritten(result)) => {
                // A failed write ends the delivery on the owner.
                self.finished |= result.is_err();
                result
            }
            other => Err(unexpected(other)),
        }
    }

    async fn commit(
        &mut self,
        internal_date_secs: i64,
        envelope: Vec<u8>,
    ) -> Result<u32, DeliveryError> {
        self.finished = true;
        let request = Request::DeliveryCommit {
            id: self.id,
            internal_date_secs,
            envelope,
        };
        match self.mesh.call(self.shard, request).await {
            Ok(Reply::Delivered(result)) => result,
            other => Err(unexpected(other)),
        }
    }
}

impl Drop for RemoteDelivery {
    /// An abandoned delivery (client gone, size exceeded) is dropped on its owner too.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let (mesh, shard, id) = (Rc::clone(&self.mesh), self.shard, self.id);
        glommio::spawn_local(async move {
            let _ = mesh.call(shard, Request::DeliveryAbort { id }).await;
        })
        .detach();
    }
}

fn unexpected(reply: Result<Reply, MeshError>) -> DeliveryError {
    DeliveryError::Temporary(match reply {
        Ok(other) => format!("unexpected reply from the owner shard: {other:?}"),
        Err(e) => e.to_string(),
    })
}
