//! Connection limits of one shard: in total and per client IP. The kernel spreads one IP's
//! connections over the shards, so the per-IP ceiling of the whole server is the shard count
//! times `connections_per_ip_max`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

use super::Refusal;

pub struct ConnectionLimits {
    total: Cell<u32>,
    per_ip: RefCell<HashMap<IpAddr, u32>>,
    total_max: u32,
    per_ip_max: u32,
}

/// Counts one connection until dropped.
pub struct ConnectionPermit {
    limits: Rc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    pub fn new(total_max: u32, per_ip_max: u32) -> Rc<Self> {
        assert!(per_ip_max <= total_max);
        Rc::new(ConnectionLimits {
            total: Cell::new(0),
            per_ip: RefCell::new(HashMap::new()),
            total_max,
            per_ip_max,
        })
    }

    pub fn admit(self: &Rc<Self>, ip: IpAddr) -> Result<ConnectionPermit, Refusal> {
        if self.total.get() >= self.total_max {
            return Err(Refusal::TooManyConnections);
        }
        let mut per_ip = self.per_ip.borrow_mut();
        let count = per_ip.entry(ip).or_insert(0);
        if *count >= self.per_ip_max {
            return Err(Refusal::TooManyFromAddress);
        }
        *count += 1;
        self.total.set(self.total.get() + 1);
        Ok(ConnectionPermit {
            limits: Rc::clone(self),
            ip,
        })
    }

    pub fn open(&self) -> u32 {
        self.total.get()
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let limits = &self.limits;
        limits.total.set(limits.total.get() - 1);
        let mut per_ip = limits.per_ip.borrow_mut();
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_total_and_per_ip_and_release_on_drop() {
        let limits = ConnectionLimits::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        let first = limits.admit(a).expect("first");
        let _second = limits.admit(a).expect("second");
        assert_eq!(limits.admit(a).err(), Some(Refusal::TooManyFromAddress));
        let _third = limits.admit(b).expect("other ip");
        assert_eq!(limits.admit(b).err(), Some(Refusal::TooManyConnections));
        drop(first);
        let _again = limits.admit(a).expect("released slot reused");
        assert_eq!(limits.open(), 3);
    }
}
