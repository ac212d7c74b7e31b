//! Which messages a command names: sequence sets resolved against the session's view.

use super::command::SequenceSet;
use super::driver::{Driver, SessionState};
use postern_storage::Uid;

impl Driver {
    /// The messages `set` names, as (sequence number, UID) in ascending order. By sequence
    /// number, a number beyond the mailbox is an error (RFC 9051 §6.4.4 answers it with BAD);
    /// by UID, UIDs that don't exist are skipped and `*` is the highest UID (RFC 3501 §6.4.8).
    pub(super) fn resolve(
        &self,
        set: &SequenceSet,
        by_uid: bool,
    ) -> Result<Vec<(u32, Uid)>, &'static str> {
        let SessionState::Selected(account, selected) = &self.state else {
            return Err("No mailbox selected");
        };
        let uids = selected.uids();
        let mut positions: Vec<usize> = Vec::new();
        let Some(ranges) = set.ranges() else {
            // RFC 5182 `$`: the saved search result, whatever is still in the view.
            positions.extend(
                account
                    .saved_search
                    .iter()
                    .filter_map(|uid| uids.binary_search(uid).ok()),
            );
            return Ok(positions
                .into_iter()
                .map(|i| (i as u32 + 1, uids[i]))
                .collect());
        };
        if by_uid {
            let largest = uids.last().copied().unwrap_or(0);
            for range in ranges {
                let (low, high) = range.bounds(largest);
                let start = uids.partition_point(|&uid| uid < low);
                let end = uids.partition_point(|&uid| uid <= high);
                positions.extend(start..end);
            }
        } else {
            let exists = uids.len() as u32;
            for range in ranges {
                let (low, high) = range.bounds(exists);
                if high > exists || low == 0 {
                    return Err("Invalid message sequence number");
                }
                positions.extend((low as usize - 1)..(high as usize));
            }
        }
        positions.sort_unstable();
        positions.dedup();
        Ok(positions
            .into_iter()
            .map(|i| (i as u32 + 1, uids[i]))
            .collect())
    }

    /// The UIDs a UID set names in the view.
    pub(super) fn resolve_uids(&self, set: &SequenceSet) -> Result<Vec<Uid>, &'static str> {
        Ok(self
            .resolve(set, true)?
            .into_iter()
            .map(|(_, uid)| uid)
            .collect())
    }
}
