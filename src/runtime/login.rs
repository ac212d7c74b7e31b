//! Logging in from any shard: the login throttle of this shard, then the password check or the
//! credential look-up on the account's owner shard.

use super::mesh::{Reply, Request};
use super::shard::Shard;
use super::throttle::Verdict;
use crate::accounts::normalise_address;
use crate::auth::sasl::Credentials;
use crate::auth::secret::Secret;
use std::net::IpAddr;
use std::time::Instant;

/// The outcome of a password login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The normalised account address.
    Accepted(String),
    Rejected,
    /// Too many failures from this IP: refused without checking.
    Throttled,
}

impl Shard {
    /// Checks `user`'s password. Failures are delayed (doubling per failure from the same IP)
    /// before this returns, so a client can't try passwords faster than the throttle allows.
    pub async fn login(&self, ip: IpAddr, user: &str, password: Secret) -> Login {
        if !self.admit_login(ip).await {
            return Login::Throttled;
        }
        let verified = match normalise_address(user) {
            Ok(address) => {
                let owner = self.state.partitions.owner_of(&address);
                let request = Request::VerifyPassword {
                    address: address.clone(),
                    password,
                };
                match self.mesh.call(owner, request).await {
                    Ok(Reply::Verified(true)) => Some(address),
                    _ => None,
                }
            }
            Err(_) => None,
        };
        self.record_login(ip, verified.is_some()).await;
        verified.map_or(Login::Rejected, Login::Accepted)
    }

    /// The stored secrets of `user` for CRAM-MD5, SCRAM and APOP (empty for unknown users), or
    /// `None` when this IP is throttled. The caller reports the outcome with `record_login`.
    pub async fn credentials(&self, ip: IpAddr, user: &str) -> Option<(String, Credentials)> {
        if !self.admit_login(ip).await {
            return None;
        }
        let none = Credentials {
            stored_password: None,
            scram: None,
        };
        let Ok(address) = normalise_address(user) else {
            return Some((user.to_string(), none));
        };
        let owner = self.state.partitions.owner_of(&address);
        let request = Request::Credentials {
            address: address.clone(),
        };
        match self.mesh.call(owner, request).await {
            Ok(Reply::Credentials(credentials)) => Some((address, credentials)),
            _ => Some((address, none)),
        }
    }

    /// Waits out the delay this IP has earned; false if it is refused outright.
    async fn admit_login(&self, ip: IpAddr) -> bool {
        let verdict = self.state.throttle.borrow_mut().check(ip, Instant::now());
        match verdict {
            Verdict::Refuse => false,
            Verdict::Proceed { delay } => {
                if !delay.is_zero() {
                    glommio::timer::sleep(delay).await;
                }
                true
            }
        }
    }

    /// Counts an attempt whose outcome the session decides later (APOP, CRAM-MD5, SCRAM) as a
    /// failure, without waiting; a success then clears it with `record_login(ip, true)`.
    pub fn count_login_attempt(&self, ip: IpAddr) {
        self.state.throttle.borrow_mut().failed(ip, Instant::now());
    }

    /// Records a login's outcome; a failure waits its delay before returning.
    pub async fn record_login(&self, ip: IpAddr, succeeded: bool) {
        if succeeded {
            self.state.throttle.borrow_mut().succeeded(ip);
            return;
        }
        let delay = self.state.throttle.borrow_mut().failed(ip, Instant::now());
        glommio::timer::sleep(delay).await;
    }
}
